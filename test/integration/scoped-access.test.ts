import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * A reader token scoped to one team (or one tenant) sees only its owners'
 * rows in every report and event lookup, and can do nothing else.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const SEARCH_ONLY = 'search-only-reader-0123456789';
const ACME_ONLY = 'acme-only-reader-0123456789';
let running: RunningProcess;

const RANGE = 'from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  const config = testConfig(brokers, {
    SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([
      { token: SEARCH_ONLY, teams: ['search'] },
      { token: ACME_ONLY, tenants: ['acme'] },
    ]),
  });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
  // 0.15 USD per million input tokens of gpt-4o-mini.
  const events = [
    usageEventJson({ event_id: 'sa-1', team: 'search', tenant_id: 'acme', user_id: 'u1', occurred_at: '2026-11-02T10:00:00Z', input_tokens: 1_000_000, output_tokens: 0, reported_cost: '0.15' }),
    usageEventJson({ event_id: 'sa-2', team: 'ads', tenant_id: 'acme', user_id: 'u2', occurred_at: '2026-11-09T10:00:00Z', input_tokens: 2_000_000, output_tokens: 0, reported_cost: '0.3' }),
    usageEventJson({ event_id: 'sa-3', team: 'ads', tenant_id: 'globex', user_id: 'u3', occurred_at: '2026-11-09T11:00:00Z', input_tokens: 4_000_000, output_tokens: 0, reported_cost: '0.6' }),
  ];
  const posted = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` }, payload: events });
  expect(posted.statusCode).toBe(200);
  await eventually(async () => ((await get(`/v1/reports/cost?${RANGE}`, TEST_TOKENS.reader)).body.rows?.[0]?.events === 3 ? true : undefined), { what: 'three events stored' });
});

afterAll(async () => {
  await running?.stop();
});

async function get(url: string, token: string) {
  const response = await running.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: response.json() as any };
}

describe('a team-scoped reader token', () => {
  it('sees only its team in the cost report, whatever it groups or filters by', async () => {
    expect((await get(`/v1/reports/cost?${RANGE}`, SEARCH_ONLY)).body.rows).toEqual([expect.objectContaining({ cost: '0.15', events: 1 })]);
    expect((await get(`/v1/reports/cost?${RANGE}&group_by=team,tenant_id`, SEARCH_ONLY)).body.rows.map((row: any) => [row.team, row.tenant_id])).toEqual([['search', 'acme']]);
    // Asking for another team's rows finds none.
    expect((await get(`/v1/reports/cost?${RANGE}&team=ads`, SEARCH_ONLY)).body.rows).toEqual([expect.objectContaining({ cost: '0', events: 0 })]);
    // From the events, too (a range off the hour).
    expect((await get('/v1/reports/cost?from=2026-11-01T00:00:00.001Z&to=2026-12-01T00:00:00Z', SEARCH_ONLY)).body.rows).toEqual([expect.objectContaining({ cost: '0.15' })]);
  });

  it('sees only its team in reconciliation, attribution quality and the analysis reports', async () => {
    expect((await get(`/v1/reports/reconciliation?${RANGE}&group_by=team`, SEARCH_ONLY)).body.rows.map((row: any) => row.team)).toEqual(['search']);
    expect((await get(`/v1/reports/attribution-quality?${RANGE}&group_by=team`, SEARCH_ONLY)).body.rows.map((row: any) => row.team)).toEqual(['search']);
    expect((await get(`/v1/reports/attribution-quality?${RANGE}&group_by=team`, SEARCH_ONLY)).body.top_unattributed_sources).toEqual([]);
    expect((await get(`/v1/reports/unit-economics?${RANGE}&by=team`, SEARCH_ONLY)).body.rows.map((row: any) => [row.team, row.cost, row.active_users])).toEqual([['search', '0.15', 1]]);
    const movers = (await get('/v1/reports/movers?from=2026-11-08T00:00:00Z&to=2026-11-15T00:00:00Z&by=team', SEARCH_ONLY)).body;
    expect([...movers.increases, ...movers.decreases].map((row: any) => row.team)).toEqual(['search']);
    expect((await get('/v1/reports/forecast?month=2026-11&by=team&as_of=2026-11-20T00:00:00Z', SEARCH_ONLY)).body.rows.map((row: any) => row.team)).toEqual(['search']);
    expect((await get('/v1/reports/chargeback?period=2026-11&by=team', SEARCH_ONLY)).body.owners.map((row: any) => row.team)).toEqual(['search']);
  });

  it('finds only its team\'s events by id, and is refused everything but reading', async () => {
    expect((await get('/v1/events/sa-1/history', SEARCH_ONLY)).status).toBe(200);
    expect((await get('/v1/events/sa-2/history', SEARCH_ONLY)).status).toBe(404);
    expect((await get('/v1/admin/attribution/policy', SEARCH_ONLY)).status).toBe(403);
    expect((await get('/v1/admin/restatements', SEARCH_ONLY)).status).toBe(403);
    const post = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${SEARCH_ONLY}` }, payload: [] });
    expect(post.statusCode).toBe(403);
  });
});

describe('a tenant-scoped reader token', () => {
  it('sees every team of its tenant and nothing of other tenants', async () => {
    expect((await get(`/v1/reports/cost?${RANGE}&group_by=team`, ACME_ONLY)).body.rows.map((row: any) => [row.team, row.cost])).toEqual([['ads', '0.3'], ['search', '0.15']]);
    expect((await get('/v1/reports/chargeback?period=2026-11&by=tenant', ACME_ONLY)).body.owners.map((row: any) => [row.tenant, row.total_cost])).toEqual([['acme', '0.45']]);
    expect((await get('/v1/reports/chargeback?period=2026-11&by=team', ACME_ONLY)).status).toBe(403);
    expect((await get('/v1/events/sa-3/history', ACME_ONLY)).status).toBe(404);
  });
});
