import { errorMessages } from '@spendline/emitter/field-issues';
import { ATTRIBUTION_FIELDS, EVENT_LIMITS, isStorableTag, usageEventJsonFields, type AttributionField } from '@spendline/emitter/usage-event';

/**
 * Labels that the paths mapping another system's data into usage events
 * cannot store (too long, control characters), and what those paths do with
 * them. These senders cannot fix and resend one call: an OTLP exporter never
 * retries a partial-success rejection (the spec forbids it), and LiteLLM and
 * Kong do not resend an item a 207 answer rejects. Rejecting the call over a
 * label would lose its spend, so:
 *
 * - a tag that cannot be stored is left out (isStorableTag);
 * - an attribution dimension or error_code that cannot be stored is left
 *   absent, and no weaker source fills it in (that would attribute the call to
 *   something the sender did not say); the event carries the tag
 *   `spendline.dropped.<field>`, saying where the value came from and why it
 *   was left out. The attribution policy then treats the dimension as missing,
 *   as for any call without it (a default, a rule, or the requirement's
 *   rejection).
 *
 * POST /v1/events keeps rejecting such an event: its sender gets the answer
 * and can resend.
 */

/** Fields a call is kept without when their value cannot be stored. */
export type LabelField = AttributionField | 'error_code';
const LABEL_FIELDS: ReadonlySet<string> = new Set<string>([...ATTRIBUTION_FIELDS, 'error_code']);

export const DROPPED_LABEL_TAG_PREFIX = 'spendline.dropped.';

export function isLabelField(field: string): field is LabelField {
  return LABEL_FIELDS.has(field);
}

/** Why the field's own schema (the JSON form of a usage event) refuses the value, or null when it can be stored. */
export function labelProblem(field: LabelField, value: unknown): string | null {
  const checked = usageEventJsonFields.shape[field].safeParse(value, { error: errorMessages });
  return checked.success ? null : (checked.error.issues[0]?.message ?? 'cannot be stored');
}

/** The tag a dropped label leaves: `spendline.dropped.<field>` = "<where the value came from>: <why it was left out>". */
export function droppedLabelTag(field: LabelField, source: string, problem: string): readonly [key: string, value: string] {
  const key = `${DROPPED_LABEL_TAG_PREFIX}${field}`;
  const note = `${source}: ${problem}`.slice(0, EVENT_LIMITS.maxTagValueLength);
  return [key, isStorableTag(key, note) ? note : problem];
}

/**
 * An event's tags within the count limit: the notes of dropped labels first
 * (they explain a gap in the attribution), then the mapped tags in the order
 * they were found, a key taken once.
 */
export function tagsWithNotes(notes: Iterable<readonly [string, string]>, tags: Iterable<readonly [string, string]>): Record<string, string> {
  const merged = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const source of [notes, tags]) {
    for (const [key, value] of source) {
      if (count >= EVENT_LIMITS.maxTags) break;
      if (Object.hasOwn(merged, key)) continue;
      merged[key] = value;
      count += 1;
    }
  }
  return { ...merged };
}
