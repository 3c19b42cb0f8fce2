import { describe, expect, it } from 'vitest';
import { buildUsageEvent, type UsageEventInput } from '../src/build-usage-event.ts';
import { TOKEN_FIELDS, usageEventRecord } from '../src/usage-event.ts';
import { FULL_RECORD } from './fixtures/usage-event-record.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const STARTED = new Date(Date.UTC(2026, 10, 23, 11, 59, 58, 500));
const MINIMAL: UsageEventInput = { occurred_at: STARTED, provider: 'anthropic', model: 'claude-sonnet-4-5' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('buildUsageEvent', () => {
  it('fills every default: a UUID event_id, zero tokens, nulls, chat, ok, no tags', () => {
    const built = buildUsageEvent(MINIMAL, { now: NOW });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    const { event_id: eventId, ...rest } = built.event;
    expect(eventId).toMatch(UUID);
    expect(rest).toEqual({
      occurred_at: STARTED.getTime(),
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      api_flavor: null,
      operation: 'chat',
      ...Object.fromEntries(TOKEN_FIELDS.map((field) => [field, 0])),
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
    });
    expect(buildUsageEvent(MINIMAL, { now: NOW })).not.toMatchObject({ event: { event_id: eventId } });
  });

  it('keeps what is given: a full record comes back unchanged, occurred_at as epoch ms', () => {
    expect(buildUsageEvent(FULL_RECORD, { now: NOW })).toEqual({ ok: true, event: FULL_RECORD });
    expect(buildUsageEvent({ ...MINIMAL, occurred_at: STARTED.getTime() }, { now: NOW })).toMatchObject({ ok: true, event: { occurred_at: STARTED.getTime() } });
  });

  it("lays the event out in the record's field order whatever the input's, so its JSON is the JSON of what Spendline decodes", () => {
    const built = buildUsageEvent({ team: 'search', output_tokens: 3, model: 'gpt-4o-mini', tags: { a: 'b' }, provider: 'openai', occurred_at: NOW - 1000, input_tokens: 7 }, { now: NOW });
    expect(built.ok && Object.keys(built.event)).toEqual(Object.keys(usageEventRecord.shape));
  });

  it('writes a provider usage object as its JSON text', () => {
    const built = buildUsageEvent({ ...MINIMAL, provider_usage: { input_tokens: 12, output_tokens: 3 } }, { now: NOW });
    expect(built).toMatchObject({ ok: true, event: { provider_usage: '{"input_tokens":12,"output_tokens":3}' } });
  });

  it('identifies a traced call by its span: event_id span-<trace_id>-<span_id>, given or not', () => {
    const ids = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
    const expected = 'span-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7';
    expect(buildUsageEvent({ ...MINIMAL, ...ids }, { now: NOW })).toMatchObject({ ok: true, event: { event_id: expected, ...ids } });
    expect(buildUsageEvent({ ...MINIMAL, ...ids, event_id: 'gw-call-7' }, { now: NOW })).toMatchObject({ ok: true, event: { event_id: expected } });
  });

  it('reports every problem at its field', () => {
    expect(buildUsageEvent({ ...MINIMAL, input_tokens: 10, cache_read_tokens: 20, span_id: '00f067aa0ba902b7' }, { now: NOW })).toEqual({
      ok: false,
      issues: [
        { path: 'input_tokens', message: 'must include cache_read_tokens, cache_write_tokens and input_audio_tokens (their sum 20 exceeds input_tokens 10)' },
        { path: 'trace_id', message: 'is required with span_id (a span id is unique only within its trace)' },
      ],
    });
    expect(buildUsageEvent({ ...MINIMAL, provider: '', output_tokens: -1, tags: { 'bad key': 'x' } }, { now: NOW })).toEqual({
      ok: false,
      issues: [
        { path: 'provider', message: 'must not be empty' },
        { path: 'output_tokens', message: 'must not be negative' },
        { path: 'tags.bad key', message: 'must start with a letter and use only letters, digits and _ . : / -' },
      ],
    });
  });

  it('names fields the event does not have', () => {
    const misspelt = { ...MINIMAL, input_token: 5 } as UsageEventInput;
    expect(buildUsageEvent(misspelt, { now: NOW })).toEqual({ ok: false, issues: [{ path: 'input_token', message: 'is not a usage event field' }] });
    // A "__proto__" key of parsed JSON is a field like any other, not the event's prototype.
    const parsed = { ...MINIMAL, ...(JSON.parse('{"__proto__": {"team": "x"}, "nothing": null}') as object) } as UsageEventInput;
    expect(buildUsageEvent(parsed, { now: NOW })).toEqual({
      ok: false,
      issues: [
        { path: '__proto__', message: 'is not a usage event field' },
        { path: 'nothing', message: 'is not a usage event field' },
      ],
    });
  });

  it.each([
    ['an invalid Date', new Date('not a date')],
    ['a string', '2026-11-23T11:59:58Z'],
    ['NaN', Number.NaN],
    ['nothing', undefined],
  ])('refuses %s as occurred_at, with the other issues', (_what, occurredAt) => {
    const built = buildUsageEvent({ ...MINIMAL, occurred_at: occurredAt as Date, model: '' }, { now: NOW });
    expect(built).toEqual({
      ok: false,
      issues: [
        { path: 'occurred_at', message: 'must be a valid Date or a number of epoch milliseconds' },
        { path: 'model', message: 'must not be empty' },
      ],
    });
  });

  it('refuses occurred_at in the future beyond the allowed skew, and what is not an object', () => {
    expect(buildUsageEvent({ ...MINIMAL, occurred_at: NOW + 60 * 60_000 }, { now: NOW })).toMatchObject({ ok: false, issues: [{ path: 'occurred_at' }] });
    expect(buildUsageEvent(null as unknown as UsageEventInput)).toEqual({ ok: false, issues: [{ path: '', message: 'must be an object' }] });
  });
});
