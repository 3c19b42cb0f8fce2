import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { buildHttpServer } from '../../services/api/http-server.ts';
import { registerExportRoutes } from '../../services/api/export-routes.ts';
import { PolicySource } from '../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../services/auth/bearer-tokens.ts';
import { formatDateTime64 } from '../../services/clickhouse/clickhouse.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { focusColumns } from '../../services/exports/focus.ts';
import { EVENT_EXPORT_COLUMNS } from '../../services/exports/event-export.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { Metrics } from '../../services/metrics/metrics.ts';
import { decimalUnits, formatDecimal } from '../../services/money/decimal.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Exports end to end: events posted over HTTP, priced and stored by the
 * pipeline, then read back as per-event files and FOCUS rows, after repricing
 * and re-attribution, through a scoped token, and over thousands of events
 * read in small slices.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const SCOPED_READER = 'scoped-reader-0123456789';
let config: SpendlineConfig;
let running: RunningProcess;
let contractsFile: string;
/** The same routes with tiny read slices and chunks, to read a few thousand events in many pieces. */
let sliced: FastifyInstance;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  contractsFile = join(mkdtempSync(join(tmpdir(), 'spendline-contracts-')), 'contracts.json');
  writeFileSync(contractsFile, JSON.stringify({ contracts: [] }));
  config = testConfig(brokers, {
    SPENDLINE_CONTRACTS_FILE: contractsFile,
    SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([{ token: SCOPED_READER, teams: ['alpha'] }]),
  });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
  sliced = buildHttpServer({ log, metrics: new Metrics({ processMetrics: false }), tokens: new BearerTokens(config.auth), readiness: [], bodyLimit: 1024 });
  registerExportRoutes(sliced, { clickhouse: running.clickhouse!, policy: new PolicySource(config.attributionPolicyFile, log), limits: { sliceRows: 100, chunkRows: 40 } });
});

