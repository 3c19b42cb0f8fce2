import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for GET /v1/reports/cost, built from a closed list of dimensions: the
 * only text that varies is a column name taken from COST_DIMENSIONS (or a
 * generated alias for a tag); every value — tag keys included — is a bound
 * parameter.
 */

export const COST_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'model', 'provider', 'user_id', 'api_key_id', 'gateway_id'] as const;
export type CostDimension = (typeof COST_DIMENSIONS)[number];
/** A column dimension, or a free tag as tag:<key>. */
export type ReportDimension = CostDimension | `tag:${string}`;

export const isTagDimension = (dimension: string): dimension is `tag:${string}` => dimension.startsWith('tag:');

/** The result column of the index-th group-by dimension. */
export function dimensionAlias(dimension: ReportDimension, index: number): string {
  return isTagDimension(dimension) ? `tag_${index}` : dimension;
}

/** Each dimension's SQL expression (a column, or the tag's value by bound key) and result alias. */
function dimensionExpressions(dimensions: readonly ReportDimension[], params: Record<string, unknown>, prefix: string): { expression: string; alias: string; dimension: ReportDimension }[] {
  return dimensions.flatMap((dimension, index): { expression: string; alias: string; dimension: ReportDimension }[] => {
    if (isTagDimension(dimension)) {
      params[`${prefix}_key_${index}`] = dimension.slice(4);
      return [{ expression: `tags[{${prefix}_key_${index}:String}]`, alias: `${prefix}_${index}`, dimension }];
    }
    return COST_DIMENSIONS.includes(dimension) ? [{ expression: dimension, alias: dimension, dimension }] : [];
  });
}

export const GRANULARITIES = ['hour', 'day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

export interface CostReportRequest {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  readonly groupBy: readonly ReportDimension[];
  /** Only rows whose dimension has one of the values (an empty list: no filter on it). */
  readonly filters?: Readonly<Partial<Record<ReportDimension, readonly string[]>>> | undefined;
  /** Which environments count (see environment-scope.ts). */
  readonly scope: ScopeCondition;
  /** A time series of this period length, or totals over the range when absent. */
  readonly granularity?: Granularity | undefined;
  /** IANA zone whose calendar the periods follow (days start at local midnight, weeks on Monday). */
  readonly timezone?: string | undefined;
  /** Whether the zone is a whole number of hours from UTC at both ends of the range (so hourly rollups split into its days). */
  readonly wholeHourZone?: boolean | undefined;
}

/** Start of the period holding `column`, as a DateTime in the report's zone (bound as {tz:String}). */
function periodStart(granularity: Granularity, column: string): string {
  switch (granularity) {
    case 'hour':
      return `toStartOfHour(${column}, {tz:String})`;
    case 'day':
      return `toStartOfDay(${column}, {tz:String})`;
    // toStartOfWeek and toStartOfMonth give a Date; as a DateTime in the zone it is local midnight.
    case 'week':
      return `toDateTime(toStartOfWeek(${column}, 1, {tz:String}), {tz:String})`;
    case 'month':
      return `toDateTime(toStartOfMonth(${column}, {tz:String}), {tz:String})`;
  }
}

export interface BuiltQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

/** Dimensions the hourly rollup with users (usage_hourly_v1, sql/004) keeps (no tags, keys or gateways). */
export const ROLLUP_DIMENSIONS: readonly ReportDimension[] = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'model', 'provider', 'user_id'];
/** Dimensions the hourly owner rollup (usage_hourly_owner_v1, sql/006) keeps: the same without the user. */
export const OWNER_ROLLUP_DIMENSIONS: readonly ReportDimension[] = ROLLUP_DIMENSIONS.filter((dimension) => dimension !== 'user_id');

/**
 * The smallest hourly rollup (its view of the runs in force) that keeps every
 * dimension a report groups or filters by; null when only the events do.
 * Row-access and environment conditions name team, tenant_id and environment,
 * which both rollups keep.
 */
