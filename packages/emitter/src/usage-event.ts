import { z } from 'zod';
import { parseDecimal } from './decimal.ts';
import type { FieldIssue } from './field-issues.ts';

/**
 * The usage event, in the two forms Spendline accepts it:
 *
 * - `usageEventRecord`: the decoded Avro record (occurred_at in epoch ms,
 *   absent values null). The enricher checks every record from Kafka against
 *   it, because a gateway producing Avro directly is only held to Avro's types.
 * - `usageEventJson`: the JSON body of `POST /v1/events` (occurred_at as an
 *   RFC 3339 string, optional fields may be left out). It normalises into a
 *   record and then passes the same checks.
 *
 * Field names are identical in both forms and in the UsageEvent Avro schema
 * (schemas/usage-event-v1.avsc in this package); Spendline's
 * test/unit/events/usage-event-schema.test.ts holds them together.
 */

export const OPERATIONS = ['chat', 'embedding', 'image', 'audio', 'other'] as const;
export const CALL_STATUSES = ['ok', 'error'] as const;

/** Limits that keep one event small and its tags usable as report dimensions. */
export const EVENT_LIMITS = {
  maxIdLength: 128,
  maxNameLength: 256,
  maxTags: 50,
  maxTagKeyLength: 64,
  maxTagValueLength: 256,
  maxProviderUsageBytes: 32 * 1024,
  /** A call longer than a day is a clock or unit error (seconds sent as ms, say). */
  maxDurationMs: 24 * 60 * 60 * 1000,
  /** Earliest accepted occurred_at: older values are almost surely a unit error (seconds for ms). */
  minOccurredAtMs: Date.UTC(2015, 0, 1),
  /** Latest possible occurred_at whatever the clock says: microseconds sent as ms land far beyond it. */
  maxOccurredAtMs: Date.UTC(2100, 0, 1),
  /** Clock skew allowed between a sender and Spendline before occurred_at counts as "in the future". */
  maxFutureSkewMs: 15 * 60 * 1000,
} as const;

/** The token classes of an event, totals first: the fields pricing, storage and exports share. */
export const TOKEN_FIELDS = [
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'input_audio_tokens',
  'cache_audio_read_tokens',
  'output_audio_tokens',
] as const;

/**
 * Who a call's cost belongs to. Each is a nullable field of the event, sent by
 * the gateway (or filled by the attribution policy); Spendline's docs/attribution.md says
 * what each means. Free tags come on top.
 */
export const ATTRIBUTION_FIELDS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id', 'session_id', 'agent_run_id', 'api_key_id'] as const;
export type AttributionField = (typeof ATTRIBUTION_FIELDS)[number];

/** Tag keys are identifiers, so they read well as report dimensions and cannot smuggle markup or prototype names. */
export const TAG_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.:\/-]*$/;
const TAG_KEY_MESSAGE = 'must start with a letter and use only letters, digits and _ . : / -';
/** No control characters (newlines, NUL, escapes) in names and tag values: they break CSV exports and terminals. */
export const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;

/**
 * Whether a tag can be stored as it is: the `tags` field's rules for one
 * entry (a tag key of at most maxTagKeyLength characters, a value of at most
 * maxTagValueLength without control characters). The count (maxTags) is the
 * caller's to keep. Paths that turn another system's labels into tags (OTLP
 * attributes, gateway callbacks) leave out a tag that fails this rather than
 * lose the call: a tag describes a call, it never prices it.
 */
export function isStorableTag(key: string, value: string): boolean {
  return (
    key.length <= EVENT_LIMITS.maxTagKeyLength &&
    TAG_KEY_PATTERN.test(key) &&
    value.length <= EVENT_LIMITS.maxTagValueLength &&
    NO_CONTROL_CHARACTERS.test(value)
  );
}

