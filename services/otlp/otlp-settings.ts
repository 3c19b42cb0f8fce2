import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { ATTRIBUTION_FIELDS, EVENT_LIMITS, TAG_KEY_PATTERN, type AttributionField } from '@spendline/emitter/usage-event';
import { z } from 'zod';

/**
 * How OTLP spans become usage events (SPENDLINE_OTLP_FILE, JSON; every field
 * optional): which resource or span attributes fill each attribution
 * dimension and which become tags, extra provider names, which
 * gen_ai.operation.name values are model calls, and the gateway_id stamped on
 * the events. deploy/otlp.example.json spells the defaults out.
 */

/**
 * Attributes read for each dimension, first present wins; a span attribute
 * overrides the resource attribute of the same key (a span is more specific
 * than its process). `spendline.<dimension>` comes first everywhere, so a
 * resource attribute set through OTEL_RESOURCE_ATTRIBUTES attributes a whole
 * service, and a span attribute one call.
 *
 * Not mapped by default: gen_ai.agent.id names an agent, not one run of it
 * (every run of an agent would look like one endless run to the runaway
 * detector); user.id is often the process's OS or service account.
 */
export const DEFAULT_DIMENSIONS: Readonly<Record<AttributionField, readonly string[]>> = {
  tenant_id: ['spendline.tenant_id'],
  cost_center: ['spendline.cost_center'],
  team: ['spendline.team'],
  feature: ['spendline.feature', 'service.name'],
  environment: ['spendline.environment', 'deployment.environment.name', 'deployment.environment'],
  user_id: ['spendline.user_id', 'enduser.id'],
  session_id: ['spendline.session_id', 'gen_ai.conversation.id', 'session.id'],
  agent_run_id: ['spendline.agent_run_id'],
  api_key_id: ['spendline.api_key_id'],
};

/** Attribute → tag key. */
export const DEFAULT_TAGS: Readonly<Record<string, string>> = {
  'gen_ai.agent.name': 'agent',
  'gen_ai.agent.id': 'agent_id',
};

/**
 * gen_ai.operation.name values that are one model call each. Agent, workflow
 * and tool spans (invoke_agent, create_agent, invoke_workflow, execute_tool,
 * retrieval) may carry usage summed from the model calls beneath them:
 * counting them too would count those calls twice.
 */
export const DEFAULT_MODEL_CALL_OPERATIONS = ['chat', 'text_completion', 'generate_content', 'embeddings'] as const;

const attributeKey = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const attributeList = z.array(attributeKey).max(20, 'must list at most 20 attributes');

export const otlpFile = z
  .strictObject({
    /** Stamped on every event from OTLP as gateway_id (silence detection watches each gateway). */
    gateway_id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, ".", "_" or "-"')
      .default('otlp'),
    /** A dimension listed here replaces its default attribute list ([] turns it off); others keep theirs. */
    dimensions: z.strictObject(Object.fromEntries(ATTRIBUTION_FIELDS.map((field) => [field, attributeList.optional()])) as Record<AttributionField, z.ZodOptional<typeof attributeList>>).default({}),
    /** Attribute → tag key; replaces the default tags. */
    tags: z
      .record(attributeKey, z.string().max(EVENT_LIMITS.maxTagKeyLength, `must be at most ${EVENT_LIMITS.maxTagKeyLength} characters`).regex(TAG_KEY_PATTERN, 'must be a tag key: a letter, then letters, digits and _ . : / -'))
      .refine((tags) => Object.keys(tags).length <= EVENT_LIMITS.maxTags, `must map at most ${EVENT_LIMITS.maxTags} attributes`)
      .default({ ...DEFAULT_TAGS }),
    /** Provider name as instrumentations send it (lower case) → price catalog provider id; added to the built-in names. */
    providers: z.record(z.string().min(1).regex(/^[^A-Z]*$/, 'must be lower case'), z.string().min(1).max(64)).default({}),
    /** gen_ai.operation.name values counted as model calls; replaces the default list. */
    model_call_operations: z.array(z.string().min(1, 'must not be empty')).min(1, 'must name at least one operation').max(100, 'must name at most 100 operations').default([...DEFAULT_MODEL_CALL_OPERATIONS]),
  })
  .prefault({});

export interface OtlpSettings {
  readonly gatewayId: string;
  readonly dimensions: Readonly<Record<AttributionField, readonly string[]>>;
  /** [attribute, tag key] pairs. */
  readonly tags: readonly (readonly [string, string])[];
  readonly providers: Readonly<Record<string, string>>;
  readonly modelCallOperations: ReadonlySet<string>;
}

export function otlpSettings(file: z.output<typeof otlpFile>): OtlpSettings {
  return {
    gatewayId: file.gateway_id,
    dimensions: Object.fromEntries(ATTRIBUTION_FIELDS.map((field) => [field, file.dimensions[field] ?? DEFAULT_DIMENSIONS[field]])) as Record<AttributionField, readonly string[]>,
    tags: Object.entries(file.tags),
    providers: file.providers,
    modelCallOperations: new Set(file.model_call_operations),
  };
}

export const DEFAULT_OTLP_SETTINGS: OtlpSettings = otlpSettings(otlpFile.parse({}));

/** Reads and validates the OTLP file; unset: the defaults. */
export function loadOtlpSettings(file: string | null): OtlpSettings {
  if (!file) return DEFAULT_OTLP_SETTINGS;
  const checked = validate(otlpFile, JSON.parse(readFileSync(file, 'utf8')));
  if (!checked.ok) throw new Error(`invalid OTLP file ${file}: ${checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return otlpSettings(checked.value);
}
