import { z } from 'zod';
import { formatDateTime64, parseClickHouseTime, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';
import { formatDecimal } from '../money/decimal.ts';
import { units, type LedgerRow } from './ledger-row.ts';

/**
 * Restatement of stored events, without losing what they said before: the
 * one mechanism behind repricing (new prices) and re-attribution (a new
 * attribution policy).
 *
 * A run takes the row in force for each event in range, asks the restatement
 * what the row should now be, and for every event that changes writes two
 * ledger rows under its own run id: a -1 copy of the row in force and a +1 row
 * with the new columns. Nothing counts until the run is recorded as committed
 * in pricing_runs_v1, so reports move from the old totals to the new ones at
 * one instant, and a run that dies half-way changes nothing (the next run marks
 * it abandoned). Re-running finds nothing to change: it is idempotent. One run
 * at a time, of either kind: two runs taking the same row in force would both
 * cancel it.
 */

export type RestatementKind = 'reprice' | 'reattribute';

/** Columns a restatement may narrow its run to. */
export const RESTATEMENT_FILTERS = ['provider', 'model', 'gateway_id', 'team', 'environment', 'api_key_id'] as const;
export type RestatementFilter = (typeof RESTATEMENT_FILTERS)[number];

export interface RestatementRequest {
  /** Inclusive start of occurred_at, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Only events whose stored column equals the value. */
  readonly filters?: Partial<Record<RestatementFilter, string | undefined>>;
  /** Compute and report, write nothing. */
  readonly dryRun?: boolean | undefined;
}

export interface Restatement {
  readonly kind: RestatementKind;
  /** Catalog and contracts version the run prices with. */
  readonly priceVersion: string;
  /** Attribution policy version (reattribute runs). */
  readonly policyVersion: string;
  /** The columns that change for a row in force, or null when it stays as it is. */
  restate(row: LedgerRow): Record<string, unknown> | null;
}

export interface RestatementSummary {
  readonly run_id: number | null;
  readonly kind: RestatementKind;
  readonly status: 'committed' | 'dry_run';
  readonly price_version: string;
  readonly events_examined: number;
  readonly events_changed: number;
  /** Effective cost of the changed events before and after, exact decimal strings. */
  readonly cost_before: string;
  readonly cost_after: string;
}

export class RestatementBusyError extends Error {
  constructor(runId: number, kind: string) {
    super(`${kind} run ${runId} is still running; wait for it to finish`);
    this.name = 'RestatementBusyError';
  }
}

/** A run that has not moved for this long is taken to have died. */
const STALE_RUN_MS = 10 * 60 * 1000;
/** Events are read an hour of occurred_at at a time, the table's sort prefix. */
const SLICE_MS = 60 * 60 * 1000;
const INSERT_ROWS = 5_000;

const runRow = z.object({ run_id: z.coerce.number(), kind: z.string(), status: z.string(), updated_at: z.string() });
const maxRow = z.object({ last: z.coerce.number() });
const ledgerRow = z.record(z.string(), z.unknown());

export async function runRestatement(clickhouse: ClickHouse, restatement: Restatement, request: RestatementRequest, log: Logger): Promise<RestatementSummary> {
  const dryRun = request.dryRun ?? false;
  const runId = dryRun ? null : await claimRun(clickhouse, restatement, request, log);
  const counts = { examined: 0, changed: 0, before: 0n, after: 0n };
  try {
    for (const hour of await hoursWithUsage(clickhouse, request)) {
      const rows = await rowsInForce(clickhouse, { ...request, from: Math.max(request.from, hour), to: Math.min(request.to, hour + SLICE_MS) });
      const writes: LedgerRow[] = [];
      const now = formatDateTime64(Date.now());
      for (const row of rows) {
        counts.examined += 1;
        const changes = restatement.restate(row);
        if (changes === null) continue;
        counts.changed += 1;
        counts.before += units(row['cost']);
        counts.after += units(changes['cost'] ?? row['cost']);
        if (runId !== null) {
          writes.push({ ...row, sign: -1, pricing_run: runId, priced_at: now }, { ...row, ...changes, sign: 1, pricing_run: runId, priced_at: now });
        }
      }
      for (let at = 0; at < writes.length; at += INSERT_ROWS) {
        await clickhouse.insert(`${restatement.kind}_rows`, 'usage_events_v1', writes.slice(at, at + INSERT_ROWS));
      }
    }
    if (runId !== null) await recordRun(clickhouse, runId, 'committed', restatement, request, counts);
  } catch (err) {
    if (runId !== null) await recordRun(clickhouse, runId, 'abandoned', restatement, request, counts).catch(() => {});
    throw err;
  }
  log.info({ runId, kind: restatement.kind, dryRun, ...counts, before: String(counts.before), after: String(counts.after) }, 'restatement done');
  return {
    run_id: runId,
    kind: restatement.kind,
    status: dryRun ? 'dry_run' : 'committed',
    price_version: restatement.priceVersion,
    events_examined: counts.examined,
    events_changed: counts.changed,
    cost_before: formatDecimal(counts.before),
    cost_after: formatDecimal(counts.after),
  };
}

/** Takes the next run id, after checking no other run is alive and retiring dead ones. */
async function claimRun(clickhouse: ClickHouse, restatement: Restatement, request: RestatementRequest, log: Logger): Promise<number> {
  const running = await clickhouse.query({
    name: 'running_restatements',
    sql: "SELECT run_id, kind, status, toString(updated_at) AS updated_at FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'running'",
    schema: runRow,
  });
  for (const run of running) {
    if (Date.now() - parseClickHouseTime(run.updated_at) < STALE_RUN_MS) throw new RestatementBusyError(run.run_id, run.kind);
    log.warn({ runId: run.run_id, kind: run.kind }, 'retiring a restatement run that stopped without finishing; its rows never counted');
    await recordRun(clickhouse, run.run_id, 'abandoned', restatement, request, { examined: 0, changed: 0 });
  }
  const [last] = await clickhouse.query({ name: 'last_restatement', sql: 'SELECT max(run_id) AS last FROM {db:Identifier}.pricing_runs_v1', schema: maxRow });
  const runId = (last?.last ?? 0) + 1;
  await recordRun(clickhouse, runId, 'running', restatement, request, { examined: 0, changed: 0 });
  return runId;
}

async function recordRun(
  clickhouse: ClickHouse,
  runId: number,
  status: 'running' | 'committed' | 'abandoned',
  restatement: Restatement,
  request: RestatementRequest,
  counts: { examined: number; changed: number },
): Promise<void> {
  const now = formatDateTime64(Date.now());
  await clickhouse.insert('record_restatement', 'pricing_runs_v1', [
    {
      run_id: runId,
      kind: restatement.kind,
      status,
      range_from: formatDateTime64(request.from),
      range_to: formatDateTime64(request.to),
      filters: JSON.stringify(activeFilters(request)),
      price_version: restatement.priceVersion,
      policy_version: restatement.policyVersion,
      events_examined: counts.examined,
      events_changed: counts.changed,
      started_at: now,
      updated_at: now,
    },
  ]);
}

function activeFilters(request: RestatementRequest): [RestatementFilter, string][] {
  return RESTATEMENT_FILTERS.flatMap((column) => {
    const value = request.filters?.[column];
    return value === undefined ? [] : [[column, value] as [RestatementFilter, string]];
  });
}

/** Conditions and parameters for a range and its filters; column names come from RESTATEMENT_FILTERS only. */
function rangeCondition(request: RestatementRequest): { range: string; filters: string; params: Record<string, unknown> } {
  const filters = activeFilters(request);
  return {
    range: "occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    filters: filters.map(([column]) => `${column} = {filter_${column}:String}`).join(' AND ') || '1',
    params: {
      from: formatDateTime64(request.from),
      to: formatDateTime64(request.to),
      ...Object.fromEntries(filters.map(([column, value]) => [`filter_${column}`, value])),
    },
  };
}

const hourRow = z.object({ hour: z.string() });

/** The hours of the range that hold any usage, so an empty month costs one query, not 720. */
async function hoursWithUsage(clickhouse: ClickHouse, request: RestatementRequest): Promise<number[]> {
  const { range, filters, params } = rangeCondition(request);
  const rows = await clickhouse.query({
    name: 'restatement_hours',
    sql: `SELECT DISTINCT toString(toStartOfHour(occurred_at)) AS hour FROM {db:Identifier}.usage_costs_v1 WHERE ${range} AND ${filters} ORDER BY hour`,
    params,
    schema: hourRow,
  });
  return rows.map((row) => parseClickHouseTime(row.hour));
}

/**
 * The row in force of each event in the slice (its latest +1 row among
 * committed runs), then the filters: an event re-attributed away from a team
 * still has an older, cancelled row with that team, which must not match.
 */
async function rowsInForce(clickhouse: ClickHouse, request: RestatementRequest): Promise<LedgerRow[]> {
  const { range, filters, params } = rangeCondition(request);
  return clickhouse.query({
    name: 'rows_in_force',
    sql: [
      'SELECT * FROM (',
      '  SELECT * EXCEPT (inserted_at) FROM {db:Identifier}.usage_costs_v1',
      `  WHERE ${range} AND sign = 1`,
      '  ORDER BY event_id, pricing_run DESC',
      '  LIMIT 1 BY event_id',
      `) WHERE ${filters}`,
    ].join('\n'),
    params,
    schema: ledgerRow,
  });
}
