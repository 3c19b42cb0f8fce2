import { createHash } from 'node:crypto';
import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { ATTRIBUTION_FIELDS, EVENT_LIMITS, TAG_KEY_PATTERN, type UsageEventRecord } from '@spendline/emitter/usage-event';
import { z } from 'zod';

/**
 * The attribution policy, as code: a JSON file kept in version control that
 * says how an event's owner is resolved and what happens when it cannot be.
 * docs/attribution.md describes the format, deploy/attribution-policy.example.json shows it; this module validates it and
 * compiles it into plain predicates the enricher runs per event.
 */

/** Event fields a rule may test, besides tags.<key>. */
export const MATCHABLE_FIELDS = ['provider', 'model', 'api_flavor', 'operation', 'status', 'gateway_id', ...ATTRIBUTION_FIELDS] as const;
/** Dimensions a rule may set, besides tags.<key>. The API key id is evidence of who called, never rewritten. */
export const SETTABLE_FIELDS = ATTRIBUTION_FIELDS.filter((field) => field !== 'api_key_id');

const POLICY_LIMITS = { maxRules: 1_000, maxRequirements: 100, maxApiKeys: 100_000, maxRegexLength: 512, maxAliases: 1_000 } as const;

/** A field reference: an event field from `fields`, or tags.<key>. */
const fieldRef = (fields: readonly string[], what: string) =>
  z.string().refine(
    (ref) => fields.includes(ref) || (ref.startsWith('tags.') && TAG_KEY_PATTERN.test(ref.slice(5)) && ref.length - 5 <= EVENT_LIMITS.maxTagKeyLength),
    `must be ${what} (${fields.join(', ')}) or tags.<key>`,
  );
const matchableRef = fieldRef(MATCHABLE_FIELDS, 'an event field');
const settableRef = fieldRef(SETTABLE_FIELDS, 'a dimension a rule may set');
const dimensionRef = fieldRef(ATTRIBUTION_FIELDS, 'an attribution dimension');

const value = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(EVENT_LIMITS.maxNameLength, `must be at most ${EVENT_LIMITS.maxNameLength} characters`);
const id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');

