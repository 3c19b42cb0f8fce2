import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatDateTime64 } from '../../services/clickhouse/clickhouse.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { rollupAndRecomputation } from '../support/rollup-check.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Restatement end to end: ingest, change a price (a contract), reprice, and
 * the report shows the new totals with the old cost kept in each event's history.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let config: SpendlineConfig;
let running: RunningProcess;
let contractsFile: string;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  contractsFile = join(mkdtempSync(join(tmpdir(), 'spendline-contracts-')), 'contracts.json');
  writeFileSync(contractsFile, JSON.stringify({ contracts: [] }));
  config = testConfig(brokers, { SPENDLINE_CONTRACTS_FILE: contractsFile });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
});

afterAll(async () => {
  await running?.stop();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const RANGE = 'from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';

async function report(path: string) {
  const response = await running.app.inject({ method: 'GET', url: path, headers: auth(TEST_TOKENS.reader) });
  expect(response.statusCode).toBe(200);
  return response.json() as { rows: Record<string, unknown>[] };
}

async function repriceNow(body: Record<string, unknown>) {
  const response = await running.app.inject({ method: 'POST', url: '/v1/admin/reprice', headers: auth(TEST_TOKENS.admin), payload: body });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

describe('repricing stored events', () => {
  // gpt-4o-mini: 0.15 USD/M input, 0.6 USD/M output. Each event: 1,000,000 in + 100,000 out = 0.15 + 0.06 = 0.21.
  const events = [
    usageEventJson({ event_id: 'rp-1', team: 'alpha', input_tokens: 1_000_000, output_tokens: 100_000, reported_cost: '0.21' }),
    usageEventJson({ event_id: 'rp-2', team: 'alpha', input_tokens: 1_000_000, output_tokens: 100_000, reported_cost: '0.30' }),
    usageEventJson({ event_id: 'rp-3', team: 'beta', input_tokens: 1_000_000, output_tokens: 100_000 }),
  ];

  it('applies a new contract to the past, keeps the old cost in history, and is idempotent', async () => {
    const posted = await running.app.inject({ method: 'POST', url: '/v1/events', headers: auth(TEST_TOKENS.ingest), payload: events });
    expect(posted.statusCode).toBe(200);
    const before = await eventually(
      async () => {
        const rows = (await report(`/v1/reports/cost?${RANGE}&group_by=team`)).rows;
        return rows.reduce((n, row) => n + (row['events'] as number), 0) === 3 ? rows : undefined;
      },
      { what: 'three stored events' },
    );
    expect(before).toEqual([
      expect.objectContaining({ team: 'alpha', cost: '0.42', list_cost: '0.42', events: 2 }),
      expect.objectContaining({ team: 'beta', cost: '0.21', list_cost: '0.21', events: 1 }),
    ]);

    // Finance signs a 25% discount for team alpha, effective for the whole year.
    writeFileSync(contractsFile, JSON.stringify({ contracts: [{ id: 'alpha-2026', effective_from: '2026-01-01', match: { team: 'alpha' }, discount_percent: '25' }] }));

    const dry = await repriceNow({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', dry_run: true });
    expect(dry).toEqual({ status: 200, body: expect.objectContaining({ status: 'dry_run', events_examined: 3, events_changed: 2, cost_before: '0.42', cost_after: '0.315' }) });
    expect((await report(`/v1/reports/cost?${RANGE}&group_by=team`)).rows[0]).toMatchObject({ team: 'alpha', cost: '0.42' });

    const run = await repriceNow({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' });
    expect(run).toEqual({ status: 200, body: expect.objectContaining({ status: 'committed', run_id: 1, events_changed: 2, cost_before: '0.42', cost_after: '0.315' }) });
    expect((await report(`/v1/reports/cost?${RANGE}&group_by=team`)).rows).toEqual([
      expect.objectContaining({ team: 'alpha', cost: '0.315', list_cost: '0.42', events: 2 }),
      expect.objectContaining({ team: 'beta', cost: '0.21', list_cost: '0.21', events: 1 }),
    ]);

    const history = await running.app.inject({ method: 'GET', url: '/v1/events/rp-1/costs', headers: auth(TEST_TOKENS.reader) });
    expect(history.json()).toMatchObject({
      event_id: 'rp-1',
      current: { pricing_run: 1, cost: '0.1575', list_cost: '0.21', contract_id: 'alpha-2026' },
      history: [
        { pricing_run: 0, cost: '0.21', list_cost: '0.21', contract_id: null },
        { pricing_run: 1, cost: '0.1575', list_cost: '0.21', contract_id: 'alpha-2026' },
      ],
    });

    const again = await repriceNow({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' });
    expect(again.body).toMatchObject({ status: 'committed', run_id: 2, events_examined: 3, events_changed: 0 });
    expect((await report(`/v1/reports/cost?${RANGE}`)).rows).toEqual([expect.objectContaining({ cost: '0.525', list_cost: '0.63', events: 3 })]);
  });

  it('counts a run only once it is committed', async () => {
    // Rows of a run that never committed (it died half-way) must not move any total.
    const clickhouse = running.clickhouse!;
    await clickhouse.insert('test_orphan_run', 'usage_events_v1', [
      { event_id: 'rp-3', occurred_at: '2026-11-02 10:00:00.000', received_at: '2026-11-02 10:00:00.000', enriched_at: '2026-11-02 10:00:00.000', provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', team: 'beta', tags: {}, cost: '0.21', currency: 'USD', cost_status: 'priced', price_version: 'x', sign: -1, pricing_run: 99, source_partition: 0, source_offset: 0 },
    ]);
    await clickhouse.insert('test_orphan_run_status', 'pricing_runs_v1', [
      { run_id: 99, status: 'running', range_from: formatDateTime64(0), range_to: formatDateTime64(0), filters: '{}', price_version: 'x', events_examined: 0, events_changed: 0, started_at: formatDateTime64(Date.now()), updated_at: formatDateTime64(Date.now()) },
    ]);
    expect((await report(`/v1/reports/cost?${RANGE}&group_by=team`)).rows).toContainEqual(expect.objectContaining({ team: 'beta', cost: '0.21', events: 1 }));
    // And while it is "running", no second run may start.
    expect(await repriceNow({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' })).toMatchObject({ status: 409, body: { error: { code: 'restatement_running' } } });
  });

  it('reconciles what gateways reported against list prices', async () => {
    const body = await report(`/v1/reports/reconciliation?${RANGE}&group_by=provider,model`);
    // rp-1 reported 0.21 (agrees), rp-2 reported 0.30 against 0.21 (disagrees by 0.09); rp-3 reported nothing.
    expect(body.rows).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', events: 2, reported_cost: '0.51', list_cost: '0.42', effective_cost: '0.315', difference: '0.09', disagreeing_events: 1 },
    ]);
  });

  it('prices calls over HTTP like the price command', async () => {
    const response = await running.app.inject({
      method: 'POST',
      url: '/v1/price',
      headers: auth(TEST_TOKENS.reader),
      payload: [
        { provider: 'openai', api_flavor: 'chat', body: { model: 'gpt-4o-mini', usage: { prompt_tokens: 1000, completion_tokens: 100 } }, at: '2026-11-02T00:00:00Z' },
        { provider: 'openai', body: {} },
      ],
    });
    expect(response.json()).toEqual([
      { input_cost: '0.00015', output_cost: '0.00006', total_cost: '0.00021', currency: 'USD', model: 'gpt-4o-mini', price_version: expect.stringMatching(/^genai-prices-/), usage: { input_tokens: 1000, output_tokens: 100 } },
      { error: expect.stringContaining('unknown api_flavor "default" for provider openai') },
    ]);
  });

  it('leaves the hourly rollup equal to a recomputation from the events, repriced and orphaned runs included', async () => {
    for (const view of ['usage_hourly_costs_v1', 'usage_hourly_owner_costs_v1', 'usage_daily_owner_costs_v1'] as const) {
      const { rollup, recomputed } = await rollupAndRecomputation(running.clickhouse!, view);
      expect(rollup.length).toBeGreaterThan(0);
      expect(rollup).toEqual(recomputed);
    }
  });
});
