import { describe, expect, it } from 'vitest';
import { validate } from '../src/field-issues.ts';
import { EVENT_LIMITS, usageEventRecord, type UsageEventRecord } from '../src/usage-event.ts';
import { checkUsageEventRecord, isWellFormedUsageEventRecord } from '../src/usage-event-record-check.ts';
import { FULL_RECORD } from './fixtures/usage-event-record.ts';

/**
 * The quick check must accept exactly what the zod schema accepts: were it
 * laxer, the gateway would send events the enricher dead-letters. Compared
 * here field by field on edge values, and on thousands of events mixing them.
 */

const zodAccepts = (value: unknown) => validate(usageEventRecord, value).ok;

const DAY = EVENT_LIMITS.maxDurationMs;
const x = (length: number) => 'x'.repeat(length);
const nonStrings = [null, undefined, 42, true, {}, ['a']];
const nameValues = (max: number) => ['a', 'gpt-4o', x(max), x(max + 1), '', ' padded ', 'ünïcode', '\u{1F600}', '\uD800', 'a\nb', 'a\u0000', 'a\u0085', 'zero\u200Bwidth', 'tab\there', ...nonStrings];
const optionalNameValues = (max: number) => nameValues(max);
const countValues = [0, 1, 7, 100, 1000, 1.5, -1, -0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, NaN, Infinity, '5', null, undefined, 10n];
const durationValues = [null, 0, 250, DAY, DAY + 1, 1.5, -1, NaN, '10', undefined];
const hex = (digits: number, digit = 'a') => digit.repeat(digits);
const tagsWith = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 'v']));
const nullPrototypeTags = Object.assign(Object.create(null) as Record<string, string>, { region: 'eu' });

const CANDIDATES: { readonly [K in keyof UsageEventRecord]: readonly unknown[] } = {
  event_id: ['evt-1', '~!#', x(128), x(129), '', 'has space', 'ünicode', 'a\tb', ...nonStrings],
  occurred_at: [FULL_RECORD.occurred_at, EVENT_LIMITS.minOccurredAtMs, EVENT_LIMITS.minOccurredAtMs - 1, EVENT_LIMITS.maxOccurredAtMs, EVENT_LIMITS.maxOccurredAtMs + 1, FULL_RECORD.occurred_at + 0.5, NaN, Infinity, '2026-11-23', null, undefined],
  provider: nameValues(64),
  model: nameValues(EVENT_LIMITS.maxNameLength),
  api_flavor: optionalNameValues(64),
  operation: ['chat', 'embedding', 'image', 'audio', 'other', 'Chat', '', null, 1],
  input_tokens: countValues,
  output_tokens: countValues,
  cache_read_tokens: countValues,
  cache_write_tokens: countValues,
  reasoning_tokens: countValues,
  input_audio_tokens: countValues,
  cache_audio_read_tokens: countValues,
  output_audio_tokens: countValues,
  provider_usage: [null, '{}', '{"prompt_tokens":3}', ` {"a":[1,2]} `, '[]', '1', '"text"', 'not json', '{', `{"a":"${x(32 * 1024 - 8)}"}`, `{"a":"${x(32 * 1024)}"}`, `{"a":"${'é'.repeat(16 * 1024)}"}`, 5, undefined],
  latency_ms: durationValues,
  ttft_ms: durationValues,
  status: ['ok', 'error', 'failed', '', null],
  error_code: optionalNameValues(128),
  tenant_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  cost_center: optionalNameValues(EVENT_LIMITS.maxNameLength),
  team: optionalNameValues(EVENT_LIMITS.maxNameLength),
  feature: optionalNameValues(EVENT_LIMITS.maxNameLength),
  environment: optionalNameValues(EVENT_LIMITS.maxNameLength),
  user_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  session_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  agent_run_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  api_key_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  tags: [
    {},
    { region: 'eu' },
    { 'spendline.requested_model': 'gpt-4o', 'a:b/c-d_e': '' },
    { [x(64)]: 'v' },
    { [x(65)]: 'v' },
    { '1st': 'v' },
    { 'has space': 'v' },
    { region: x(256) },
    { region: x(257) },
    { region: 'line\nbreak' },
    { region: 5 },
    { region: null },
    { constructor: 'x' },
    tagsWith(50),
    tagsWith(51),
    nullPrototypeTags,
    JSON.parse('{"__proto__":"x"}') as unknown,
    new Map([['a', 'b']]),
    ['a'],
    'region=eu',
    null,
    undefined,
  ],
  gateway_id: optionalNameValues(EVENT_LIMITS.maxNameLength),
  reported_cost: [null, '0', '0.000123456789', '12.5', '-1', '-0', '1e3', '.5', '5.', 'abc', '', ' 1', '123456789012345678901234567.1', '0.0000000000000000000000001', 0.5, undefined],
  trace_id: [null, hex(32), hex(32, 'A'), hex(32, '0'), hex(31), hex(33), hex(32, 'g'), 7, undefined],
  span_id: [null, hex(16), hex(16, 'F'), hex(16, '0'), hex(15), hex(17), undefined],
};

