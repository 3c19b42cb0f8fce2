import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for GET /v1/reports/cost, built from a closed list of dimensions: the
 * only text that varies is a column name taken from COST_DIMENSIONS; every
 * value is a bound parameter.
 */

export const COST_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'model', 'provider', 'user_id', 'api_key_id', 'gateway_id'] as const;
export type CostDimension = (typeof COST_DIMENSIONS)[number];

export interface CostReportRequest {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  readonly groupBy: readonly CostDimension[];
  /** Which environments count (see environment-scope.ts). */
  readonly scope: ScopeCondition;
}

export interface BuiltQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

export function buildCostReportQuery(request: CostReportRequest): BuiltQuery {
  const dimensions = request.groupBy.filter((dimension) => COST_DIMENSIONS.includes(dimension));
  // Rows in force only (the usage_costs_v1 view), each counted with its sign: a repriced event
  // has a cancelled row (-1) beside the one in force. Aggregates get names unlike any column:
  // a ClickHouse alias shadows the column it is named after.
  const select = [
    ...dimensions,
    'toString(sum(cost * sign)) AS total_cost',
    'toString(sum(list_cost * sign)) AS total_list_cost',
    'sum(sign) AS events',
    'sum(input_tokens * sign) AS total_input_tokens',
    'sum(output_tokens * sign) AS total_output_tokens',
    "sumIf(sign, cost_status = 'unpriced') AS unpriced_events",
  ];
  const sql = [
    `SELECT ${select.join(', ')}`,
    'FROM {db:Identifier}.usage_costs_v1',
    "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    `  AND ${request.scope.sql}`,
    ...(dimensions.length > 0
      ? [`GROUP BY ${dimensions.join(', ')}`, 'HAVING sum(sign) != 0', `ORDER BY sum(cost * sign) DESC, ${dimensions.join(', ')}`]
      : []),
  ].join('\n');
  return { sql, params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to), ...request.scope.params } };
}
