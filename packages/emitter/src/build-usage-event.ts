import { randomUUID } from 'node:crypto';
import { checkUsageEvent, type EncodeOptions } from './encode-usage-event.ts';
import type { FieldIssue } from './field-issues.ts';
import { TOKEN_FIELDS, spanEventId, usageEventWithDefaults, type UsageEventRecord } from './usage-event.ts';

type TokenField = (typeof TOKEN_FIELDS)[number];
/** Fields whose absence is null in the record. */
type NullableField = { [K in keyof UsageEventRecord]-?: null extends UsageEventRecord[K] ? K : never }[keyof UsageEventRecord];

/**
 * A usage event as a gateway knows it after a model call: provider, model and
 * occurred_at are required; everything else has a default.
 *
 * Field meanings are those of the UsageEvent Avro schema (schemas/usage-event-v1.avsc
 * in this package): token sub-classes are parts of their totals, never added on top.
 */
export type UsageEventInput = Pick<UsageEventRecord, 'provider' | 'model'> & {
  /** The idempotency key. Default: span-<trace_id>-<span_id> when both ids are given, else a random UUID. */
  readonly event_id?: string | null;
  /** When the call started: a Date, or epoch milliseconds. */
  readonly occurred_at: Date | number;
  /** Default 'chat'. */
  readonly operation?: UsageEventRecord['operation'];
  /** Default 'ok'. */
  readonly status?: UsageEventRecord['status'];
  /** Default {}. */
  readonly tags?: UsageEventRecord['tags'];
  /** The provider's own usage object, or its JSON text. Default null. */
  readonly provider_usage?: Readonly<Record<string, unknown>> | string | null;
} & { readonly [K in TokenField]?: number } & { readonly [K in Exclude<NullableField, 'provider_usage'>]?: UsageEventRecord[K] };

export type BuildResult = { readonly ok: true; readonly event: UsageEventRecord } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/** Fields buildUsageEvent sets itself from the input (provider_usage after it). */
const SET_ABOVE = new Set(['event_id', 'occurred_at', 'provider', 'model', 'provider_usage']);

/**
 * Builds a complete usage event record from what a gateway knows, filling the
 * defaults: an event_id, zero for every token class not given, null for
 * absent optional fields, 'chat', 'ok' and no tags. Then it checks the result
 * exactly as UsageEmitter.emit() and Spendline's enricher do — the record
 * schema (token sub-classes within their totals, ids, limits), no unknown
 * fields, occurred_at not in the future beyond the allowed skew — and applies
 * the call identity rule: a call with a trace and span id gets the event_id
 * span-<trace_id>-<span_id>, so it counts once whichever path brings it.
 *
 * Nothing is trimmed or renamed: a bad value comes back as an issue naming
 * the field, never silently fixed. The one rewrite is the identity rule: an
 * event_id given with a trace and span id gives way to the span's.
 *
 * @example
 * const built = buildUsageEvent({ occurred_at: startedAt, provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1200, output_tokens: 300, team: 'search' });
 * if (built.ok) emitter.emit(built.event);
 * else log.warn({ issues: built.issues }, 'usage event not built');
 */
export function buildUsageEvent(input: UsageEventInput, options: EncodeOptions = {}): BuildResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, issues: [{ path: '', message: 'must be an object' }] };
  const occurredAt = epochMillis(input.occurred_at);
  const given = input as Record<string, unknown>;
  // The defaults, then what the input gives (the check hands back a plain copy in the record's field order).
  const record = usageEventWithDefaults({
    event_id: input.event_id ?? defaultEventId(input),
    occurred_at: occurredAt ?? 0,
    provider: input.provider,
    model: input.model,
  }) as unknown as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (SET_ABOVE.has(key)) continue;
    const value = given[key];
    // A field the record does not have is kept, for the check to name (defined, not assigned: "__proto__" stays a
    // field); an absent (or null) value keeps the default.
    if (!Object.hasOwn(record, key)) Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
    else if (value !== undefined && value !== null) record[key] = value;
  }
  record['provider_usage'] = providerUsageText(input.provider_usage);
  const checked = checkUsageEvent(record, options.now ?? Date.now(), options.maxFutureSkewMs);
  if (occurredAt === null) {
    const others = checked.ok ? [] : checked.issues.filter((issue) => issue.path !== 'occurred_at');
    return { ok: false, issues: [{ path: 'occurred_at', message: 'must be a valid Date or a number of epoch milliseconds' }, ...others] };
  }
  return checked.ok ? { ok: true, event: checked.value } : checked;
}

function epochMillis(value: unknown): number | null {
  const ms = value instanceof Date ? value.getTime() : value;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : null;
}

function providerUsageText(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  // An object becomes its JSON text; anything else is left for the schema to judge.
  return typeof value === 'object' && !Array.isArray(value) ? JSON.stringify(value) : value;
}

function defaultEventId(input: UsageEventInput): string {
  const { trace_id: traceId, span_id: spanId } = input;
  return typeof traceId === 'string' && typeof spanId === 'string' ? spanEventId(traceId, spanId) : randomUUID();
}