/**
 * The choice for field `field` of mixed event `event`: a fixed, well-spread
 * function of the two (Knuth's multiplicative hash), so the mix is the same
 * on every run and a failure replays.
 */
function spread(event: number, field: number, salt: number): number {
  const hash = Math.imul((event * 64 + field) ^ Math.imul(salt, 0x85ebca6b), 0x9e3779b1);
  return (hash ^ (hash >>> 15)) >>> 0;
}

const VALID_BASE: UsageEventRecord = { ...FULL_RECORD, trace_id: hex(32), span_id: hex(16) };

describe('isWellFormedUsageEventRecord', () => {
  it('accepts full and minimal records', () => {
    const minimal: UsageEventRecord = { ...FULL_RECORD, api_flavor: null, provider_usage: null, latency_ms: null, ttft_ms: null, tenant_id: null, cost_center: null, team: null, feature: null, environment: null, user_id: null, session_id: null, agent_run_id: null, api_key_id: null, gateway_id: null, reported_cost: null, tags: {} };
    for (const record of [FULL_RECORD, VALID_BASE, minimal]) {
      expect(zodAccepts(record)).toBe(true);
      expect(isWellFormedUsageEventRecord(record)).toBe(true);
    }
  });

  it('agrees with the zod schema on every edge value of every field', () => {
    const disagreements: string[] = [];
    let refused = 0;
    for (const [field, values] of Object.entries(CANDIDATES)) {
      for (const [index, value] of values.entries()) {
        const event = { ...VALID_BASE, [field]: value };
        const [quick, zod] = [isWellFormedUsageEventRecord(event), zodAccepts(event)];
        if (quick !== zod) disagreements.push(`${field}[${index}]: quick ${quick}, zod ${zod}`);
        if (!zod) refused += 1;
      }
    }
    expect(disagreements).toEqual([]);
    // The candidates do reach the refusals they are meant to.
    expect(refused).toBeGreaterThan(250);
  });

  it('agrees with the zod schema on 20,000 events mixing edge values, the cross-field rules included', () => {
    const disagreements: string[] = [];
    const outcomes = { accepted: 0, refused: 0 };
    const totals = [0, 10, 50, 100, 200];
    const parts = [0, 0, 0, 0, 0, 0, 1, 5, 10, 50];
    for (let i = 0; i < 20_000; i += 1) {
      const event: Record<string, unknown> = { ...VALID_BASE };
      for (const [j, [field, values]] of Object.entries(CANDIDATES).entries()) {
        const choose = <T>(from: readonly T[], salt: number) => from[spread(i, j, salt) % from.length]!;
        // Mostly valid values (one field in fifty takes an edge value), small counts so that the parts-of-totals rules are crossed both ways.
        if (spread(i, j, 1) % 50 === 0) event[field] = choose(values, 2);
        else if (field === 'input_tokens' || field === 'output_tokens') event[field] = choose(totals, 3);
        else if (field.endsWith('_tokens')) event[field] = choose(parts, 4);
        else if (field === 'latency_ms' || field === 'ttft_ms') event[field] = choose([null, 0, 5, 100, 1000], 5);
        else if (field === 'trace_id' || field === 'span_id') event[field] = spread(i, j, 6) % 10 < 3 ? null : event[field];
      }
      const [quick, zod] = [isWellFormedUsageEventRecord(event), zodAccepts(event)];
      outcomes[zod ? 'accepted' : 'refused'] += 1;
      if (quick !== zod && disagreements.length < 20) disagreements.push(`${JSON.stringify(event, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value))}: quick ${quick}, zod ${zod}`);
    }
    expect(disagreements).toEqual([]);
    expect(outcomes.accepted).toBeGreaterThan(2_000);
    expect(outcomes.refused).toBeGreaterThan(2_000);
  });

  it('refuses what is not a record object', () => {
    for (const value of [null, undefined, 'event', 5, [VALID_BASE]]) {
      expect(isWellFormedUsageEventRecord(value)).toBe(false);
      expect(zodAccepts(value)).toBe(false);
    }
  });

  it('is stricter than zod only where matching it would cost: tags with symbol keys or an inherited key', () => {
    const symbolTags = { ...VALID_BASE, tags: { region: 'eu', [Symbol('hidden')]: 'x' } };
    const inheritedTags = { ...VALID_BASE, tags: Object.assign(Object.create({ inherited: 'x' }) as Record<string, string>, { region: 'eu' }) };
    expect(isWellFormedUsageEventRecord(symbolTags)).toBe(false);
    expect(isWellFormedUsageEventRecord(inheritedTags)).toBe(false);
    // checkUsageEventRecord then asks zod, so the outcome is zod's either way.
    expect(checkUsageEventRecord(symbolTags).ok).toBe(zodAccepts(symbolTags));
    expect(checkUsageEventRecord(inheritedTags).ok).toBe(zodAccepts(inheritedTags));
  });
});