const regexSource = z
  .string()
  .min(1)
  .max(POLICY_LIMITS.maxRegexLength, `must be at most ${POLICY_LIMITS.maxRegexLength} characters`)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source, 'u');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(err as Error).message}` });
    }
  });

/** How a rule tests one field. A bare string means equals. Values compare after normalization. */
const matcher = z.union([
  z.string(),
  z.strictObject({ equals: z.string() }),
  z.strictObject({ in: z.array(z.string()).min(1) }),
  z.strictObject({ prefix: z.string().min(1) }),
  z.strictObject({ regex: regexSource }),
  z.strictObject({ absent: z.boolean() }),
], { message: 'must be a string, or one of {"equals"}, {"in"}, {"prefix"}, {"regex"}, {"absent"}' });
type Matcher = z.infer<typeof matcher>;

const conditions = z.record(matchableRef, matcher);

const ruleSchema = z.strictObject({
  id,
  description: z.string().optional(),
  when: conditions.refine((when) => Object.keys(when).length > 0, 'must test at least one field'),
  set: z.record(settableRef, value).refine((set) => Object.keys(set).length > 0, 'must set at least one dimension'),
  /** false (default): fill only dimensions the event lacks; true: replace what it carries. */
  override: z.boolean().default(false),
});

export const MISSING_ACTIONS = ['reject', 'unattributed', 'default'] as const;
export type MissingAction = (typeof MISSING_ACTIONS)[number];

const requirementSchema = z
  .strictObject({
    id,
    description: z.string().optional(),
    /** Which events the requirement covers (e.g. environment prod, one gateway); absent: every event. */
    when: conditions.default({}),
    dimensions: z.array(dimensionRef).min(1, 'must name at least one dimension'),
    on_missing: z.enum(MISSING_ACTIONS, { message: `must be one of ${MISSING_ACTIONS.join(', ')}` }),
    defaults: z.record(settableRef, value).optional(),
  })
  .superRefine((requirement, ctx) => {
    if (requirement.on_missing !== 'default') {
      if (requirement.defaults) ctx.addIssue({ code: 'custom', path: ['defaults'], message: 'is only used when on_missing is "default"' });
      return;
    }
    for (const dimension of requirement.dimensions) {
      if (requirement.defaults?.[dimension] === undefined) ctx.addIssue({ code: 'custom', path: ['defaults', dimension], message: `is required: on_missing "default" needs a value for every dimension` });
    }
  });

const BUILTIN_ALIASES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  environment: {
    prod: ['production', 'prd', 'live'],
    staging: ['stage', 'stg', 'preprod', 'pre-prod'],
    dev: ['development', 'local'],
    test: ['testing', 'qa', 'ci'],
  },
};

export const attributionPolicyFile = z
  .strictObject({
    /** Shown in lineage and reports; absent: derived from the file's content. */
    version: z.string().regex(/^[A-Za-z0-9._:+-]{1,64}$/, 'must be 1-64 letters, digits or . _ : + -').optional(),
    normalize: z
      .strictObject({
        /** Dimensions compared and stored in lower case (team "Search" is team "search"). */
        lowercase: z.array(dimensionRef).default(['tenant_id', 'cost_center', 'team', 'feature', 'environment']),
        /** Per dimension: canonical value → the spellings that mean it; added to the built-in ones. */
        aliases: z.record(dimensionRef, z.record(value, z.array(value).max(POLICY_LIMITS.maxAliases))).default({}),
        /** false: drop the built-in environment aliases (production → prod, stage → staging, ...). */
        builtin_aliases: z.boolean().default(true),
      })
      .default({ lowercase: ['tenant_id', 'cost_center', 'team', 'feature', 'environment'], aliases: {}, builtin_aliases: true }),
    /** API key id → the owner it stands for; applied before the rules and authoritative over what the event claims. */
    api_keys: z
      .record(z.string().min(1).max(EVENT_LIMITS.maxNameLength), z.record(settableRef, value).refine((set) => Object.keys(set).length > 0, 'must assign at least one dimension'))
      .refine((keys) => Object.keys(keys).length <= POLICY_LIMITS.maxApiKeys, `must map at most ${POLICY_LIMITS.maxApiKeys} keys`)
      .default({}),
    rules: z.array(ruleSchema).max(POLICY_LIMITS.maxRules, `must hold at most ${POLICY_LIMITS.maxRules} rules`).default([]),
    /** First requirement whose `when` matches an event decides its mandatory dimensions. */
    requirements: z.array(requirementSchema).max(POLICY_LIMITS.maxRequirements).default([]),
    /** Environments reports leave out unless asked for: experimentation is not production cost. */
    non_production_environments: z.array(value).default(['dev', 'staging', 'test']),
  })
  .superRefine((file, ctx) => {
    const unique = (items: readonly { id: string }[], path: string) => {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: [path, index, 'id'], message: `repeats id ${item.id}` });
        seen.add(item.id);
      });
    };
    unique(file.rules, 'rules');
    unique(file.requirements, 'requirements');
  });

export type AttributionPolicyFile = z.output<typeof attributionPolicyFile>;

/** Reads and writes an event's dimension or tag by reference. */
export type FieldReader = (ref: string) => string | null;

export interface CompiledRule {
  /** Lineage name: api_key:<id> or rule:<id>. */
  readonly name: string;
  /** Whether the rule applies to the event as it stands when its turn comes. */
  matches(read: FieldReader): boolean;
  readonly set: readonly (readonly [string, string])[];
  readonly override: boolean;
}

export interface CompiledRequirement {
  readonly id: string;
  matches(read: FieldReader): boolean;
  readonly dimensions: readonly string[];
  readonly onMissing: MissingAction;
  readonly defaults: Readonly<Record<string, string>>;
}

/** A validated, compiled policy: cheap to apply to every event. */
export class AttributionPolicy {
  readonly version: string;
  /** The file as validated (defaults filled in), for the admin API. */
  readonly source: AttributionPolicyFile;
  readonly nonProductionEnvironments: readonly string[];
  readonly rules: readonly CompiledRule[];
  readonly requirements: readonly CompiledRequirement[];
  readonly #apiKeys: ReadonlyMap<string, CompiledRule>;
  readonly #lowercase: ReadonlySet<string>;
  readonly #aliases: ReadonlyMap<string, ReadonlyMap<string, string>>;

  private constructor(file: AttributionPolicyFile, version: string) {
    this.source = file;
    this.version = file.version ?? version;
    this.#lowercase = new Set(file.normalize.lowercase);
    // Built-in aliases first, the policy's own after them: on a clash the policy wins.
    const aliasTables = [...(file.normalize.builtin_aliases ? Object.entries(BUILTIN_ALIASES) : []), ...Object.entries(file.normalize.aliases)];
    const aliases = new Map<string, Map<string, string>>();
    for (const [ref, table] of aliasTables) {
      const lookup = aliases.get(ref) ?? new Map<string, string>();
      for (const [canonical, spellings] of Object.entries(table)) for (const spelling of [canonical, ...spellings]) lookup.set(spelling.toLowerCase(), canonical);
      aliases.set(ref, lookup);
    }
    this.#aliases = aliases;
    const assignments = (set: Record<string, string>) => Object.entries(set).map(([ref, text]) => [ref, this.normalize(ref, text) ?? text] as const);
    this.#apiKeys = new Map(
      Object.entries(file.api_keys).map(([keyId, set]) => [keyId, { name: `api_key:${keyId}`, matches: () => true, set: assignments(set), override: true }]),
    );
    this.rules = file.rules.map((rule) => ({ name: `rule:${rule.id}`, matches: this.#compileConditions(rule.when), set: assignments(rule.set), override: rule.override }));
    this.requirements = file.requirements.map((requirement) => ({
      id: requirement.id,
      matches: this.#compileConditions(requirement.when),
      dimensions: requirement.dimensions,
      onMissing: requirement.on_missing,
      defaults: Object.fromEntries(assignments(requirement.defaults ?? {})),
    }));
    this.nonProductionEnvironments = [...new Set(file.non_production_environments.map((env) => this.normalize('environment', env) ?? env))];
  }

  /** Validates a policy given as parsed JSON; every problem is reported, with its path. */
  static check(value: unknown, fallbackVersion: string): { ok: true; policy: AttributionPolicy } | { ok: false; issues: FieldIssue[] } {
    const checked = validate(attributionPolicyFile, value);
    return checked.ok ? { ok: true, policy: new AttributionPolicy(checked.value, fallbackVersion) } : checked;
  }

  /** Parses and validates the text of a policy file; throws with every problem listed. */
  static fromText(text: string): AttributionPolicy {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`attribution policy is not JSON: ${(err as Error).message}`);
    }
    const checked = AttributionPolicy.check(parsed, `policy-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
    if (!checked.ok) throw new Error(`invalid attribution policy: ${checked.issues.map((issue) => `${issue.path || 'policy'}: ${issue.message}`).join('; ')}`);
    return checked.policy;
  }

  /** The policy in force when no file is configured: normalization only, nothing mandatory. */
  static readonly builtIn: AttributionPolicy = new AttributionPolicy(attributionPolicyFile.parse({}), 'builtin-1');

  /** The API key mapping for a key id, if the policy has one. */
  apiKey(keyId: string | null): CompiledRule | null {
    return keyId === null ? null : (this.#apiKeys.get(keyId) ?? null);
  }

  /** A value as the policy stores it: trimmed, lower case where configured, aliases resolved; null when blank. */
  normalize(ref: string, raw: string | null): string | null {
    if (raw === null) return null;
    let text = raw.trim();
    if (text === '') return null;
    if (this.#lowercase.has(ref)) text = text.toLowerCase();
    return this.#aliases.get(ref)?.get(text.toLowerCase()) ?? text;
  }

  #compileConditions(when: Record<string, Matcher>): (read: FieldReader) => boolean {
    const tests = Object.entries(when).map(([ref, test]) => {
      const predicate = compileMatcher(test, (text) => this.normalize(ref, text) ?? text, (text) => (this.#lowercase.has(ref) ? text.toLowerCase() : text));
      return (read: FieldReader) => predicate(read(ref));
    });
    return (read) => tests.every((test) => test(read));
  }
}

/**
 * A matcher as a predicate. Whole values (equals, in) are normalized like the
 * event's, aliases included; a prefix is only case-folded, since an alias names
 * a whole value ("stage" → staging must not turn prefix "stage" into "staging").
 */
function compileMatcher(test: Matcher, normalize: (text: string) => string, foldCase: (text: string) => string): (value: string | null) => boolean {
  if (typeof test === 'string') return compileMatcher({ equals: test }, normalize, foldCase);
  if ('equals' in test) {
    const expected = normalize(test.equals);
    return (value) => value === expected;
  }
  if ('in' in test) {
    const expected = new Set(test.in.map(normalize));
    return (value) => value !== null && expected.has(value);
  }
  if ('prefix' in test) {
    const prefix = foldCase(test.prefix.trim());
    return (value) => value !== null && value.startsWith(prefix);
  }
  if ('regex' in test) {
    const pattern = new RegExp(test.regex, 'u');
    return (value) => value !== null && pattern.test(value);
  }
  const wantAbsent = test.absent;
  return (value) => (value === null) === wantAbsent;
}

/**
 * A key's own value, never an inherited one: a tag may be called "constructor"
 * or "toString", and an event without it must read as lacking it.
 */
export function ownValue(record: Readonly<Record<string, string | null>>, key: string): string | null {
  return Object.hasOwn(record, key) ? (record[key] ?? null) : null;
}

/** Reads a field reference off an event. */
export function readField(event: UsageEventRecord, ref: string): string | null {
  if (ref.startsWith('tags.')) return ownValue(event.tags, ref.slice(5));
  const fieldValue = event[ref as keyof UsageEventRecord];
  return typeof fieldValue === 'string' ? fieldValue : null;
}
