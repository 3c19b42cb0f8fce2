import { validate, type FieldIssue, type Validated } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS, futureSkewIssue, usageEventRecord, withCallIdentity, type UsageEventRecord } from '@spendline/emitter/usage-event';

const RECORD_FIELDS = new Set(Object.keys(usageEventRecord.shape));

/**
 * What an event must pass before the emitter takes it:
 *
 * - the record schema the enricher applies to everything it reads from Kafka,
 *   so an event the emitter accepted is never dead-lettered for its shape;
 * - no fields beyond the record's (Avro encoding would drop a misspelt one silently);
 * - occurred_at no later than `now` plus the allowed clock skew. The enricher
 *   checks the same bound against the Kafka timestamp, which is never earlier
 *   than the emit time, so an event passing here passes there.
 *
 * Every problem is reported, each with its field path.
 */
export function checkUsageEvent(event: unknown, now: number, maxFutureSkewMs: number = EVENT_LIMITS.maxFutureSkewMs): Validated<UsageEventRecord> {
  const unknownFields: FieldIssue[] =
    typeof event === 'object' && event !== null && !Array.isArray(event)
      ? Object.keys(event)
          .filter((key) => !RECORD_FIELDS.has(key))
          .map((key) => ({ path: key, message: 'is not a usage event field' }))
      : [];
  const checked = validate(usageEventRecord, event);
  if (!checked.ok) return { ok: false, issues: [...checked.issues, ...unknownFields] };
  if (unknownFields.length > 0) return { ok: false, issues: unknownFields };
  const skew = futureSkewIssue(checked.value, now, maxFutureSkewMs);
  return skew ? { ok: false, issues: [skew] } : { ok: true, value: withCallIdentity(checked.value) };
}