export function rollupView(dimensions: readonly ReportDimension[]): string | null {
  if (dimensions.every((dimension) => OWNER_ROLLUP_DIMENSIONS.includes(dimension))) return 'usage_hourly_owner_costs_v1';
  if (dimensions.every((dimension) => ROLLUP_DIMENSIONS.includes(dimension))) return 'usage_hourly_costs_v1';
  return null;
}
const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Whether the hourly rollup answers the request exactly: every dimension is
 * one it keeps and the range is whole UTC hours. Otherwise the events are read.
 */
export function rollupAnswers(request: CostReportRequest): string | null {
  const periodsFitHours = request.granularity === undefined || request.granularity === 'hour' || (request.wholeHourZone ?? (request.timezone ?? 'UTC') === 'UTC');
  const filtered = Object.keys(request.filters ?? {}) as ReportDimension[];
  if (request.from % HOUR_MS !== 0 || request.to % HOUR_MS !== 0 || !periodsFitHours) return null;
  const view = rollupView([...request.groupBy, ...filtered]);
  // Whole UTC days, and periods (if any) of UTC days: the daily rollup has 24 times fewer rows.
  const periodsFitDays = request.granularity === undefined || (request.granularity !== 'hour' && (request.timezone ?? 'UTC') === 'UTC');
  if (view === 'usage_hourly_owner_costs_v1' && request.from % DAY_MS === 0 && request.to % DAY_MS === 0 && periodsFitDays) return 'usage_daily_owner_costs_v1';
  return view;
}

export function buildCostReportQuery(request: CostReportRequest): BuiltQuery {
  const rollup = rollupAnswers(request);
  const params: Record<string, unknown> = {};
  const grouped = dimensionExpressions(request.groupBy, params, 'tag');
  const dimensions = grouped.map(({ expression, alias }) => (expression === alias ? alias : `${expression} AS ${alias}`));
  const keys = grouped.map(({ alias }) => alias);
  const filterEntries = Object.entries(request.filters ?? {}).filter(([, values]) => values && values.length > 0) as [ReportDimension, readonly string[]][];
  const filters = dimensionExpressions(filterEntries.map(([dimension]) => dimension), params, 'filter').map(({ expression }, index) => {
    params[`filter_values_${index}`] = filterEntries[index]![1];
    return `${expression} IN {filter_values_${index}:Array(String)}`;
  });
  // Rows in force only (the *_costs_v1 views). Events carry their sign (a repriced event has a
  // cancelled row, -1, beside the one in force); the rollup already holds value × sign sums.
  // Aggregates get names unlike any column: a ClickHouse alias shadows the column it is named after.
  const measure = (column: string) => (rollup ? `sum(${column})` : `sum(${column} * sign)`);
  const period = request.granularity ? periodStart(request.granularity, rollup ? 'hour' : 'occurred_at') : null;
  const select = [
    ...(period ? [`toUnixTimestamp(${period}) AS period_epoch`] : []),
    ...dimensions,
    `toString(${measure('cost')}) AS total_cost`,
    `toString(${measure('list_cost')}) AS total_list_cost`,
    `${rollup ? 'sum(events)' : 'sum(sign)'} AS total_events`,
    `${measure('input_tokens')} AS total_input_tokens`,
    `${measure('output_tokens')} AS total_output_tokens`,
    `${rollup ? 'sum(unpriced_events)' : "sumIf(sign, cost_status = 'unpriced')"} AS total_unpriced_events`,
  ];
  const sql = [
    `SELECT ${select.join(', ')}`,
    `FROM {db:Identifier}.${rollup ?? 'usage_costs_v1'}`,
    rollup
      ? "WHERE hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}"
      : "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    `  AND ${request.scope.sql}`,
    ...filters.map((filter) => `  AND ${filter}`),
    ...(period || keys.length > 0
      ? [
          `GROUP BY ${[...(period ? ['period_epoch'] : []), ...keys].join(', ')}`,
          `HAVING ${rollup ? 'sum(events)' : 'sum(sign)'} != 0`,
          // A series reads in time order; within a period (or without one), the largest cost first.
          `ORDER BY ${[...(period ? ['period_epoch'] : []), `${measure('cost')} DESC`, ...keys].join(', ')}`,
        ]
      : []),
  ].join('\n');
  return {
    sql,
    params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to), ...(period ? { tz: request.timezone ?? 'UTC' } : {}), ...params, ...request.scope.params },
  };
}
