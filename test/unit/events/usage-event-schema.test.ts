import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroSchemaRegistry, USAGE_EVENT_SCHEMA_DIR } from '@spendline/emitter/avro';
import { validate } from '@spendline/emitter/field-issues';
import {
  ATTRIBUTION_FIELDS,
  CALL_STATUSES,
  OPERATIONS,
  usageEventJson,
  usageEventJsonFields,
  usageEventRecord,
  spanEventId,
  withCallIdentity,
  type UsageEventRecord,
} from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../../services/events/schema-names.ts';
import { SCHEMA_DIRS } from '../../../services/project-paths.ts';
import { FULL_USAGE_EVENT_JSON, FULL_USAGE_EVENT_RECORD } from '../../fixtures/usage-event-examples.ts';

interface AvroField {
  readonly name: string;
  readonly type: unknown;
  readonly default?: unknown;
}
const avroSchema = JSON.parse(readFileSync(join(USAGE_EVENT_SCHEMA_DIR, 'usage-event-v1.avsc'), 'utf8')) as { fields: AvroField[] };
const avroFields = avroSchema.fields;
const avroNames = avroFields.map((field) => field.name);
const isNullableUnion = (field: AvroField) => Array.isArray(field.type) && field.type[0] === 'null';
const avroEnumSymbols = (name: string) => (avroFields.find((field) => field.name === name)!.type as { symbols: string[] }).symbols;

const MINIMAL_JSON = { event_id: 'evt-min', occurred_at: '2026-01-02T03:04:05.006Z', provider: 'openai', model: 'gpt-4o' };