afterAll(async () => {
  await sliced?.close();
  await running?.stop();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

async function post(events: Record<string, unknown>[]) {
  const response = await running.app.inject({ method: 'POST', url: '/v1/events', headers: auth(TEST_TOKENS.ingest), payload: events });
  expect(response.statusCode).toBe(200);
}

/** Waits until ClickHouse holds `events` events in force over [from, to), in every environment. */
async function stored(from: string, to: string, events: number) {
  await eventually(
    async () => {
      const [count] = await running.clickhouse!.query({
        name: 'test_stored_events',
        sql: "SELECT sum(sign) AS events FROM {db:Identifier}.usage_costs_v1 WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
        params: { from: formatDateTime64(Date.parse(from)), to: formatDateTime64(Date.parse(to)) },
        schema: z.object({ events: z.coerce.number() }),
      });
      return count?.events === events ? true : undefined;
    },
    { what: `${events} stored events in [${from}, ${to})` },
  );
}

async function download(path: string, token: string = TEST_TOKENS.reader, app: FastifyInstance = running.app) {
  const response = await app.inject({ method: 'GET', url: path, headers: auth(token) });
  expect(response.statusCode, response.body).toBe(200);
  return response;
}

async function ndjson(path: string, token?: string, app?: FastifyInstance): Promise<Record<string, unknown>[]> {
  const response = await download(path, token, app);
  expect(response.headers['content-type']).toBe('application/x-ndjson');
  return response.body
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** RFC 4180 records (quoted fields may hold commas, quotes doubled, CR and LF). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += char;
  }
  expect(field === '' && record.length === 0, 'the file ends with a complete record').toBe(true);
  return records;
}

async function csv(path: string, token?: string, app?: FastifyInstance): Promise<{ header: string[]; rows: Record<string, string>[] }> {
  const response = await download(path, token, app);
  expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
  const [header = [], ...records] = parseCsv(response.body);
  for (const record of records) expect(record).toHaveLength(header.length);
  return { header, rows: records.map((record) => Object.fromEntries(header.map((name, index) => [name, record[index]!]))) };
}

/** The columns of a FOCUS row a test compares (the rest is fixed per provider and model). */
const focusSummary = (row: Record<string, unknown>) => ({
  day: row['ChargePeriodStart'],
  sku: row['SkuId'],
  team: row['x_Team'],
  status: row['x_CostStatus'],
  consumed: row['ConsumedQuantity'],
  quantity: row['PricingQuantity'],
  cost: row['EffectiveCost'],
  list: row['ListCost'],
  listPrice: row['ListUnitPrice'],
  contractedPrice: row['ContractedUnitPrice'],
});

const totalOf = (rows: Record<string, unknown>[], column: string) => formatDecimal(rows.reduce((total, row) => total + decimalUnits(String(row[column])), 0n));

describe('exports of a known mix', () => {
  const RANGE = 'from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z';

  beforeAll(async () => {
    const owner = { team: 'alpha', feature: 'chat', environment: 'prod', user_id: 'u1' };
    await post([
      // 600 plain input × 0.15/M + 400 cached × 0.075/M + 200 output × 0.6/M = 0.00009 + 0.00003 + 0.00012.
      usageEventJson({ event_id: 'mix-1', occurred_at: '2026-11-02T10:00:00Z', ...owner, input_tokens: 1000, cache_read_tokens: 400, output_tokens: 200 }),
      // 2,000,000 × 0.15/M + 500,000 × 0.6/M = 0.3 + 0.3.
      usageEventJson({ event_id: 'mix-2', occurred_at: '2026-11-02T15:30:00Z', ...owner, input_tokens: 2_000_000, output_tokens: 500_000 }),
      // The catalog does not know this model: stored unpriced, exported at cost 0, never hidden.
      usageEventJson({ event_id: 'mix-3', occurred_at: '2026-11-02T11:00:00Z', ...owner, model: 'house-model-7b', input_tokens: 50, output_tokens: 5 }),
      // 10,000 × 0.15/M + 1,000 × 0.6/M = 0.0015 + 0.0006, on the next day, last millisecond.
      usageEventJson({
        event_id: 'mix-4',
        occurred_at: '2026-11-03T23:59:59.999Z',
        team: 'beta',
        feature: 'search',
        environment: 'prod',
        tenant_id: 'acme',
        user_id: 'u2',
        input_tokens: 10_000,
        output_tokens: 1_000,
        tags: { note: 'a, "quoted" value' },
      }),
      // Development traffic: outside the default environment scope.
      usageEventJson({ event_id: 'mix-5', occurred_at: '2026-11-02T12:00:00Z', team: 'alpha', environment: 'dev', input_tokens: 1000, output_tokens: 100 }),
    ]);
    await stored('2026-11-02T00:00:00Z', '2026-11-04T00:00:00Z', 5);
  });

  it('writes FOCUS 1.2 rows per day, owner, model and SKU with costs exact to the token', async () => {
    const rows = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`);
    expect(rows.map(focusSummary)).toEqual([
      { day: '2026-11-02T00:00:00Z', sku: 'openai/gpt-4o-mini/cached-input-read', team: 'alpha', status: 'priced', consumed: '400', quantity: '0.0004', cost: '0.00003', list: '0.00003', listPrice: '0.075', contractedPrice: '0.075' },
      { day: '2026-11-02T00:00:00Z', sku: 'openai/gpt-4o-mini/input', team: 'alpha', status: 'priced', consumed: '2000600', quantity: '2.0006', cost: '0.30009', list: '0.30009', listPrice: '0.15', contractedPrice: '0.15' },
      { day: '2026-11-02T00:00:00Z', sku: 'openai/gpt-4o-mini/output', team: 'alpha', status: 'priced', consumed: '500200', quantity: '0.5002', cost: '0.30012', list: '0.30012', listPrice: '0.6', contractedPrice: '0.6' },
      { day: '2026-11-02T00:00:00Z', sku: 'openai/house-model-7b/input', team: 'alpha', status: 'unpriced', consumed: '50', quantity: '0.00005', cost: '0', list: '0', listPrice: null, contractedPrice: null },
      { day: '2026-11-02T00:00:00Z', sku: 'openai/house-model-7b/output', team: 'alpha', status: 'unpriced', consumed: '5', quantity: '0.000005', cost: '0', list: '0', listPrice: null, contractedPrice: null },
      { day: '2026-11-03T00:00:00Z', sku: 'openai/gpt-4o-mini/input', team: 'beta', status: 'priced', consumed: '10000', quantity: '0.01', cost: '0.0015', list: '0.0015', listPrice: '0.15', contractedPrice: '0.15' },
      { day: '2026-11-03T00:00:00Z', sku: 'openai/gpt-4o-mini/output', team: 'beta', status: 'priced', consumed: '1000', quantity: '0.001', cost: '0.0006', list: '0.0006', listPrice: '0.6', contractedPrice: '0.6' },
    ]);
    expect(rows[5]).toEqual({
      BilledCost: '0.0015',
      BillingAccountId: 'openai',
      BillingAccountName: 'openai',
      BillingCurrency: 'USD',
      BillingPeriodEnd: '2026-12-01T00:00:00Z',
      BillingPeriodStart: '2026-11-01T00:00:00Z',
      ChargeCategory: 'Usage',
      ChargeClass: null,
      ChargeDescription: 'Input Tokens of gpt-4o-mini (openai)',
      ChargeFrequency: 'Usage-Based',
      ChargePeriodEnd: '2026-11-04T00:00:00Z',
      ChargePeriodStart: '2026-11-03T00:00:00Z',
      ConsumedQuantity: '10000',
      ConsumedUnit: 'Tokens',
      ContractedCost: '0.0015',
      ContractedUnitPrice: '0.15',
      EffectiveCost: '0.0015',
      InvoiceIssuerName: 'openai',
      ListCost: '0.0015',
      ListUnitPrice: '0.15',
      PricingCategory: 'Standard',
      PricingQuantity: '0.01',
      PricingUnit: '1000000 Tokens',
      ProviderName: 'openai',
      PublisherName: 'OpenAI',
      ServiceCategory: 'AI and Machine Learning',
      ServiceName: 'openai API',
      ServiceSubcategory: 'Generative AI',
      SkuId: 'openai/gpt-4o-mini/input',
      SkuMeter: 'Input Tokens',
      SkuPriceDetails: { ModelDeveloper: 'OpenAI', ModelId: 'gpt-4o-mini', TokenDirection: 'Input' },
      SkuPriceId: 'openai/gpt-4o-mini/input',
      Tags: { tenant_id: 'acme', team: 'beta', feature: 'search', environment: 'prod' },
      x_CostCenter: null,
      x_CostStatus: 'priced',
      x_Environment: 'prod',
      x_Feature: 'search',
      x_TenantId: 'acme',
      x_Team: 'beta',
      x_UserId: 'u2',
    });
    // FOCUS totals are the cost report's totals, to the last decimal.
    const report = await running.app.inject({ method: 'GET', url: `/v1/reports/cost?${RANGE}`, headers: auth(TEST_TOKENS.reader) });
    expect(report.json()).toMatchObject({ rows: [{ cost: totalOf(rows, 'EffectiveCost'), list_cost: totalOf(rows, 'ListCost') }] });
    expect(totalOf(rows, 'BilledCost')).toBe('0.60234');
  });

  it('writes the same FOCUS rows as CSV, the 1.3 columns when asked, and every environment with environment=all', async () => {
    const file = await csv(`/v1/exports/focus?${RANGE}&format=csv`);
    expect(file.header).toEqual(focusColumns('1.2'));
    expect(file.rows.map((row) => [row['SkuId'], row['EffectiveCost'], row['ChargeClass'], JSON.parse(row['SkuPriceDetails']!) as unknown])).toEqual(
      (await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`)).map((row) => [row['SkuId'], row['EffectiveCost'], '', row['SkuPriceDetails']]),
    );

    const v13 = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson&focus_version=1.3`);
    expect(Object.keys(v13[0]!)).toEqual(focusColumns('1.3'));
    expect(v13[0]).toMatchObject({ ServiceProviderName: 'openai', HostProviderName: 'openai', AllocatedMethodId: null, AllocatedTags: null });

    const everything = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson&environment=all`);
    expect(everything.filter((row) => row['x_Environment'] === 'dev').map(focusSummary)).toEqual([
      expect.objectContaining({ sku: 'openai/gpt-4o-mini/input', consumed: '1000', cost: '0.00015' }),
      expect.objectContaining({ sku: 'openai/gpt-4o-mini/output', consumed: '100', cost: '0.00006' }),
    ]);
  });

  it('writes every event in force with exact money, RFC 3339 times and RFC 4180 quoting', async () => {
    const response = await download(`/v1/exports/events?${RANGE}&format=csv`);
    expect(response.headers['content-disposition']).toBe('attachment; filename="spendline-events-20261102T000000Z-20261104T000000Z.csv"');
    const file = await csv(`/v1/exports/events?${RANGE}&format=csv`);
    expect(file.header).toEqual(EVENT_EXPORT_COLUMNS);
    expect(file.rows.map((row) => [row['event_id'], row['occurred_at'], row['cost'], row['cost_status'], row['team'], row['tenant_id']])).toEqual([
      ['mix-1', '2026-11-02T10:00:00.000Z', '0.00024', 'priced', 'alpha', ''],
      ['mix-3', '2026-11-02T11:00:00.000Z', '0', 'unpriced', 'alpha', ''],
      ['mix-2', '2026-11-02T15:30:00.000Z', '0.6', 'priced', 'alpha', ''],
      ['mix-4', '2026-11-03T23:59:59.999Z', '0.0021', 'priced', 'beta', 'acme'],
    ]);
    expect(JSON.parse(file.rows[3]!['tags']!)).toEqual({ note: 'a, "quoted" value' });

    const lines = await ndjson(`/v1/exports/events?${RANGE}&format=ndjson&environment=dev`);
    expect(lines).toEqual([
      expect.objectContaining({ event_id: 'mix-5', environment: 'dev', input_tokens: 1000, output_tokens: 100, cost: '0.00021', list_cost: '0.00021', feature: null, tags: {} }),
    ]);
  });

  it('answers 400 naming the parameter, before any byte of a file', async () => {
    const cases: [string, string, string][] = [
      ['/v1/exports/events?to=2026-11-04T00:00:00Z', 'from', 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-01T00:00:00Z'],
      ['/v1/exports/events?from=2026-11-04T00:00:00Z&to=2026-11-02T00:00:00Z', 'to', 'must be after from'],
      ['/v1/exports/events?from=2025-01-01T00:00:00Z&to=2026-01-03T00:00:00Z', 'to', 'must be at most 366 days after from; export a longer period in parts'],
      [`/v1/exports/events?${RANGE}&format=xlsx`, 'format', 'must be one of csv, ndjson'],
      [`/v1/exports/focus?${RANGE}&focus_version=1.0`, 'focus_version', 'must be one of 1.2, 1.3'],
    ];
    for (const [url, path, message] of cases) {
      const response = await running.app.inject({ method: 'GET', url, headers: auth(TEST_TOKENS.reader) });
      expect(response.statusCode, url).toBe(400);
      expect(response.json(), url).toEqual({ error: { code: 'invalid_request', message: 'invalid export parameters', issues: [{ path, message }] } });
    }
    expect((await running.app.inject({ method: 'GET', url: `/v1/exports/events?${RANGE}` })).statusCode).toBe(401);
    expect((await running.app.inject({ method: 'GET', url: `/v1/exports/focus?${RANGE}`, headers: auth(TEST_TOKENS.ingest) })).statusCode).toBe(403);
  });
});

