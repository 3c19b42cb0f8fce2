import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import { CHARGEBACK_DIMENSIONS, type ChargebackDimension } from '../chargeback/allocation-rules.ts';
import type { BuiltQuery } from './cost-report-query.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for the direct costs of a chargeback: per owner (team, cost center,
 * tenant or feature; '' = unattributed), effective and list cost, requests and
 * unpriced requests over [from, to). Reads the hourly owner rollup when the range is
 * whole hours (a month in UTC or any whole-hour zone), the events otherwise.
 */

export interface ChargebackRequest {
  readonly from: number;
  readonly to: number;
  readonly by: ChargebackDimension;
  readonly scope: ScopeCondition;
}

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

export function buildChargebackQuery(request: ChargebackRequest): BuiltQuery {
  const column = CHARGEBACK_DIMENSIONS[request.by];
  const rollup = request.from % HOUR_MS === 0 && request.to % HOUR_MS === 0;
  const measure = (name: string) => (rollup ? `sum(${name})` : `sum(${name} * sign)`);
  const events = rollup ? 'sum(events)' : 'sum(sign)';
  const sql = [
    // Aliases unlike any column name: a ClickHouse alias shadows the column it is named after.
    `SELECT ${column} AS owner_key, toString(${measure('cost')}) AS direct_cost, toString(${measure('list_cost')}) AS direct_list_cost,`,
    `  ${events} AS total_events, ${rollup ? 'sum(unpriced_events)' : "sumIf(sign, cost_status = 'unpriced')"} AS total_unpriced_events`,
    // Owners are team, cost center, tenant or feature: the rollups without users keep them all,
    // per UTC day for a month in UTC (or any zone whose month starts at UTC midnight), else per hour.
    !rollup ? 'FROM {db:Identifier}.usage_costs_v1' : request.from % DAY_MS === 0 && request.to % DAY_MS === 0 ? 'FROM {db:Identifier}.usage_daily_owner_costs_v1' : 'FROM {db:Identifier}.usage_hourly_owner_costs_v1',
    rollup
      ? "WHERE hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}"
      : "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    `  AND ${request.scope.sql}`,
    'GROUP BY owner_key',
    `HAVING ${events} != 0`,
    'ORDER BY owner_key',
  ].join('\n');
  return { sql, params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to), ...request.scope.params } };
}
