import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { parseIngestBatch, type BatchLimits } from '../../../services/ingest/ingest-batch.ts';

const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
const LIMITS: BatchLimits = { maxEvents: 3, maxFutureSkewMs: 5 * 60_000 };

const event = (id: string, overrides: Record<string, unknown> = {}) => ({
  event_id: id,
  occurred_at: '2026-11-23T09:59:00Z',
  provider: 'openai',
  model: 'gpt-4o',
  input_tokens: 10,
  ...overrides,
});

describe('parseIngestBatch', () => {
  it.each([
    ['a JSON array', [event('a'), event('b')]],
    ['an {"events": [...]} envelope', { events: [event('a'), event('b')] }],
  ])('accepts %s', (_what, body) => {
    const parsed = parseIngestBatch(body, LIMITS, NOW, AttributionPolicy.builtIn);
    expect(parsed).toMatchObject({
      ok: true,
      results: [
        { index: 0, event_id: 'a', status: 'accepted' },
        { index: 1, event_id: 'b', status: 'accepted' },
      ],
    });
    if (!parsed.ok) return;
    expect(parsed.accepted.map((record) => [record.event_id, record.occurred_at, record.input_tokens])).toEqual([
      ['a', Date.UTC(2026, 10, 23, 9, 59), 10],
      ['b', Date.UTC(2026, 10, 23, 9, 59), 10],
    ]);
  });

  const notABatch = { ok: false, status: 400, code: 'invalid_request', message: 'the body must be a JSON array of events or {"events": [...]}' };
  it.each([
    ['null', null],
    ['a string', 'events'],
    ['a number', 42],
    ['a single event object', event('a')],
    ['an envelope whose events is not an array', { events: event('a') }],
    ['an empty object', {}],
  ])('answers 400 for %s as the body', (_what, body) => {
    expect(parseIngestBatch(body, LIMITS, NOW, AttributionPolicy.builtIn)).toEqual(notABatch);
  });

  it.each([
    ['an empty array', []],
    ['an empty envelope', { events: [] }],
  ])('answers 400 for %s', (_what, body) => {
    expect(parseIngestBatch(body, LIMITS, NOW, AttributionPolicy.builtIn)).toEqual({ ok: false, status: 400, code: 'invalid_request', message: 'the batch holds no events' });
  });

  it('answers 413 for more events than the limit, and accepts exactly the limit', () => {
    const four = ['a', 'b', 'c', 'd'].map((id) => event(id));
    expect(parseIngestBatch(four, LIMITS, NOW, AttributionPolicy.builtIn)).toEqual({
      ok: false,
      status: 413,
      code: 'batch_too_large',
      message: 'the batch holds 4 events; at most 3 per request',
    });
    expect(parseIngestBatch({ events: four }, LIMITS, NOW, AttributionPolicy.builtIn)).toMatchObject({ ok: false, status: 413 });
    expect(parseIngestBatch(four.slice(0, 3), LIMITS, NOW, AttributionPolicy.builtIn)).toMatchObject({ ok: true });
  });

  it('judges each event on its own and reports results in request order with field paths', () => {
    const parsed = parseIngestBatch(
      [
        event('ok-1'),
        event('bad-tokens', { input_tokens: -1, cache_read_tokens: 'x' }),
        'not an event',
        { ...event('ok-2'), model: undefined },
        event('ok-3'),
      ],
      { ...LIMITS, maxEvents: 5 },
      NOW,
      AttributionPolicy.builtIn,
    );
    expect(parsed).toEqual({
      ok: true,
      accepted: [expect.objectContaining({ event_id: 'ok-1' }), expect.objectContaining({ event_id: 'ok-3' })],
      results: [
        { index: 0, event_id: 'ok-1', status: 'accepted' },
        {
          index: 1,
          event_id: 'bad-tokens',
          status: 'rejected',
          errors: [
            { path: 'input_tokens', message: 'must not be negative' },
            { path: 'cache_read_tokens', message: 'must be a number, got string' },
          ],
        },
        { index: 2, event_id: null, status: 'rejected', errors: [{ path: '', message: 'must be an object, got string' }] },
        { index: 3, event_id: 'ok-2', status: 'rejected', errors: [{ path: 'model', message: 'is required' }] },
        { index: 4, event_id: 'ok-3', status: 'accepted' },
      ],
    });
  });

  it('names a rejected event by its event_id only when that is a string', () => {
    const parsed = parseIngestBatch([event('x', { event_id: 17 }), null], LIMITS, NOW, AttributionPolicy.builtIn);
    expect(parsed).toMatchObject({
      ok: true,
      accepted: [],
      results: [
        { index: 0, event_id: null, status: 'rejected', errors: [{ path: 'event_id', message: 'must be a string, got number' }] },
        { index: 1, event_id: null, status: 'rejected' },
      ],
    });
  });

  it.each([
    // [occurred_at, accepted?] with NOW = 10:00:00Z and a skew allowance of 5 minutes
    ['2026-11-23T10:05:00Z', true],
    ['2026-11-23T10:05:00.001Z', false],
    ['2026-11-23T11:00:00+01:00', true],
    ['2026-11-23T12:00:00Z', false],
    ['2015-01-01T00:00:00Z', true],
  ])('occurred_at %s is accepted: %s', (occurredAt, accepted) => {
    const parsed = parseIngestBatch([event('t', { occurred_at: occurredAt })], LIMITS, NOW, AttributionPolicy.builtIn);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    if (accepted) {
      expect(parsed.results).toEqual([{ index: 0, event_id: 't', status: 'accepted' }]);
    } else {
      expect(parsed.accepted).toEqual([]);
      expect(parsed.results).toEqual([
        { index: 0, event_id: 't', status: 'rejected', errors: [{ path: 'occurred_at', message: 'is more than 5 minutes after the event was received' }] },
      ]);
    }
  });
});