describe('exports after restatements', () => {
  it('exports a repriced event once, at its new cost, and FOCUS at contracted and list prices', async () => {
    const RANGE = 'from=2026-11-10T00:00:00Z&to=2026-11-11T00:00:00Z';
    await post([usageEventJson({ event_id: 'rp-1', occurred_at: '2026-11-10T09:00:00Z', team: 'gamma', input_tokens: 1_000_000, output_tokens: 100_000 })]);
    await stored('2026-11-10T00:00:00Z', '2026-11-11T00:00:00Z', 1);
    expect(await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`)).toEqual([expect.objectContaining({ event_id: 'rp-1', cost: '0.21', list_cost: '0.21' })]);

    // A 25 % discount for team gamma, applied to the past.
    writeFileSync(contractsFile, JSON.stringify({ contracts: [{ id: 'gamma-2026', effective_from: '2026-01-01', match: { team: 'gamma' }, discount_percent: '25' }] }));
    const run = await running.app.inject({ method: 'POST', url: '/v1/admin/reprice', headers: auth(TEST_TOKENS.admin), payload: { from: '2026-11-10T00:00:00Z', to: '2026-11-11T00:00:00Z' } });
    expect(run.json()).toMatchObject({ status: 'committed', events_changed: 1, cost_after: '0.1575' });

    expect(await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`)).toEqual([expect.objectContaining({ event_id: 'rp-1', cost: '0.1575', list_cost: '0.21' })]);
    expect((await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`)).map(focusSummary)).toEqual([
      { day: '2026-11-10T00:00:00Z', sku: 'openai/gpt-4o-mini/input', team: 'gamma', status: 'priced', consumed: '1000000', quantity: '1', cost: '0.1125', list: '0.15', listPrice: '0.15', contractedPrice: '0.1125' },
      { day: '2026-11-10T00:00:00Z', sku: 'openai/gpt-4o-mini/output', team: 'gamma', status: 'priced', consumed: '100000', quantity: '0.1', cost: '0.045', list: '0.06', listPrice: '0.6', contractedPrice: '0.45' },
    ]);
  });

  it('shows a team-scoped reader only its team, judged by the owner in force after a re-attribution', async () => {
    const RANGE = 'from=2026-11-12T00:00:00Z&to=2026-11-13T00:00:00Z';
    await post([
      usageEventJson({ event_id: 'sc-1', occurred_at: '2026-11-12T08:00:00Z', team: 'alpha', input_tokens: 1000, output_tokens: 100 }),
      usageEventJson({ event_id: 'sc-2', occurred_at: '2026-11-12T09:00:00Z', team: 'beta', input_tokens: 2000, output_tokens: 200 }),
      usageEventJson({ event_id: 'sc-3', occurred_at: '2026-11-12T10:00:00Z', team: 'alpha', input_tokens: 3000, output_tokens: 300 }),
    ]);
    await stored('2026-11-12T00:00:00Z', '2026-11-13T00:00:00Z', 3);
    // A committed re-attribution run moves sc-1 from alpha to beta: a -1 copy of its row and a +1 row owned by beta.
    const clickhouse = running.clickhouse!;
    const [row] = await clickhouse.query({
      name: 'test_row_in_force',
      sql: "SELECT * EXCEPT (inserted_at) FROM {db:Identifier}.usage_events_v1 WHERE event_id = 'sc-1'",
      schema: z.record(z.string(), z.unknown()),
    });
    const now = formatDateTime64(Date.now());
    await clickhouse.insert('test_reattribution', 'usage_events_v1', [
      { ...row, sign: -1, pricing_run: 900, priced_at: now },
      { ...row, team: 'beta', sign: 1, pricing_run: 900, priced_at: now },
    ]);
    await clickhouse.insert('test_reattribution_run', 'pricing_runs_v1', [
      { run_id: 900, kind: 'reattribute', status: 'committed', range_from: now, range_to: now, filters: '[]', price_version: 'x', policy_version: 'x', events_examined: 1, events_changed: 1, started_at: now, updated_at: now },
    ]);

    const scoped = await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`, SCOPED_READER);
    expect(scoped.map((event) => [event['event_id'], event['team']])).toEqual([['sc-3', 'alpha']]);
    const everyone = await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`);
    expect(everyone.map((event) => [event['event_id'], event['team']])).toEqual([
      ['sc-1', 'beta'],
      ['sc-2', 'beta'],
      ['sc-3', 'alpha'],
    ]);

    const scopedFocus = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`, SCOPED_READER);
    expect(scopedFocus.map((focus) => [focus['x_Team'], focus['SkuId'], focus['ConsumedQuantity']])).toEqual([
      ['alpha', 'openai/gpt-4o-mini/input', '3000'],
      ['alpha', 'openai/gpt-4o-mini/output', '300'],
    ]);
    const everyoneFocus = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`);
    expect(everyoneFocus.map((focus) => [focus['x_Team'], focus['SkuId'], focus['ConsumedQuantity']])).toEqual([
      ['alpha', 'openai/gpt-4o-mini/input', '3000'],
      ['alpha', 'openai/gpt-4o-mini/output', '300'],
      ['beta', 'openai/gpt-4o-mini/input', '3000'],
      ['beta', 'openai/gpt-4o-mini/output', '300'],
    ]);

    // Over the known mix too: only alpha's events, whatever the environment asked for.
    const mix = await ndjson('/v1/exports/events?from=2026-11-02T00:00:00Z&to=2026-11-04T00:00:00Z&format=ndjson&environment=all', SCOPED_READER);
    expect(mix.map((event) => event['event_id'])).toEqual(['mix-1', 'mix-3', 'mix-5', 'mix-2']);
  });
});

describe('exports of thousands of events', () => {
  const COUNT = 3000;
  const RANGE = 'from=2026-11-15T00:00:00Z&to=2026-11-16T00:00:00Z';
  const ids = Array.from({ length: COUNT }, (_, i) => `bulk-${String(i).padStart(4, '0')}`);

  beforeAll(async () => {
    const start = Date.UTC(2026, 10, 15);
    const events = ids.map((id, i) =>
      usageEventJson({
        event_id: id,
        // Three events sharing an instant every 30 s from midnight: 360 an hour, several pages of the small slices.
        occurred_at: new Date(start + Math.floor(i / 3) * 30_000).toISOString(),
        team: ['alpha', 'beta', 'gamma'][i % 3],
        user_id: `u${i % 10}`,
        input_tokens: 1000 + i,
        output_tokens: 100,
      }),
    );
    for (let at = 0; at < events.length; at += 1000) await post(events.slice(at, at + 1000));
    await stored('2026-11-15T00:00:00Z', '2026-11-16T00:00:00Z', COUNT);
  });

  it('arrives complete, each event once, in a stable order, however small the read slices', async () => {
    const whole = await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`);
    expect(whole).toHaveLength(COUNT);
    expect(new Set(whole.map((event) => event['event_id']))).toEqual(new Set(ids));

    const pieces = await csv(`/v1/exports/events?${RANGE}&format=csv`, TEST_TOKENS.reader, sliced);
    expect(pieces.rows).toHaveLength(COUNT);
    expect(pieces.rows.map((row) => row['event_id'])).toEqual(whole.map((event) => event['event_id']));
    expect(totalOf(pieces.rows, 'cost')).toBe(totalOf(whole, 'cost'));
  });

  it('streams over a real socket in chunks, and keeps serving after a client hangs up mid-file', async () => {
    const url = `${running.url}/v1/exports/events?${RANGE}&format=ndjson`;
    const response = await fetch(url, { headers: auth(TEST_TOKENS.reader) });
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="spendline-events-20261115T000000Z-20261116T000000Z.ndjson"');
    const lines = (await response.text()).split('\n').filter(Boolean);
    expect(lines).toHaveLength(COUNT);

    // A client that reads the first chunk and hangs up: the server stops reading ClickHouse and closes its side.
    await new Promise<void>((resolve, reject) => {
      const request = get(url, { headers: auth(TEST_TOKENS.reader) }, (answer) => {
        answer.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', (err) => (request.destroyed ? resolve() : reject(err)));
    });
    // The server is still serving exports afterwards.
    expect((await ndjson(`/v1/exports/events?${RANGE}&format=ndjson`)).length).toBe(COUNT);
  });

  it('is described at /docs with the parameters it validates', async () => {
    const document = (await running.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, { get: { parameters: { name: string; required: boolean }[] } }> } & Record<string, unknown>;
    expect(document['x-undocumented-routes']).toBeUndefined();
    expect(document.paths['/v1/exports/events']!.get.parameters.filter((p) => p.required).map((p) => p.name)).toEqual(['from', 'to']);
    expect(document.paths['/v1/exports/focus']!.get.parameters.map((p) => p.name)).toEqual(['from', 'to', 'format', 'environment', 'focus_version']);
  });

  it('writes the same FOCUS rows when a heavy day is read in parts', async () => {
    const whole = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`);
    const parts = await ndjson(`/v1/exports/focus?${RANGE}&format=ndjson`, TEST_TOKENS.reader, sliced);
    const sorted = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(row)).sort();
    expect(sorted(parts)).toEqual(sorted(whole));
    // 3 teams × 10 users, but team i % 3 and user i % 10 pair up in 30 owners; two SKUs each.
    expect(whole).toHaveLength(60);
    const input = whole.filter((row) => row['SkuMeter'] === 'Input Tokens');
    expect(String(input.reduce((total, row) => total + BigInt(String(row['ConsumedQuantity'])), 0n))).toBe(String(COUNT * 1000 + (COUNT * (COUNT - 1)) / 2));
    const report = await running.app.inject({ method: 'GET', url: `/v1/reports/cost?${RANGE}`, headers: auth(TEST_TOKENS.reader) });
    expect(report.json()).toMatchObject({ rows: [{ events: COUNT, cost: totalOf(whole, 'EffectiveCost') }] });
  });
});
