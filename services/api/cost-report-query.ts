import { formatDateTime64 } from '../clickhouse/clickhouse.ts';

/**
 * SQL for GET /v1/reports/cost, built from a closed list of dimensions: the
 * only text that varies is a column name taken from COST_DIMENSIONS; every
 * value is a bound parameter.
 */

export const COST_DIMENSIONS = ['team', 'feature', 'environment', 'model', 'provider', 'user_id'] as const;
export type CostDimension = (typeof COST_DIMENSIONS)[number];

export interface CostReportRequest {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  readonly groupBy: readonly CostDimension[];
}

export interface BuiltQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

export function buildCostReportQuery(request: CostReportRequest): BuiltQuery {
  const dimensions = request.groupBy.filter((dimension) => COST_DIMENSIONS.includes(dimension));
  // Aggregates get names unlike any column: a ClickHouse alias shadows the column it is named after.
  const select = [
    ...dimensions,
    'toString(sum(cost)) AS total_cost',
    'count() AS events',
    'sum(input_tokens) AS total_input_tokens',
    'sum(output_tokens) AS total_output_tokens',
    "countIf(cost_status = 'unpriced') AS unpriced_events",
  ];
  const sql = [
    `SELECT ${select.join(', ')}`,
    'FROM {db:Identifier}.usage_events_v1',
    "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    ...(dimensions.length > 0 ? [`GROUP BY ${dimensions.join(', ')}`, `ORDER BY sum(cost) DESC, ${dimensions.join(', ')}`] : []),
  ].join('\n');
  return { sql, params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to) } };
}
