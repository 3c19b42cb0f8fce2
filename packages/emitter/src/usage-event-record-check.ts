import { parseDecimal } from './decimal.ts';
import { validate, type Validated } from './field-issues.ts';
import { CALL_STATUSES, EVENT_LIMITS, isJsonObjectText, NO_CONTROL_CHARACTERS, OPERATIONS, TAG_KEY_PATTERN, TOKEN_FIELDS, usageEventRecord, usageEventWithDefaults, type UsageEventRecord } from './usage-event.ts';

/**
 * Checks a usage event record against `usageEventRecord` — the rules the
 * enricher applies to everything it reads from Kafka — and answers what zod's
 * parse would: a plain copy of the record's fields (each read once, whether
 * own, inherited or a getter; in the schema's order; tags copied too, so the
 * caller's objects are never aliased), or every issue, named. zod's parse
 * allocates a result and an issue list per field, which on the gateway's path
 * (one check per call) was a fifth of all it allocated; here a well-formed
 * copy (nearly every event) is recognised by isWellFormedUsageEventRecord
 * without zod, and only what that check refuses goes through zod, for the
 * issues (or an acceptance: the quick check may refuse what zod accepts,
 * never the reverse).
 */
export function checkUsageEventRecord(value: unknown): Validated<UsageEventRecord> {
  const copy = recordCopy(value);
  return copy !== null && isWellFormedUsageEventRecord(copy) ? { ok: true, value: copy } : validate(usageEventRecord, value);
}

const OTHER_FIELDS = Object.keys(usageEventRecord.shape).filter((field) => !['event_id', 'occurred_at', 'provider', 'model', 'tags'].includes(field));

/** The record's fields read once each into a plain object; null for what is not an object. */
function recordCopy(value: unknown): UsageEventRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const source = value as Record<string, unknown>;
  const copy = usageEventWithDefaults({ event_id: source['event_id'] as string, occurred_at: source['occurred_at'] as number, provider: source['provider'] as string, model: source['model'] as string });
  const fields = copy as unknown as Record<string, unknown>;
  for (const field of OTHER_FIELDS) fields[field] = source[field];
  const tags = source['tags'];
  // Only tags that are a plain object are copied; anything else stays as it is, for the checks to refuse.
  fields['tags'] = isPlainObject(tags) ? { ...tags } : tags;
  return copy;
}

/** An object zod's record would take as one: Object's prototype or none, and no constructor of its own making. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const constructor = (value as { constructor?: unknown }).constructor;
  return typeof constructor !== 'function' || constructor === Object;
}

const OPERATION_SET: ReadonlySet<unknown> = new Set(OPERATIONS);
const STATUS_SET: ReadonlySet<unknown> = new Set(CALL_STATUSES);
const NAME_FIELDS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id', 'session_id', 'agent_run_id', 'api_key_id', 'gateway_id'] as const;
const EVENT_ID = /^[\x21-\x7e]+$/;
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ALL_ZEROS = /^0+$/;

/**
 * Whether `value` passes usageEventRecord — every field's rule and the
 * cross-field ones — decided without allocating for a usual event. It reads
 * fields more than once: checkUsageEventRecord gives it a plain copy. Written
 * to be exactly as strict as the zod schema (test/usage-event-record-check
 * compares them on thousands of events); where matching zod exactly would
 * cost (symbol keys, exotic tag objects), it is stricter.
 */
export function isWellFormedUsageEventRecord(value: unknown): value is UsageEventRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const event = value as Record<string, unknown>;
  if (!isName(event['event_id'], EVENT_LIMITS.maxIdLength) || !EVENT_ID.test(event['event_id'])) return false;
  const occurredAt = event['occurred_at'];
  if (!Number.isSafeInteger(occurredAt) || (occurredAt as number) < EVENT_LIMITS.minOccurredAtMs || (occurredAt as number) > EVENT_LIMITS.maxOccurredAtMs) return false;
  if (!isName(event['provider'], 64) || !isName(event['model'], EVENT_LIMITS.maxNameLength)) return false;
  if (!isOptionalName(event['api_flavor'], 64) || !isOptionalName(event['error_code'], 128)) return false;
  if (!OPERATION_SET.has(event['operation']) || !STATUS_SET.has(event['status'])) return false;
  for (const field of TOKEN_FIELDS) if (!isCount(event[field], Number.MAX_SAFE_INTEGER)) return false;
  for (const field of NAME_FIELDS) if (!isOptionalName(event[field], EVENT_LIMITS.maxNameLength)) return false;
  const latency = event['latency_ms'];
  const ttft = event['ttft_ms'];
  if ((latency !== null && !isCount(latency, EVENT_LIMITS.maxDurationMs)) || (ttft !== null && !isCount(ttft, EVENT_LIMITS.maxDurationMs))) return false;
  if (!isProviderUsage(event['provider_usage']) || !isReportedCost(event['reported_cost']) || !areStorableTags(event['tags'])) return false;
  const traceId = event['trace_id'];
  const spanId = event['span_id'];
  if (!isOptionalHexId(traceId, TRACE_ID) || !isOptionalHexId(spanId, SPAN_ID) || (spanId !== null && traceId === null)) return false;
  return isConsistent(event as unknown as UsageEventRecord);
}

function isName(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max && NO_CONTROL_CHARACTERS.test(value);
}

function isOptionalName(value: unknown, max: number): boolean {
  return value === null || isName(value, max);
}

function isCount(value: unknown, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max;
}

function isOptionalHexId(value: unknown, shape: RegExp): boolean {
  return value === null || (typeof value === 'string' && shape.test(value) && !ALL_ZEROS.test(value));
}

function isProviderUsage(value: unknown): boolean {
  if (value === null) return true;
  return typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= EVENT_LIMITS.maxProviderUsageBytes && isJsonObjectText(value);
}

function isReportedCost(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== 'string') return false;
  const parsed = parseDecimal(value);
  return parsed.ok && parsed.units >= 0n;
}

/** Tags as a plain object of at most maxTags string keys and values that isStorableTag would keep; no symbol or "__proto__" keys. */
function areStorableTags(value: unknown): boolean {
  if (!isPlainObject(value) || Object.hasOwn(value, '__proto__')) return false;
  const tags = value as Record<string, unknown>;
  let count = 0;
  for (const key in tags) {
    if (!Object.hasOwn(tags, key)) return false;
    count += 1;
    const tagValue = tags[key];
    if (count > EVENT_LIMITS.maxTags || key.length > EVENT_LIMITS.maxTagKeyLength || !TAG_KEY_PATTERN.test(key)) return false;
    if (typeof tagValue !== 'string' || tagValue.length > EVENT_LIMITS.maxTagValueLength || !NO_CONTROL_CHARACTERS.test(tagValue)) return false;
  }
  return Object.getOwnPropertySymbols(tags).length === 0;
}

/** usage-event.ts's cross-field rules, on counts already known valid. */
function isConsistent(event: UsageEventRecord): boolean {
  if (event.cache_read_tokens + event.cache_write_tokens + event.input_audio_tokens > event.input_tokens) return false;
  if (event.cache_audio_read_tokens > Math.min(event.cache_read_tokens, event.input_audio_tokens)) return false;
  if (event.reasoning_tokens + event.output_audio_tokens > event.output_tokens) return false;
  return event.ttft_ms === null || event.latency_ms === null || event.ttft_ms <= event.latency_ms;
}
