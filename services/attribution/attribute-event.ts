import type { FieldIssue } from '@spendline/emitter/field-issues';
import { ATTRIBUTION_FIELDS, type UsageEventRecord } from '@spendline/emitter/usage-event';
import type { AttributionChange, AttributionOutcome, AttributionStatus } from '../events/enriched-usage-event.ts';
import { ownValue, readField, type AttributionPolicy, type CompiledRule } from './attribution-policy.ts';

export interface Attributed {
  /** The event with its attribution fields and tags as the policy resolved them. */
  readonly event: UsageEventRecord;
  readonly attribution: AttributionOutcome;
  /** Non-null when the policy rejects the event: one issue per missing mandatory dimension. */
  readonly rejection: readonly FieldIssue[] | null;
}

/**
 * Resolves who owns an event, in a fixed order, recording every change:
 *
 * 1. normalize what arrived: trim, lower case and aliases (" Production" → prod);
 * 2. the API key mapping, when the event's key has one — it overrides what the
 *    event claims, because a key's owner is known and a header is only a claim;
 * 3. the rules, in file order, each seeing what the earlier ones did; a rule
 *    fills absent dimensions, or replaces present ones when it says override;
 * 4. the first requirement whose `when` matches names the mandatory
 *    dimensions; any still absent are rejected, left unattributed, or filled
 *    with the requirement's defaults.
 *
 * Pure: the same policy and event always give the same result, which is what
 * lets re-attribution restate stored events exactly.
 */
export function attributeEvent(policy: AttributionPolicy, received: UsageEventRecord): Attributed {
  const fields: Record<string, string | null> = {};
  for (const field of ATTRIBUTION_FIELDS) fields[field] = received[field];
  const tags: Record<string, string> = { ...received.tags };
  const lineage: AttributionChange[] = [];

  const read = (ref: string): string | null => {
    if (ref.startsWith('tags.')) return ownValue(tags, ref.slice(5));
    return Object.hasOwn(fields, ref) ? (fields[ref] ?? null) : readField(received, ref);
  };
  const write = (rule: string, ref: string, to: string | null) => {
    const from = read(ref);
    if (from === to) return;
    lineage.push({ rule, dimension: ref, from, to });
    if (ref.startsWith('tags.')) {
      if (to === null) delete tags[ref.slice(5)];
      else tags[ref.slice(5)] = to;
    } else fields[ref] = to;
  };

  for (const field of ATTRIBUTION_FIELDS) write('normalize', field, policy.normalize(field, fields[field] ?? null));
  for (const [key, value] of Object.entries(received.tags)) write('normalize', `tags.${key}`, policy.normalize(`tags.${key}`, value));
  const arrived = { fields: { ...fields }, tags: { ...tags } };
  const arrivedWith = (ref: string) => (ref.startsWith('tags.') ? ownValue(arrived.tags, ref.slice(5)) : ownValue(arrived.fields, ref)) !== null;

  const apply = (rule: CompiledRule) => {
    if (!rule.matches(read)) return;
    for (const [ref, value] of rule.set) if (rule.override || read(ref) === null) write(rule.name, ref, value);
  };
  const keyRule = policy.apiKey(fields['api_key_id'] ?? null);
  if (keyRule) apply(keyRule);
  for (const rule of policy.rules) apply(rule);

  const requirement = policy.requirements.find((candidate) => candidate.matches(read)) ?? null;
  const missing = requirement ? requirement.dimensions.filter((ref) => read(ref) === null) : [];
  let status: AttributionStatus = 'complete';
  let rejection: FieldIssue[] | null = null;
  if (requirement && missing.length > 0) {
    if (requirement.onMissing === 'default') {
      for (const ref of missing) write(`default:${requirement.id}`, ref, requirement.defaults[ref] ?? null);
      status = 'defaulted';
    } else {
      status = 'unattributed';
      if (requirement.onMissing === 'reject') {
        rejection = missing.map((ref) => ({ path: ref, message: `is required by the attribution policy (requirement "${requirement.id}")` }));
      }
    }
  } else if (requirement?.dimensions.some((ref) => !arrivedWith(ref))) {
    status = 'fixed_by_rule';
  }

  return {
    event: { ...received, ...fields, tags } as UsageEventRecord,
    attribution: { status, missing, requirement: requirement?.id ?? null, lineage, policy_version: policy.version },
    rejection,
  };
}

/** The attribution an event arrived with: its resolved fields with the lineage undone, last change first. */
export function receivedAttribution(resolved: UsageEventRecord, lineage: readonly AttributionChange[]): UsageEventRecord {
  const fields: Record<string, string | null> = {};
  for (const field of ATTRIBUTION_FIELDS) fields[field] = resolved[field];
  const tags: Record<string, string> = { ...resolved.tags };
  for (const change of [...lineage].reverse()) {
    if (change.dimension.startsWith('tags.')) {
      const key = change.dimension.slice(5);
      if (change.from === null) delete tags[key];
      else tags[key] = change.from;
    } else if (Object.hasOwn(fields, change.dimension)) fields[change.dimension] = change.from;
  }
  return { ...resolved, ...fields, tags } as UsageEventRecord;
}
