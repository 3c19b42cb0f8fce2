import { USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from './avro/usage-event-schema.ts';
import type { FieldIssue, Validated } from './field-issues.ts';
import { EVENT_LIMITS, futureSkewIssue, usageEventRecord, withCallIdentity, type UsageEventRecord } from './usage-event.ts';
import { checkUsageEventRecord } from './usage-event-record-check.ts';

const RECORD_FIELDS = new Set(Object.keys(usageEventRecord.shape));

/**
 * What an event must pass before it goes to Kafka:
 *
 * - the record schema the enricher applies to everything it reads from Kafka,
 *   so an accepted event is never dead-lettered for its shape;
 * - no fields beyond the record's (Avro encoding would drop a misspelt one silently);
 * - occurred_at no later than `now` plus the allowed clock skew. The enricher
 *   checks the same bound against the Kafka timestamp, which is never earlier
 *   than the emit time, so an event passing here passes there.
 *
 * Every problem is reported, each with its field path. The event returned
 * carries the call identity rule applied (withCallIdentity).
 */
export function checkUsageEvent(event: unknown, now: number, maxFutureSkewMs: number = EVENT_LIMITS.maxFutureSkewMs): Validated<UsageEventRecord> {
  const unknownFields = hasUnknownFields(event) ? Object.keys(event as object).filter((key) => !RECORD_FIELDS.has(key)).map((key) => ({ path: key, message: 'is not a usage event field' })) : [];
  const checked = checkUsageEventRecord(event);
  if (!checked.ok) return { ok: false, issues: [...checked.issues, ...unknownFields] };
  if (unknownFields.length > 0) return { ok: false, issues: unknownFields };
  const skew = futureSkewIssue(checked.value, now, maxFutureSkewMs);
  return skew ? { ok: false, issues: [skew] } : { ok: true, value: withCallIdentity(checked.value) };
}

/** Whether an object has an own enumerable key the record does not have; answered without allocating. */
function hasUnknownFields(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  for (const key in event) if (Object.hasOwn(event, key) && !RECORD_FIELDS.has(key)) return true;
  return false;
}

/** One usage event as it goes to Kafka: keyed by event_id, the value a single-object Avro message. */
export interface EncodedEvent {
  readonly key: string;
  readonly value: Buffer;
}

export interface EncodeOptions {
  /** The clock occurred_at is checked against (epoch ms); default: now. */
  readonly now?: number;
  /** How far occurred_at may be ahead of `now` (ms); the enricher applies the same bound. */
  readonly maxFutureSkewMs?: number;
}

export type EncodeResult =
  | { readonly ok: true; readonly event: UsageEventRecord; readonly message: EncodedEvent }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * Checks a usage event record (checkUsageEvent) and encodes it as Kafka
 * expects it: key event_id, value the single-object Avro encoding (C3 01,
 * CRC-64-AVRO fingerprint, body) with the current UsageEvent schema. This is
 * the synchronous part of UsageEmitter.emit(), for callers that produce
 * themselves. Never throws over the event: every problem comes back as issues.
 */
export function encodeUsageEvent(event: UsageEventRecord, options: EncodeOptions = {}): EncodeResult {
  const checked = checkUsageEvent(event, options.now ?? Date.now(), options.maxFutureSkewMs);
  if (!checked.ok) return checked;
  try {
    const value = usageEventRegistry().encode(USAGE_EVENT_SCHEMA_NAME, checked.value);
    return { ok: true, event: checked.value, message: { key: checked.value.event_id, value } };
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `does not fit the Avro schema: ${(err as Error).message}` }] };
  }
}
