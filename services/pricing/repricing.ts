import { z } from 'zod';
import { formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { UsageEventRecord } from '../events/usage-event.ts';
import type { Logger } from '../logging/logger.ts';
import { formatDecimal, parseDecimal } from '../money/decimal.ts';
import { pricingColumns } from '../sink/usage-row.ts';
import { priceUsageEvent, type EventPricing } from './price-usage-event.ts';
import type { PricingEngine } from './pricing-engine.ts';

/**
 * Restatement: recompute the cost of stored events with the prices in force
 * now (a new catalog, a changed contract), without losing what they cost before.
 *
 * A run takes the row in force for each event in range, prices the event
 * again, and for every event whose cost changes writes two ledger rows under
 * its own run id: a -1 copy of the row in force and a +1 row with the new
 * cost. Nothing counts until the run is recorded as committed, so reports
 * move from the old totals to the new ones at one instant, and a run that
 * dies half-way changes nothing (it is marked abandoned by the next run).
 * Re-running finds nothing to change: it is idempotent. One run at a time.
 */

export interface RepriceRequest {
  /** Inclusive start of occurred_at, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  readonly provider?: string | undefined;
  readonly model?: string | undefined;
  /** Compute and report, write nothing. */
  readonly dryRun?: boolean | undefined;
}

export interface RepriceSummary {
  readonly run_id: number | null;
  readonly status: 'committed' | 'dry_run';
  readonly price_version: string;
  readonly events_examined: number;
  readonly events_changed: number;
  /** Effective cost of the changed events before and after, exact decimal strings. */
  readonly cost_before: string;
  readonly cost_after: string;
}

export class RepriceBusyError extends Error {
  constructor(runId: number) {
    super(`repricing run ${runId} is still running; wait for it to finish`);
    this.name = 'RepriceBusyError';
  }
}

/** A run that has not moved for this long is taken to have died. */
const STALE_RUN_MS = 10 * 60 * 1000;
/** Events are read an hour of occurred_at at a time, the table's sort prefix. */
const SLICE_MS = 60 * 60 * 1000;
const INSERT_ROWS = 5_000;

const runRow = z.object({ run_id: z.coerce.number(), status: z.string(), updated_at: z.string() });
const maxRow = z.object({ last: z.coerce.number() });
/** A stored ledger row: every column, as JSONEachRow gives it back. */
const ledgerRow = z.record(z.string(), z.unknown());

export async function reprice(clickhouse: ClickHouse, engine: PricingEngine, request: RepriceRequest, log: Logger): Promise<RepriceSummary> {
  const dryRun = request.dryRun ?? false;
  const runId = dryRun ? null : await claimRun(clickhouse, request, engine, log);
  const counts = { examined: 0, changed: 0, before: 0n, after: 0n };
  try {
    for (const hour of await hoursWithUsage(clickhouse, request)) {
      const start = Math.max(request.from, hour);
      const end = Math.min(request.to, hour + SLICE_MS);
      const rows = await rowsInForce(clickhouse, start, end, request);
      const writes: Record<string, unknown>[] = [];
      for (const row of rows) {
        counts.examined += 1;
        const priced = priceUsageEvent(engine, toEventRecord(row));
        if (!costChanged(row, priced)) continue;
        counts.changed += 1;
        counts.before += units(row['cost']);
        counts.after += units(priced.cost);
        if (runId !== null) writes.push(...correction(row, priced, runId));
      }
      for (let at = 0; at < writes.length; at += INSERT_ROWS) {
        await clickhouse.insert('reprice_rows', 'usage_events_v1', writes.slice(at, at + INSERT_ROWS));
      }
    }
    if (runId !== null) await recordRun(clickhouse, runId, 'committed', request, engine, counts);
  } catch (err) {
    if (runId !== null) await recordRun(clickhouse, runId, 'abandoned', request, engine, counts).catch(() => {});
    throw err;
  }
  log.info({ runId, dryRun, ...counts, before: String(counts.before), after: String(counts.after) }, 'repricing done');
  return {
    run_id: runId,
    status: dryRun ? 'dry_run' : 'committed',
    price_version: engine.catalog.version,
    events_examined: counts.examined,
    events_changed: counts.changed,
    cost_before: formatDecimal(counts.before),
    cost_after: formatDecimal(counts.after),
  };
}

/** Takes the next run id, after checking no other run is alive and retiring dead ones. */
async function claimRun(clickhouse: ClickHouse, request: RepriceRequest, engine: PricingEngine, log: Logger): Promise<number> {
  const running = await clickhouse.query({
    name: 'running_pricing_runs',
    sql: "SELECT run_id, status, toString(updated_at) AS updated_at FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'running'",
    schema: runRow,
  });
  for (const run of running) {
    if (Date.now() - Date.parse(`${run.updated_at.replace(' ', 'T')}Z`) < STALE_RUN_MS) throw new RepriceBusyError(run.run_id);
    log.warn({ runId: run.run_id }, 'retiring a repricing run that stopped without finishing; its rows never counted');
    await recordRun(clickhouse, run.run_id, 'abandoned', request, engine, { examined: 0, changed: 0 });
  }
  const [last] = await clickhouse.query({ name: 'last_pricing_run', sql: 'SELECT max(run_id) AS last FROM {db:Identifier}.pricing_runs_v1', schema: maxRow });
  const runId = (last?.last ?? 0) + 1;
  await recordRun(clickhouse, runId, 'running', request, engine, { examined: 0, changed: 0 });
  return runId;
}

async function recordRun(
  clickhouse: ClickHouse,
  runId: number,
  status: 'running' | 'committed' | 'abandoned',
  request: RepriceRequest,
  engine: PricingEngine,
  counts: { examined: number; changed: number },
): Promise<void> {
  const now = formatDateTime64(Date.now());
  await clickhouse.insert('record_pricing_run', 'pricing_runs_v1', [
    {
      run_id: runId,
      status,
      range_from: formatDateTime64(request.from),
      range_to: formatDateTime64(request.to),
      filters: JSON.stringify({ provider: request.provider ?? null, model: request.model ?? null }),
      price_version: `${engine.catalog.version}+${engine.contracts.version}`,
      events_examined: counts.examined,
      events_changed: counts.changed,
      started_at: now,
      updated_at: now,
    },
  ]);
}

const hourRow = z.object({ hour: z.string() });

/** The hours of the range that hold any usage, so an empty month costs one query, not 720. */
async function hoursWithUsage(clickhouse: ClickHouse, request: RepriceRequest): Promise<number[]> {
  const rows = await clickhouse.query({
    name: 'reprice_hours',
    sql: [
      'SELECT DISTINCT toString(toStartOfHour(occurred_at)) AS hour FROM {db:Identifier}.usage_costs_v1',
      "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
      ...(request.provider ? ['AND provider = {provider:String}'] : []),
      ...(request.model ? ['AND model = {model:String}'] : []),
      'ORDER BY hour',
    ].join('\n'),
    params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to), provider: request.provider, model: request.model },
    schema: hourRow,
  });
  return rows.map((row) => Date.parse(`${row.hour.replace(' ', 'T')}Z`));
}