describe('checkUsageEventRecord', () => {
  it("answers what zod's parse would: a plain copy in the record's field order, the caller's tags not shared", () => {
    const given = { ...VALID_BASE, tags: { ...VALID_BASE.tags } };
    const checked = checkUsageEventRecord(given);
    const parsed = validate(usageEventRecord, given);
    expect(checked).toEqual(parsed);
    expect(checked.ok && Object.keys(checked.value)).toEqual(Object.keys(usageEventRecord.shape));
    expect(checked.ok && checked.value).not.toBe(given);
    expect(checked.ok && checked.value.tags).not.toBe(given.tags);
  });

  it('reads each field once, whether own, inherited or a getter, as zod does', () => {
    let reads = 0;
    // Fields inherited from a prototype, event_id a getter with a different answer on each read:
    // what was checked must be what comes back.
    const { event_id: _unused, ...inherited } = VALID_BASE;
    const prototype = Object.defineProperty({ ...inherited }, 'event_id', { get: () => (++reads === 1 ? 'evt-getter' : 'has space') });
    const instance = Object.create(prototype) as object;
    const checked = checkUsageEventRecord(instance);
    expect(checked).toEqual({ ok: true, value: { ...VALID_BASE, event_id: 'evt-getter' } });
    expect(reads).toBe(1);
  });

  it('refuses tags zod would not take as a record, such as one with a constructor of its own', () => {
    const hidden = Object.defineProperty({ region: 'eu' }, 'constructor', { value: function Tags() {}, enumerable: false });
    const event = { ...VALID_BASE, tags: hidden };
    expect(zodAccepts(event)).toBe(false);
    expect(isWellFormedUsageEventRecord(event)).toBe(false);
    expect(checkUsageEventRecord(event).ok).toBe(false);
  });

  it("names every field at fault with zod's messages", () => {
    const checked = checkUsageEventRecord({ ...VALID_BASE, input_tokens: -1, tags: { 'bad key': 'v' }, span_id: hex(16, '0') });
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.issues.map((issue) => issue.path)).toEqual(['input_tokens', 'tags.bad key', 'span_id']);
  });
});
