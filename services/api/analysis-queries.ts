import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { BuiltQuery } from './cost-report-query.ts';
import { rollupView } from './cost-report-query.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for the analysis reports (unit economics, movers, forecast). All read
 * an hourly rollup in force (sums already × sign): the one without users
 * unless users are asked about; so their ranges are whole hours. Dimensions
 * come from a closed list.
 */

export const ANALYSIS_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'provider', 'model', 'user_id'] as const;
export type AnalysisDimension = (typeof ANALYSIS_DIMENSIONS)[number];

const RANGE = "hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}";

function params(range: { from: number; to: number }, scope: ScopeCondition, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { from: formatDateTime64(range.from), to: formatDateTime64(range.to), ...scope.params, ...extra };
}

function only(dimension: AnalysisDimension): AnalysisDimension {
  if (!ANALYSIS_DIMENSIONS.includes(dimension)) throw new Error(`not an analysis dimension: ${String(dimension)}`);
  return dimension;
}

/**
 * Per group: cost, requests, tokens, and active users (users with a request in
 * force in the range). A user counts in a group only if their requests there
 * do not cancel out (a re-attributed user moved to another group).
 */
export function buildUnitEconomicsQuery(request: { from: number; to: number; by: AnalysisDimension; scope: ScopeCondition }): BuiltQuery {
  const by = only(request.by);
  const inner = by === 'user_id' ? 'user_id' : `${by}, user_id`;
  const sql = [
    `SELECT ${by === 'user_id' ? 'user_id AS group_key' : `${by} AS group_key`},`,
    '  toString(sum(user_cost)) AS total_cost, sum(user_events) AS total_events,',
    '  sum(user_input_tokens) AS total_input_tokens, sum(user_output_tokens) AS total_output_tokens,',
    "  countIf(user_id != '' AND user_events != 0) AS active_users",
    'FROM (',
    `  SELECT ${inner}, sum(cost) AS user_cost, sum(events) AS user_events, sum(input_tokens) AS user_input_tokens, sum(output_tokens) AS user_output_tokens`,
    '  FROM {db:Identifier}.usage_hourly_costs_v1',
    `  WHERE ${RANGE} AND ${request.scope.sql}`,
    `  GROUP BY ${inner}`,
    ')',
    'GROUP BY group_key',
    'HAVING total_events != 0',
    'ORDER BY sum(user_cost) DESC, group_key',
  ].join('\n');
  return { sql, params: params(request, request.scope) };
}

/**
 * Cost per group and per driver value in two periods: the base of the
 * movers report (the change per group, and which driver — model, feature,
 * user — made it).
 */
export function buildMoversQuery(request: {
  current: { from: number; to: number };
  previous: { from: number; to: number };
  by: AnalysisDimension;
  driver: AnalysisDimension;
  scope: ScopeCondition;
}): BuiltQuery {
  const by = only(request.by);
  const driver = only(request.driver);
  const inCurrent = "hour >= {current_from:DateTime64(3, 'UTC')} AND hour < {current_to:DateTime64(3, 'UTC')}";
  const inPrevious = "hour >= {previous_from:DateTime64(3, 'UTC')} AND hour < {previous_to:DateTime64(3, 'UTC')}";
  const sql = [
    `SELECT ${by} AS group_key, ${driver} AS driver_key,`,
    `  toString(sumIf(cost, ${inCurrent})) AS current_cost, toString(sumIf(cost, ${inPrevious})) AS previous_cost,`,
    `  sumIf(events, ${inCurrent}) AS current_events, sumIf(events, ${inPrevious}) AS previous_events`,
    `FROM {db:Identifier}.${rollupView([by, driver])}`,
    `WHERE ((${inCurrent}) OR (${inPrevious})) AND ${request.scope.sql}`,
    'GROUP BY group_key, driver_key',
    'ORDER BY group_key, driver_key',
  ].join('\n');
  return {
    sql,
    params: {
      current_from: formatDateTime64(request.current.from),
      current_to: formatDateTime64(request.current.to),
      previous_from: formatDateTime64(request.previous.from),
      previous_to: formatDateTime64(request.previous.to),
      ...request.scope.params,
    },
  };
}

/** Cost per group and local calendar day over [from, to), for run-rate forecasts. */
export function buildDailyCostQuery(request: { from: number; to: number; by: AnalysisDimension | null; timezone: string; scope: ScopeCondition }): BuiltQuery {
  const by = request.by === null ? null : only(request.by);
  const sql = [
    `SELECT ${by ? `${by} AS group_key` : "'' AS group_key"}, toString(toDate(hour, {tz:String})) AS local_day, toString(sum(cost)) AS day_cost`,
    `FROM {db:Identifier}.${rollupView(by ? [by] : [])}`,
    `WHERE ${RANGE} AND ${request.scope.sql}`,
    'GROUP BY group_key, local_day',
    'ORDER BY group_key, local_day',
  ].join('\n');
  return { sql, params: params(request, request.scope, { tz: request.timezone }) };
}
