import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/** Unit economics, movers and the month-end forecast over stored usage, with exact figures. */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let running: RunningProcess;

// gpt-4o-mini: 0.15 USD per million input tokens; gpt-4o: 2.5 USD per million input tokens.
const mini = (overrides: Record<string, unknown>) => usageEventJson({ model: 'gpt-4o-mini', input_tokens: 1_000_000, output_tokens: 0, ...overrides });
const EVENTS = [
  // Unit economics: feature ue-chat, three calls by two users; ue-search one call by nobody in particular.
  mini({ event_id: 'ue-1', team: 'ue', feature: 'ue-chat', user_id: 'u1', occurred_at: '2026-11-20T10:00:00Z' }),
  mini({ event_id: 'ue-2', team: 'ue', feature: 'ue-chat', user_id: 'u1', occurred_at: '2026-11-20T11:00:00Z' }),
  mini({ event_id: 'ue-3', team: 'ue', feature: 'ue-chat', user_id: 'u2', occurred_at: '2026-11-20T12:00:00Z' }),
  mini({ event_id: 'ue-4', team: 'ue', feature: 'ue-search', occurred_at: '2026-11-20T13:00:00Z' }),
  // Movers: week of 1 November against the week of 8 November.
  mini({ event_id: 'mv-1', team: 'mv-alpha', occurred_at: '2026-11-03T10:00:00Z' }),
  mini({ event_id: 'mv-2', team: 'mv-alpha', occurred_at: '2026-11-10T10:00:00Z' }),
  mini({ event_id: 'mv-3', team: 'mv-alpha', model: 'gpt-4o', occurred_at: '2026-11-11T10:00:00Z' }),
  mini({ event_id: 'mv-4', team: 'mv-beta', occurred_at: '2026-11-04T10:00:00Z', input_tokens: 2_000_000 }),
  // Forecast: team fc spends 0.15 every Monday.
  ...['2026-10-19', '2026-10-26', '2026-11-02', '2026-11-09'].map((day, i) => mini({ event_id: `fc-${i}`, team: 'fc', occurred_at: `${day}T09:00:00Z` })),
];

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  running = await startProcess({ config: testConfig(brokers), services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
  const posted = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` }, payload: EVENTS });
  expect(posted.statusCode).toBe(200);
  await eventually(
    async () => {
      const body = (await get('/v1/reports/cost?from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z')).body;
      return body.rows?.[0]?.events === EVENTS.length ? true : undefined;
    },
    { what: 'every event stored' },
  );
});

afterAll(async () => {
  await running?.stop();
});

async function get(url: string) {
  const response = await running.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } });
  return { status: response.statusCode, body: response.json() as any };
}

describe('GET /v1/reports/unit-economics', () => {
  it('gives cost per request, per 1k tokens and per active user, exactly', async () => {
    const { status, body } = await get('/v1/reports/unit-economics?from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z&by=feature');
    expect(status).toBe(200);
    expect(body.rows).toEqual([
      // 3 × 0.15 = 0.45 over 3 requests, 3,000 thousand tokens and 2 users.
      { feature: 'ue-chat', cost: '0.45', requests: 3, input_tokens: 3_000_000, output_tokens: 0, active_users: 2, cost_per_request: '0.15', cost_per_1k_tokens: '0.00015', cost_per_active_user: '0.225' },
      { feature: 'ue-search', cost: '0.15', requests: 1, input_tokens: 1_000_000, output_tokens: 0, active_users: 0, cost_per_request: '0.15', cost_per_1k_tokens: '0.00015', cost_per_active_user: null },
    ]);
  });

  it('asks for whole hours, naming the parameter', async () => {
    const { status, body } = await get('/v1/reports/unit-economics?from=2026-11-20T00:30:00Z&to=2026-11-21T00:00:00Z&by=nonsense');
    expect(status).toBe(400);
    expect(body.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['from', 'by']);
  });
});

describe('GET /v1/reports/movers', () => {
  it('lists the largest increases and decreases against the previous period, with the drivers', async () => {
    const { status, body } = await get('/v1/reports/movers?from=2026-11-08T00:00:00Z&to=2026-11-15T00:00:00Z&by=team&driver=model');
    expect(status).toBe(200);
    expect(body.previous).toEqual({ from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' });
    // mv-alpha: 0.15 → 0.15 + 2.5; the difference is all gpt-4o. mv-beta: 0.3 → 0. fc: 0.15 → 0.15, no change.
    expect(body.increases).toEqual([
      { team: 'mv-alpha', previous_cost: '0.15', current_cost: '2.65', change: '2.5', change_ratio: '16.6667', drivers: [{ model: 'gpt-4o', previous_cost: '0', current_cost: '2.5', change: '2.5' }] },
    ]);
    expect(body.decreases).toEqual([
      { team: 'mv-beta', previous_cost: '0.3', current_cost: '0', change: '-0.3', change_ratio: '-1', drivers: [{ model: 'gpt-4o-mini', previous_cost: '0.3', current_cost: '0', change: '-0.3' }] },
    ]);
  });
});

describe('GET /v1/reports/forecast', () => {
  it('projects the month from the same weekdays of the last four weeks', async () => {
    const { status, body } = await get('/v1/reports/forecast?month=2026-11&by=team&as_of=2026-11-15T08:00:00Z');
    expect(status).toBe(200);
    expect(body).toMatchObject({ month: '2026-11', timezone: 'UTC', as_of: '2026-11-15' });
    // Actual: Mondays 2 and 9 November (0.3). Remaining Mondays 16, 23, 30 expect 0.15 each, every sample alike.
    expect(body.rows.find((row: { team: string }) => row.team === 'fc')).toEqual({ team: 'fc', actual_to_date: '0.3', projected: '0.75', low: '0.75', high: '0.75' });
  });

  it('refuses a half-hour time zone, whose days hourly rollups cannot split', async () => {
    const { status, body } = await get('/v1/reports/forecast?month=2026-11&timezone=Asia/Kolkata');
    expect(status).toBe(400);
    expect(body.error.issues).toEqual([{ path: 'timezone', message: 'must be a whole number of hours from UTC' }]);
  });
});