const tokenCount = z.number().int('must be a whole number').nonnegative('must not be negative').max(Number.MAX_SAFE_INTEGER);
const durationMs = z.number().int('must be a whole number of milliseconds').nonnegative('must not be negative').max(EVENT_LIMITS.maxDurationMs, 'must be at most one day');
const name = (max: number) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');
const optionalName = (max: number = EVENT_LIMITS.maxNameLength) => name(max).nullable();
const decimalAmount = z.string().superRefine((text, ctx) => {
  const parsed = parseDecimal(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  else if (parsed.units < 0n) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
});
/** zod's record skips an own "__proto__" key without checking it: refuse it here, by name, rather than drop it silently. */
const noProtoKey = z.unknown().superRefine((value, ctx) => {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], message: TAG_KEY_MESSAGE });
  }
});
const tags = noProtoKey.pipe(
  z.record(
    name(EVENT_LIMITS.maxTagKeyLength).regex(TAG_KEY_PATTERN, TAG_KEY_MESSAGE),
    z
      .string()
      .max(EVENT_LIMITS.maxTagValueLength, `must be at most ${EVENT_LIMITS.maxTagValueLength} characters`)
      .regex(NO_CONTROL_CHARACTERS, 'must not contain control characters'),
  ).refine((value) => Object.keys(value).length <= EVENT_LIMITS.maxTags, `must have at most ${EVENT_LIMITS.maxTags} tags`),
);

