import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { modelRuleSchema, type ModelRule } from './call-policy.ts';

/**
 * The gateway's upstreams as code (SPENDLINE_GATEWAY_FILE): where each model
 * family is forwarded, with which credentials and timeout. Any
 * OpenAI-compatible server (vLLM, Ollama, Azure OpenAI, OpenRouter) is an
 * `openai` upstream; Anthropic's Messages API is `anthropic`. Credentials come
 * from an environment variable or a file, never from the gateway file itself.
 */

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, ".", "_" or "-"');
const modelPattern = z.string().regex(/^[^*\s]*\*?$/, 'must be a model id, or a prefix ending in * (e.g. gpt-4o*), or * alone').min(1);

export const upstreamSchema = z
  .strictObject({
    name,
    /** The API shape it speaks: openai (chat/completions, responses, embeddings) or anthropic (messages). */
    api: z.enum(['openai', 'anthropic']),
    /** Catalog provider id used to read usage and price calls (openai, anthropic, azure, openrouter, groq, ...). */
    provider: z.string().min(1).max(64),
    base_url: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }),
    /** Environment variable holding the credential, or a file containing it; neither for an upstream without auth (a local vLLM). */
    api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name').optional(),
    api_key_file: z.string().min(1).optional(),
    /** Header carrying the credential: authorization (Bearer, the OpenAI default), x-api-key (Anthropic's default) or api-key (Azure). */
    auth_header: z.enum(['authorization', 'x-api-key', 'api-key']).optional(),
    /** Extra query parameters on every call (Azure's api-version). */
    query: z.record(z.string(), z.string()).optional(),
    /** Models routed here: exact ids or prefixes ending in *; the first upstream of the route's API that matches wins. */
    models: z.array(modelPattern).min(1).max(500).default(['*']),
    /** How long the upstream may take to start answering before the caller gets 504. */
    timeout_ms: z.int().min(100).max(3_600_000).default(600_000),
  })
  .refine((upstream) => !(upstream.api_key_env && upstream.api_key_file), { message: 'give api_key_env or api_key_file, not both', path: ['api_key_file'] });

export const gatewayFile = z.strictObject({
  /** Stamped on every usage event as gateway_id. */
  gateway_id: name.default('spendline-gateway'),
  upstreams: z.array(upstreamSchema).min(1).max(100),
  /** Which models each team may use in each environment: every rule matching a call applies (deny wins; an allow list must list the model). */
  model_rules: z.array(modelRuleSchema).max(1000).default([]),
});

export type Upstream = z.output<typeof upstreamSchema> & { readonly credential: string | null };
export interface GatewaySettings {
  readonly gatewayId: string;
  readonly upstreams: readonly Upstream[];
  readonly modelRules: readonly ModelRule[];
}

/** Reads and validates the gateway file and resolves each upstream's credential (from `secret(name)` for api_key_env). */
export function loadGatewaySettings(file: string, secret: (variable: string) => string | undefined): GatewaySettings {
  const checked = validate(gatewayFile, JSON.parse(readFileSync(file, 'utf8')));
  if (!checked.ok) throw new Error(`invalid gateway file ${file}: ${checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  const upstreams = checked.value.upstreams.map((upstream) => {
    let credential: string | null = null;
    if (upstream.api_key_env) {
      credential = secret(upstream.api_key_env) ?? null;
      if (!credential) throw new Error(`invalid gateway file ${file}: upstream ${upstream.name} reads its key from ${upstream.api_key_env}, which is not set`);
    } else if (upstream.api_key_file) credential = readFileSync(upstream.api_key_file, 'utf8').trim();
    return { ...upstream, credential };
  });
  return { gatewayId: checked.value.gateway_id, upstreams, modelRules: checked.value.model_rules };
}

/** The upstream a call goes to: the first of the route's API whose models match. */
export function upstreamFor(settings: GatewaySettings, api: Upstream['api'], model: string): Upstream | null {
  return settings.upstreams.find((upstream) => upstream.api === api && upstream.models.some((pattern) => (pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : model === pattern))) ?? null;
}
