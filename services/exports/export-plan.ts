import { z } from 'zod';
import { formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { ScopeCondition } from '../api/environment-scope.ts';
import { FOCUS_GROUP_COLUMNS, focusGroupsPerRead } from './focus-groups.ts';

/**
 * How an export reads a long range in bounded pieces. One small query first
 * measures each hour (event export: stored rows) or day (FOCUS: owner and
 * model groups) of the range and scope; consecutive periods are then packed
 * into slices of at most `sliceRows`, so a quiet year costs a few queries and
 * a busy hour is read on its own. Memory is bounded by one read's rows, never
 * by the range.
 */

export interface ExportLimits {
  /** Most rows one ClickHouse read returns into memory (an event page; a FOCUS slice or part of a day). */
  readonly sliceRows: number;
  /** Rows encoded into one chunk of the reply stream. */
  readonly chunkRows: number;
  /** Longest range one export covers, in days. */
  readonly maxRangeDays: number;
}

export const DEFAULT_EXPORT_LIMITS: ExportLimits = { sliceRows: 10_000, chunkRows: 500, maxRangeDays: 366 };

export interface ExportRange {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Environment scope narrowed to the caller's rows (withAccess), added to every query. */
  readonly scope: ScopeCondition;
}

export interface BuiltQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

export const PLAN_PERIODS = { hour: 60 * 60 * 1000, day: 24 * 60 * 60 * 1000 } as const;
export type PlanPeriod = keyof typeof PLAN_PERIODS;

/**
 * What each plan measures per period, and how much of it one read may hold.
 * The event export reads hours, measured in stored rows (either sign: an upper
 * bound of the events a page returns). FOCUS reads days, measured in
 * owner-and-model groups (uniq: an estimate), each up to one row per SKU class.
 */
const PLANS: Readonly<Record<PlanPeriod, { readonly start: string; readonly measure: string; readonly perRead: (sliceRows: number) => number }>> = {
  hour: { start: 'toStartOfHour(occurred_at)', measure: 'count()', perRead: (sliceRows) => sliceRows },
  day: { start: 'toStartOfDay(occurred_at)', measure: `uniq(${FOCUS_GROUP_COLUMNS.join(', ')})`, perRead: focusGroupsPerRead },
};

/** The range condition every export query starts from: occurred_at in [from, to), bound as UTC DateTime64. */
export const RANGE_CONDITION = "occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}";

export function rangeParams(range: { from: number; to: number }): Record<string, string> {
  return { from: formatDateTime64(range.from), to: formatDateTime64(range.to) };
}

/**
 * The plan's measure of each UTC period in the range and scope. The scope is
 * tested on every stored row, so a period holding an event in force in the
 * scope is never left out.
 */
export function buildPlanQuery(range: ExportRange, period: PlanPeriod): BuiltQuery {
  return {
    sql: [
      `SELECT toUnixTimestamp(${PLANS[period].start}) AS period_epoch, ${PLANS[period].measure} AS row_count`,
      'FROM {db:Identifier}.usage_costs_v1',
      `WHERE ${RANGE_CONDITION}`,
      `  AND ${range.scope.sql}`,
      'GROUP BY period_epoch',
      'ORDER BY period_epoch',
    ].join('\n'),
    params: { ...rangeParams(range), ...range.scope.params },
  };
}

export interface PeriodCount {
  /** Start of the UTC period, epoch ms. */
  readonly start: number;
  readonly rows: number;
}

export interface ExportSlice {
  /** Inclusive start, epoch ms (whole periods, clipped to the range). */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** What the plan measured in the slice: stored rows (event export) or owner-and-model groups (FOCUS). */
  readonly rows: number;
}

/**
 * Packs periods (in time order) into slices of whole periods measuring at
 * most `perSlice`; a period measuring more is a slice of its own. Empty
 * periods between packed ones hold nothing and cost nothing.
 */
export function planSlices(counts: readonly PeriodCount[], period: PlanPeriod, range: { from: number; to: number }, perSlice: number): ExportSlice[] {
  const slices: ExportSlice[] = [];
  let open: { from: number; to: number; rows: number } | null = null;
  for (const count of counts) {
    const end = count.start + PLAN_PERIODS[period];
    if (open !== null && open.rows + count.rows <= perSlice) {
      open = { from: open.from, to: end, rows: open.rows + count.rows };
      continue;
    }
    if (open !== null) slices.push(open);
    open = { from: count.start, to: end, rows: count.rows };
  }
  if (open !== null) slices.push(open);
  return slices.map((slice) => ({ from: Math.max(slice.from, range.from), to: Math.min(slice.to, range.to), rows: slice.rows }));
}

const periodCount = z.object({ period_epoch: z.coerce.number(), row_count: z.coerce.number() });

/**
 * The slices of the range to read, each holding at most what one read may
 * (`sliceRows` rows: events, or FOCUS groups times their SKUs); a busier
 * period is a slice of its own, read in pages (events) or parts (FOCUS). Run
 * before the reply starts, so a ClickHouse failure here still answers 500
 * rather than a cut file.
 */
export async function planExport(clickhouse: ClickHouse, range: ExportRange, period: PlanPeriod, sliceRows: number): Promise<ExportSlice[]> {
  const plan = buildPlanQuery(range, period);
  const counts = await clickhouse.query({ name: `export_plan_${period}`, sql: plan.sql, params: plan.params, schema: periodCount });
  return planSlices(counts.map((count) => ({ start: count.period_epoch * 1000, rows: count.row_count })), period, range, PLANS[period].perRead(sliceRows));
}