function parsed(input: unknown): UsageEventRecord {
  const result = validate(usageEventJson, input);
  if (!result.ok) throw new Error(`expected a valid event, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issuesOf(input: unknown) {
  const result = validate(usageEventJson, input);
  return result.ok ? [] : result.issues;
}

describe('the zod schema for the HTTP form and the Avro schema agree field by field', () => {
  it('has the same field names in the Avro schema, the JSON form, the record form and the parsed output', () => {
    expect(new Set(Object.keys(usageEventJsonFields.shape))).toEqual(new Set(avroNames));
    expect(new Set(Object.keys(usageEventRecord.shape))).toEqual(new Set(avroNames));
    expect(new Set(Object.keys(parsed(MINIMAL_JSON)))).toEqual(new Set(avroNames));
    expect(Object.keys(parsed(FULL_USAGE_EVENT_JSON)).sort()).toEqual([...avroNames].sort());
  });

  it('turns exactly the Avro nullable unions into null when the JSON form omits them or sends null', () => {
    const nullable = avroFields.filter(isNullableUnion).map((field) => field.name);
    expect(nullable.length).toBeGreaterThan(0);
    const minimal = parsed(MINIMAL_JSON);
    expect(avroNames.filter((name) => minimal[name as keyof UsageEventRecord] === null)).toEqual(nullable);
    for (const name of nullable) {
      expect(parsed({ ...FULL_USAGE_EVENT_JSON, [name]: null })[name as keyof UsageEventRecord], name).toBeNull();
    }
  });

  it('lets the JSON form omit every field with an Avro default, and fills in that same default', () => {
    const minimal = parsed(MINIMAL_JSON);
    const withDefaults = avroFields.filter((field) => 'default' in field);
    expect(withDefaults.map((field) => field.name)).toEqual(expect.arrayContaining(['input_tokens', 'tags', 'status', 'reported_cost']));
    for (const field of withDefaults) {
      expect(minimal[field.name as keyof UsageEventRecord], field.name).toEqual(field.default);
    }
  });

  it('requires in the JSON form the Avro fields without a default, except operation, which defaults to chat', () => {
    const required = avroFields.filter((field) => !('default' in field)).map((field) => field.name);
    expect(required).toEqual(['event_id', 'occurred_at', 'provider', 'model', 'operation']);
    for (const name of ['event_id', 'occurred_at', 'provider', 'model']) {
      const { [name]: _omitted, ...rest } = MINIMAL_JSON as Record<string, unknown>;
      expect(issuesOf(rest).map((issue) => issue.path), name).toEqual([name]);
    }
    // The Avro enum default ("other") only resolves unknown symbols; a JSON event without operation is a chat call.
    expect(parsed(MINIMAL_JSON).operation).toBe('chat');
  });

  it.each([
    ['operation', OPERATIONS, usageEventJsonFields.shape.operation.unwrap().options, usageEventRecord.shape.operation.options],
    ['status', CALL_STATUSES, usageEventJsonFields.shape.status.unwrap().options, usageEventRecord.shape.status.options],
  ])('has the same %s symbols in Avro and both zod forms', (name, constants, jsonOptions, recordOptions) => {
    expect(avroEnumSymbols(name)).toEqual([...constants]);
    expect([...jsonOptions]).toEqual([...constants]);
    expect([...recordOptions]).toEqual([...constants]);
  });

  it('parses a full JSON example into the record, which encodes and decodes to the same value', () => {
    const record = parsed(FULL_USAGE_EVENT_JSON);
    expect(record).toEqual(FULL_USAGE_EVENT_RECORD);
    const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
    const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, registry.encode(SCHEMA_NAMES.usageEvent, record));
    expect(decoded).toMatchObject({ ok: true });
    if (decoded.ok) {
      expect(decoded.value).toEqual(record);
      expect(validate(usageEventRecord, decoded.value)).toEqual({ ok: true, value: record });
    }
  });
});

describe('validation of the JSON form', () => {
  it('names every missing required field at once', () => {
    expect(issuesOf({})).toEqual([
      { path: 'event_id', message: 'is required' },
      { path: 'occurred_at', message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z' },
      { path: 'provider', message: 'is required' },
      { path: 'model', message: 'is required' },
    ]);
  });

  it.each([
    ['event_id', 'has space', 'event_id', 'must be printable ASCII without spaces'],
    ['event_id', 'x'.repeat(129), 'event_id', 'must be at most 128 characters'],
    ['occurred_at', '2026-11-23T10:15:00', 'occurred_at', 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z'],
    ['occurred_at', 1_764_000_000_000, 'occurred_at', 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z'],
    ['occurred_at', '2014-12-31T23:59:59Z', 'occurred_at', 'must not be before 2015-01-01'],
    ['provider', '   ', 'provider', 'must not be empty'],
    ['input_tokens', '5', 'input_tokens', 'must be a number, got string'],
    ['input_tokens', null, 'input_tokens', 'must be a number, got null'],
    ['output_tokens', 1.5, 'output_tokens', 'must be a whole number'],
    ['cache_read_tokens', -1, 'cache_read_tokens', 'must not be negative'],
    ['latency_ms', 86_400_001, 'latency_ms', 'must be at most one day'],
    ['team', 5, 'team', 'must be a string, got number'],
    ['tags', { region: 1 }, 'tags.region', 'must be a string, got number'],
    ['tags', { region: 'x'.repeat(257) }, 'tags.region', 'must be at most 256 characters'],
    ['tags', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), 'tags', 'must have at most 50 tags'],
    ['provider_usage', 'prompt_tokens=3', 'provider_usage', 'must be the provider usage JSON object'],
    ['reported_cost', 0.0125, 'reported_cost', 'must be a decimal string such as "0.0125" (a JSON number would lose precision)'],
    ['reported_cost', '0.0000000000001', 'reported_cost', 'must have at most 12 digits after the decimal point'],
    ['reported_cost', '1.5e-3', 'reported_cost', 'must be a plain decimal number such as "0.0125"'],
    ['reported_cost', '-0.5', 'reported_cost', 'must not be negative'],
  ])('rejects %s = %j at %s: %s', (field, value, path, message) => {
    expect(issuesOf({ ...MINIMAL_JSON, [field]: value })).toEqual([{ path, message }]);
  });

  it.each([
    ['operation', 'dance'],
    ['status', 'fine'],
  ])('rejects an unknown %s symbol', (field, value) => {
    expect(issuesOf({ ...MINIMAL_JSON, [field]: value })).toEqual([{ path: field, message: expect.stringContaining('expected one of') }]);
  });

  it('rejects unknown fields, so a misspelt token class cannot vanish', () => {
    expect(issuesOf({ ...MINIMAL_JSON, input_tokenz: 5, colour: 'red' })).toEqual([{ path: '', message: 'unknown fields: input_tokenz, colour' }]);
    expect(issuesOf({ ...MINIMAL_JSON, extra: 1 })).toEqual([{ path: '', message: 'unknown field: extra' }]);
  });

  it.each([
    [{ input_tokens: 100, cache_read_tokens: 60, cache_write_tokens: 30, input_audio_tokens: 11 }, 'input_tokens', 'must include cache_read_tokens, cache_write_tokens and input_audio_tokens (their sum 101 exceeds input_tokens 100)'],
    [{ input_tokens: 0, cache_read_tokens: 1 }, 'input_tokens', 'must include cache_read_tokens, cache_write_tokens and input_audio_tokens (their sum 1 exceeds input_tokens 0)'],
    [{ output_tokens: 10, reasoning_tokens: 8, output_audio_tokens: 3 }, 'output_tokens', 'must include reasoning_tokens and output_audio_tokens (their sum 11 exceeds output_tokens 10)'],
    [{ latency_ms: 100, ttft_ms: 101 }, 'ttft_ms', 'must not exceed latency_ms (100)'],
  ])('rejects %j at %s', (counts, path, message) => {
    expect(issuesOf({ ...MINIMAL_JSON, ...counts })).toEqual([{ path, message }]);
  });

  it('accepts sub-classes that add up exactly to their totals, and ttft equal to latency', () => {
    const counts = { input_tokens: 100, cache_read_tokens: 60, cache_write_tokens: 30, input_audio_tokens: 10, output_tokens: 10, reasoning_tokens: 7, output_audio_tokens: 3, latency_ms: 100, ttft_ms: 100 };
    expect(parsed({ ...MINIMAL_JSON, ...counts })).toMatchObject(counts);
    // Without latency there is nothing to compare ttft with.
    expect(parsed({ ...MINIMAL_JSON, ttft_ms: 5000 }).ttft_ms).toBe(5000);
  });

  it.each([...ATTRIBUTION_FIELDS, 'api_flavor', 'error_code', 'gateway_id', 'reported_cost'])('treats an empty or blank %s as null', (field) => {
    expect(parsed({ ...MINIMAL_JSON, [field]: '' })[field as keyof UsageEventRecord]).toBeNull();
    expect(parsed({ ...MINIMAL_JSON, [field]: '  \t' })[field as keyof UsageEventRecord]).toBeNull();
  });

  it('limits provider_usage by its UTF-8 size, not its length in characters', () => {
    // 10,000 three-byte characters: 10,000 characters but 30,000+ bytes, under the 32 KiB limit.
    expect(parsed({ ...MINIMAL_JSON, provider_usage: { note: '€'.repeat(10_000) } }).provider_usage).toContain('€');
    // 12,000 of them: 12,000 characters, far under 32,768, yet 36,000+ bytes.
    expect(issuesOf({ ...MINIMAL_JSON, provider_usage: { note: '€'.repeat(12_000) } })).toEqual([{ path: 'provider_usage', message: 'must be at most 32768 bytes of JSON' }]);
  });

  it('trims names and lower-cases the provider, and converts the timestamp offset to UTC milliseconds', () => {
    const event = parsed({ ...MINIMAL_JSON, provider: '  AWS-Bedrock ', model: ' claude-sonnet-4 ', team: ' Search ', occurred_at: '2026-11-23T10:15:00.125-02:30' });
    expect(event).toMatchObject({ provider: 'aws-bedrock', model: 'claude-sonnet-4', team: 'Search', occurred_at: Date.UTC(2026, 10, 23, 12, 45, 0, 125) });
  });

  it('keeps provider_usage as the JSON text of the object sent', () => {
    expect(parsed({ ...MINIMAL_JSON, provider_usage: { prompt_tokens: 3, details: { cached: [1, 2] } } }).provider_usage).toBe(
      '{"prompt_tokens":3,"details":{"cached":[1,2]}}',
    );
  });
});

describe('the record form checked by the enricher', () => {
  it('refuses provider_usage that is not the JSON text of an object (an Avro producer can send any string)', () => {
    for (const text of ['not json {', '[1,2]', '42']) {
      const result = validate(usageEventRecord, { ...FULL_USAGE_EVENT_RECORD, provider_usage: text });
      expect(result.ok ? [] : result.issues).toEqual([{ path: 'provider_usage', message: 'must be the JSON text of an object' }]);
    }
  });
});

describe('call identity: a call with a trace and span id is the same event whatever path brings it', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';
  const { event_id: _omitted, ...withoutId } = MINIMAL_JSON;

  it('identifies an event by its span: the event_id is derived, given or not, and hex is read in either case', () => {
    const expected = `span-${TRACE}-${SPAN}`;
    expect(spanEventId(TRACE, SPAN)).toBe(expected);
    expect(parsed({ ...withoutId, trace_id: TRACE, span_id: SPAN })).toMatchObject({ event_id: expected, trace_id: TRACE, span_id: SPAN });
    expect(parsed({ ...MINIMAL_JSON, trace_id: TRACE.toUpperCase(), span_id: SPAN.toUpperCase() })).toMatchObject({ event_id: expected, trace_id: TRACE, span_id: SPAN });
    // The record form (Avro producers, the emitter) gets the same identity.
    expect(withCallIdentity({ ...FULL_USAGE_EVENT_RECORD, trace_id: TRACE, span_id: SPAN }).event_id).toBe(expected);
    expect(withCallIdentity(FULL_USAGE_EVENT_RECORD)).toBe(FULL_USAGE_EVENT_RECORD);
  });

  it('names what is wrong with trace context, and still needs an event_id without it', () => {
    expect(issuesOf({ ...MINIMAL_JSON, span_id: SPAN })).toEqual([{ path: 'trace_id', message: 'is required with span_id (a span id is unique only within its trace)' }]);
    expect(issuesOf({ ...MINIMAL_JSON, trace_id: '0'.repeat(32), span_id: 'xyz' })).toEqual([
      { path: 'trace_id', message: 'must not be all zeros (an invalid trace id)' },
      { path: 'span_id', message: 'must be a span id of 16 lower-case hex digits' },
    ]);
    expect(issuesOf({ ...withoutId, trace_id: TRACE })).toEqual([{ path: 'event_id', message: 'is required' }]);
    expect(validate(usageEventRecord, { ...FULL_USAGE_EVENT_RECORD, trace_id: TRACE.toUpperCase(), span_id: SPAN }).ok).toBe(false);
  });
});