/** The row in force of each event in the slice: its latest +1 row among committed runs. */
async function rowsInForce(clickhouse: ClickHouse, from: number, to: number, request: RepriceRequest): Promise<Record<string, unknown>[]> {
  const filters = [
    ...(request.provider ? ['provider = {provider:String}'] : []),
    ...(request.model ? ['model = {model:String}'] : []),
  ];
  return clickhouse.query({
    name: 'rows_in_force',
    sql: [
      'SELECT * EXCEPT (inserted_at) FROM {db:Identifier}.usage_costs_v1',
      "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')} AND sign = 1",
      ...filters.map((filter) => `AND ${filter}`),
      'ORDER BY event_id, pricing_run DESC',
      'LIMIT 1 BY event_id',
    ].join('\n'),
    params: { from: formatDateTime64(from), to: formatDateTime64(to), provider: request.provider, model: request.model },
    schema: ledgerRow,
  });
}

/** The usage facts of a stored row, as the pricing engine reads an event. */
function toEventRecord(row: Record<string, unknown>): UsageEventRecord {
  const text = (key: string) => String(row[key] ?? '');
  const optional = (key: string) => (text(key) === '' ? null : text(key));
  const count = (key: string) => Number(row[key] ?? 0);
  return {
    event_id: text('event_id'),
    occurred_at: Date.parse(`${text('occurred_at').replace(' ', 'T')}Z`),
    provider: text('provider'),
    model: text('model'),
    api_flavor: optional('api_flavor'),
    operation: text('operation') as UsageEventRecord['operation'],
    input_tokens: count('input_tokens'),
    output_tokens: count('output_tokens'),
    cache_read_tokens: count('cache_read_tokens'),
    cache_write_tokens: count('cache_write_tokens'),
    reasoning_tokens: count('reasoning_tokens'),
    input_audio_tokens: count('input_audio_tokens'),
    cache_audio_read_tokens: count('cache_audio_read_tokens'),
    output_audio_tokens: count('output_audio_tokens'),
    provider_usage: optional('provider_usage'),
    latency_ms: row['latency_ms'] === null ? null : count('latency_ms'),
    ttft_ms: row['ttft_ms'] === null ? null : count('ttft_ms'),
    status: text('status') as UsageEventRecord['status'],
    error_code: optional('error_code'),
    team: optional('team'),
    feature: optional('feature'),
    environment: optional('environment'),
    user_id: optional('user_id'),
    session_id: optional('session_id'),
    agent_run_id: optional('agent_run_id'),
    api_key_id: optional('api_key_id'),
    tags: (row['tags'] as Record<string, string>) ?? {},
    gateway_id: optional('gateway_id'),
    reported_cost: row['reported_cost'] === null ? null : text('reported_cost'),
  };
}

function costChanged(row: Record<string, unknown>, priced: EventPricing): boolean {
  const breakdown = (row['cost_breakdown'] as Record<string, string>) ?? {};
  const classes = new Set([...Object.keys(breakdown), ...Object.keys(priced.cost_breakdown)]);
  return (
    units(row['cost']) !== units(priced.cost) ||
    units(row['list_cost']) !== units(priced.list_cost) ||
    row['cost_status'] !== priced.cost_status ||
    String(row['catalog_model']) !== priced.catalog_model ||
    String(row['contract_id']) !== (priced.contract_id ?? '') ||
    [...classes].some((cls) => units(breakdown[cls]) !== units(priced.cost_breakdown[cls]))
  );
}

/** The two ledger rows that move an event from its row in force to its new cost. */
function correction(row: Record<string, unknown>, priced: EventPricing, runId: number): Record<string, unknown>[] {
  const now = formatDateTime64(Date.now());
  return [
    { ...row, sign: -1, pricing_run: runId, priced_at: now },
    { ...row, ...pricingColumns(priced), sign: 1, pricing_run: runId, priced_at: now },
  ];
}

function units(value: unknown): bigint {
  if (value === undefined || value === null) return 0n;
  const parsed = parseDecimal(String(value));
  return parsed.ok ? parsed.units : 0n;
}
