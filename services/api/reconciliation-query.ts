import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { BuiltQuery } from './cost-report-query.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for GET /v1/reports/reconciliation: what gateways said calls cost
 * (reported_cost) against Spendline's list price, over the events that
 * reported a cost. A repriced event's cancelled row is an exact copy of its
 * old row, so counting mismatches with the row's sign counts the rows in force.
 */

export const RECONCILIATION_DIMENSIONS = ['provider', 'model', 'gateway_id', 'team'] as const;
export type ReconciliationDimension = (typeof RECONCILIATION_DIMENSIONS)[number];

export interface ReconciliationRequest {
  readonly from: number;
  readonly to: number;
  readonly groupBy: readonly ReconciliationDimension[];
  /** Per-event difference (USD) above which an event counts as disagreeing. */
  readonly tolerance: string;
  readonly scope: ScopeCondition;
}

export function buildReconciliationQuery(request: ReconciliationRequest): BuiltQuery {
  const dimensions = request.groupBy.filter((dimension) => RECONCILIATION_DIMENSIONS.includes(dimension));
  const reported = 'reported_cost IS NOT NULL';
  const select = [
    ...dimensions,
    `sumIf(sign, ${reported}) AS reporting_events`,
    `toString(sumIf(assumeNotNull(reported_cost) * sign, ${reported})) AS total_reported`,
    `toString(sumIf(list_cost * sign, ${reported})) AS total_list`,
    `toString(sumIf(cost * sign, ${reported})) AS total_effective`,
    `toString(sumIf((assumeNotNull(reported_cost) - list_cost) * sign, ${reported})) AS total_difference`,
    `sumIf(sign, ${reported} AND abs(assumeNotNull(reported_cost) - list_cost) > {tolerance:Decimal(38, 12)}) AS disagreeing_events`,
  ];
  const sql = [
    `SELECT ${select.join(', ')}`,
    'FROM {db:Identifier}.usage_costs_v1',
    "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
    `  AND ${request.scope.sql}`,
    ...(dimensions.length > 0
      ? [
          `GROUP BY ${dimensions.join(', ')}`,
          `HAVING sumIf(sign, ${reported}) != 0`,
          `ORDER BY abs(sumIf((assumeNotNull(reported_cost) - list_cost) * sign, ${reported})) DESC, ${dimensions.join(', ')}`,
        ]
      : []),
  ].join('\n');
  return { sql, params: { from: formatDateTime64(request.from), to: formatDateTime64(request.to), tolerance: request.tolerance, ...request.scope.params } };
}