/** W3C trace context ids as OpenTelemetry writes them: lower-case hex, not all zeros (the spec's invalid id). */
const hexId = (digits: number, what: string) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${digits}}$`), `must be a ${what} of ${digits} lower-case hex digits`)
    .refine((id) => !/^0+$/.test(id), `must not be all zeros (an invalid ${what})`);
const traceId = hexId(32, 'trace id');
const spanId = hexId(16, 'span id');

const recordShape = {
  event_id: name(EVENT_LIMITS.maxIdLength).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  occurred_at: z
    .number()
    .int()
    .min(EVENT_LIMITS.minOccurredAtMs, 'must not be before 2015-01-01')
    .max(EVENT_LIMITS.maxOccurredAtMs, 'must be before 2100-01-01'),
  provider: name(64),
  model: name(EVENT_LIMITS.maxNameLength),
  api_flavor: optionalName(64),
  operation: z.enum(OPERATIONS),
  input_tokens: tokenCount,
  output_tokens: tokenCount,
  cache_read_tokens: tokenCount,
  cache_write_tokens: tokenCount,
  reasoning_tokens: tokenCount,
  input_audio_tokens: tokenCount,
  cache_audio_read_tokens: tokenCount,
  output_audio_tokens: tokenCount,
  provider_usage: z
    .string()
    .refine((json) => Buffer.byteLength(json, 'utf8') <= EVENT_LIMITS.maxProviderUsageBytes, `must be at most ${EVENT_LIMITS.maxProviderUsageBytes} bytes of JSON`)
    .refine(isJsonObjectText, 'must be the JSON text of an object')
    .nullable(),
  latency_ms: durationMs.nullable(),
  ttft_ms: durationMs.nullable(),
  status: z.enum(CALL_STATUSES),
  error_code: optionalName(128),
  tenant_id: optionalName(),
  cost_center: optionalName(),
  team: optionalName(),
  feature: optionalName(),
  environment: optionalName(),
  user_id: optionalName(),
  session_id: optionalName(),
  agent_run_id: optionalName(),
  api_key_id: optionalName(),
  tags,
  gateway_id: optionalName(),
  reported_cost: decimalAmount.nullable(),
  trace_id: traceId.nullable(),
  span_id: spanId.nullable(),
};

/** Whether `text` is the JSON text of an object (provider_usage's rule). */
export function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Cross-field rules: sub-classes are parts of their totals (never added on
 * top), so a sender using another convention is told instead of double counted.
 */
function checkConsistency(event: UsageEventRecord, ctx: z.RefinementCtx): void {
  // zod runs this even when a field failed its own check; compare only counts that are valid.
  const valid = (...counts: number[]) => counts.every((count) => Number.isSafeInteger(count) && count >= 0);
  const inputParts = event.cache_read_tokens + event.cache_write_tokens + event.input_audio_tokens;
  if (valid(event.input_tokens, event.cache_read_tokens, event.cache_write_tokens, event.input_audio_tokens) && inputParts > event.input_tokens) {
    ctx.addIssue({
      code: 'custom',
      path: ['input_tokens'],
      message: `must include cache_read_tokens, cache_write_tokens and input_audio_tokens (their sum ${inputParts} exceeds input_tokens ${event.input_tokens})`,
    });
  }
  const cachedAudio = event.cache_audio_read_tokens;
  if (valid(cachedAudio, event.cache_read_tokens, event.input_audio_tokens) && cachedAudio > Math.min(event.cache_read_tokens, event.input_audio_tokens)) {
    ctx.addIssue({
      code: 'custom',
      path: ['cache_audio_read_tokens'],
      message: `must be part of both cache_read_tokens (${event.cache_read_tokens}) and input_audio_tokens (${event.input_audio_tokens})`,
    });
  }
  const outputParts = event.reasoning_tokens + event.output_audio_tokens;
  if (valid(event.output_tokens, event.reasoning_tokens, event.output_audio_tokens) && outputParts > event.output_tokens) {
    ctx.addIssue({
      code: 'custom',
      path: ['output_tokens'],
      message: `must include reasoning_tokens and output_audio_tokens (their sum ${outputParts} exceeds output_tokens ${event.output_tokens})`,
    });
  }
  if (event.ttft_ms !== null && event.latency_ms !== null && valid(event.ttft_ms, event.latency_ms) && event.ttft_ms > event.latency_ms) {
    ctx.addIssue({ code: 'custom', path: ['ttft_ms'], message: `must not exceed latency_ms (${event.latency_ms})` });
  }
  if ((event.span_id ?? null) !== null && (event.trace_id ?? null) === null) {
    ctx.addIssue({ code: 'custom', path: ['trace_id'], message: 'is required with span_id (a span id is unique only within its trace)' });
  }
}

/**
 * A complete usage event record from the four fields every event needs, every
 * other field at its default — no tokens, no timings, 'chat', 'ok', no
 * attribution, no tags — in the record's field order: the start a producer
 * fills in for one call.
 */
export function usageEventWithDefaults(required: Pick<UsageEventRecord, 'event_id' | 'occurred_at' | 'provider' | 'model'>): UsageEventRecord {
  return {
    event_id: required.event_id,
    occurred_at: required.occurred_at,
    provider: required.provider,
    model: required.model,
    api_flavor: null,
    operation: 'chat',
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    input_audio_tokens: 0,
    cache_audio_read_tokens: 0,
    output_audio_tokens: 0,
    provider_usage: null,
    latency_ms: null,
    ttft_ms: null,
    status: 'ok',
    error_code: null,
    tenant_id: null,
    cost_center: null,
    team: null,
    feature: null,
    environment: null,
    user_id: null,
    session_id: null,
    agent_run_id: null,
    api_key_id: null,
    tags: {},
    gateway_id: null,
    reported_cost: null,
    trace_id: null,
    span_id: null,
  };
}

/** The event_id of a call identified by its span: the same whichever path (OTLP, a callback, POST /v1/events, Avro) brought it. */
export function spanEventId(traceId: string, spanId: string): string {
  return `span-${traceId}-${spanId}`;
}

/**
 * The one idempotency rule: an event is identified by its event_id, except
 * that a call with a trace and span id is identified by them (spanEventId),
 * replacing the event_id sent, so the same call arriving by two paths that
 * both know its span counts once. A copy without the span keeps its own
 * event_id and is recognised only if that is the same. Every path applies it
 * before the event reaches Kafka, and the enricher again for Avro producers.
 */
export function withCallIdentity<T extends Pick<UsageEventRecord, 'event_id' | 'trace_id' | 'span_id'>>(event: T): T {
  if (event.trace_id === null || event.span_id === null) return event;
  const eventId = spanEventId(event.trace_id, event.span_id);
  return event.event_id === eventId ? event : { ...event, event_id: eventId };
}

export const usageEventRecord = z.object(recordShape).superRefine(checkConsistency);
export type UsageEventRecord = z.infer<z.ZodObject<typeof recordShape>>;

/** Omitted, blank or null: the field is absent (null in the record). */
const absentAsNull = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === undefined || (typeof value === 'string' && value.trim() === '') ? null : value), schema.nullable());
const trimmedName = (max: number = EVENT_LIMITS.maxNameLength) =>
  z.preprocess((value) => (typeof value === 'string' ? value.trim() : value), name(max));

/**
 * JSON form of a usage event, as POST /v1/events takes it: the record's own
 * field checks, plus defaults, trimming and the RFC 3339 timestamp. Unknown
 * fields are rejected so a misspelt token class cannot vanish.
 */
export const usageEventJsonFields = z.strictObject({
    ...recordShape,
    occurred_at: z.iso
      .datetime({ offset: true, message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z' })
      .transform((text) => Date.parse(text))
      .pipe(recordShape.occurred_at),
    provider: trimmedName(64).transform((value) => value.toLowerCase()),
    model: trimmedName(),
    api_flavor: absentAsNull(name(64)),
    operation: recordShape.operation.default('chat'),
    input_tokens: tokenCount.default(0),
    output_tokens: tokenCount.default(0),
    cache_read_tokens: tokenCount.default(0),
    cache_write_tokens: tokenCount.default(0),
    reasoning_tokens: tokenCount.default(0),
    input_audio_tokens: tokenCount.default(0),
    cache_audio_read_tokens: tokenCount.default(0),
    output_audio_tokens: tokenCount.default(0),
    provider_usage: z
      .record(z.string(), z.unknown(), { message: 'must be the provider usage JSON object' })
      // Absent or null, like every other nullable field.
      .nullish()
      .transform((value) => (value === undefined || value === null ? null : JSON.stringify(value)))
      .pipe(recordShape.provider_usage),
    latency_ms: absentAsNull(durationMs),
    ttft_ms: absentAsNull(durationMs),
    status: recordShape.status.default('ok'),
    error_code: absentAsNull(trimmedName(128)),
    tenant_id: absentAsNull(trimmedName()),
    cost_center: absentAsNull(trimmedName()),
    team: absentAsNull(trimmedName()),
    feature: absentAsNull(trimmedName()),
    environment: absentAsNull(trimmedName()),
    user_id: absentAsNull(name(EVENT_LIMITS.maxNameLength)),
    session_id: absentAsNull(name(EVENT_LIMITS.maxNameLength)),
    agent_run_id: absentAsNull(name(EVENT_LIMITS.maxNameLength)),
    api_key_id: absentAsNull(name(EVENT_LIMITS.maxNameLength)),
    tags: tags.default({}),
    gateway_id: absentAsNull(name(EVENT_LIMITS.maxNameLength)),
    reported_cost: absentAsNull(
      z.string({ message: 'must be a decimal string such as "0.0125" (a JSON number would lose precision)' }).pipe(decimalAmount),
    ),
    // OTLP/JSON and most tracers write hex ids; some write them upper-case.
    trace_id: absentAsNull(z.preprocess(lowerCase, traceId)),
    span_id: absentAsNull(z.preprocess(lowerCase, spanId)),
  });

/** A call identified by its span may leave event_id out: withCallIdentity gives it one. */
function identifiedBySpan(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const { event_id: eventId, trace_id: traceId, span_id: spanId } = raw as Record<string, unknown>;
  if ((eventId !== undefined && eventId !== null) || typeof traceId !== 'string' || typeof spanId !== 'string') return raw;
  return { ...raw, event_id: spanEventId(traceId.toLowerCase(), spanId.toLowerCase()) };
}

export const usageEventJson = z
  .preprocess(identifiedBySpan, usageEventJsonFields)
  .superRefine(checkConsistency)
  .transform(withCallIdentity);

function lowerCase(value: unknown): unknown {
  return typeof value === 'string' ? value.toLowerCase() : value;
}

export type UsageEventJson = z.input<typeof usageEventJson>;

/**
 * The clock check no schema can make: an event may not claim to have happened
 * later than `receivedAt` plus the allowed skew (a gateway with a wrong clock,
 * or a unit error, would otherwise file spend under a future period).
 */
export function futureSkewIssue(event: UsageEventRecord, receivedAt: number, maxSkewMs: number = EVENT_LIMITS.maxFutureSkewMs): FieldIssue | null {
  if (event.occurred_at <= receivedAt + maxSkewMs) return null;
  return { path: 'occurred_at', message: `is more than ${Math.round(maxSkewMs / 60_000)} minutes after the event was received` };
}

