import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { BuiltQuery } from './cost-report-query.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * SQL for GET /v1/reports/attribution-quality: per group, how many events and
 * how much cost arrived fully attributed, were fixed by a rule, were filled
 * with a policy default, or remain unattributed; and the sources of the
 * unattributed spend. Counted over rows in force with their sign, so a
 * re-attributed event moves from one status to the other exactly.
 */

export const QUALITY_DIMENSIONS = ['gateway_id', 'team', 'environment', 'tenant_id', 'cost_center', 'feature', 'api_key_id', 'provider', 'model'] as const;
export type QualityDimension = (typeof QUALITY_DIMENSIONS)[number];

/** attribution_status values; '' is a row stored before attribution policies. */
export const QUALITY_STATUSES = { complete: 'complete', fixed_by_rule: 'fixed_by_rule', defaulted: 'defaulted', unattributed: 'unattributed', unassessed: '' } as const;
export type QualityStatus = keyof typeof QUALITY_STATUSES;

export interface AttributionQualityRequest {
  readonly from: number;
  readonly to: number;
  readonly groupBy: readonly QualityDimension[];
  readonly scope: ScopeCondition;
}

function rangeParams(request: AttributionQualityRequest): Record<string, unknown> {
  return { from: formatDateTime64(request.from), to: formatDateTime64(request.to), ...request.scope.params };
}

const WHERE = "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}";

export function buildAttributionQualityQuery(request: AttributionQualityRequest): BuiltQuery {
  const dimensions = request.groupBy.filter((dimension) => QUALITY_DIMENSIONS.includes(dimension));
  const select = [
    ...dimensions,
    'sum(sign) AS total_events',
    'toString(sum(cost * sign)) AS total_cost_all',
    ...Object.entries(QUALITY_STATUSES).flatMap(([name, stored]) => [
      `sumIf(sign, attribution_status = '${stored}') AS events_${name}`,
      `toString(sumIf(cost * sign, attribution_status = '${stored}')) AS cost_${name}`,
    ]),
  ];
  const sql = [
    `SELECT ${select.join(', ')}`,
    'FROM {db:Identifier}.usage_costs_v1',
    WHERE,
    `  AND ${request.scope.sql}`,
    ...(dimensions.length > 0 ? [`GROUP BY ${dimensions.join(', ')}`, 'HAVING sum(sign) != 0', `ORDER BY sum(cost * sign) DESC, ${dimensions.join(', ')}`] : []),
  ].join('\n');
  return { sql, params: rangeParams(request) };
}

/** Where unattributed spend comes from: gateway, API key and the dimensions it lacked, largest cost first. */
export function buildUnattributedSourcesQuery(request: AttributionQualityRequest, limit: number): BuiltQuery {
  const sql = [
    "SELECT gateway_id, api_key_id, arrayStringConcat(arraySort(attribution_missing), ',') AS missing_dimensions,",
    '  sum(sign) AS source_events, toString(sum(cost * sign)) AS source_cost',
    'FROM {db:Identifier}.usage_costs_v1',
    WHERE,
    `  AND ${request.scope.sql} AND attribution_status = 'unattributed'`,
    'GROUP BY gateway_id, api_key_id, missing_dimensions',
    'HAVING sum(sign) != 0',
    'ORDER BY sum(cost * sign) DESC, source_events DESC, gateway_id, api_key_id',
    'LIMIT {limit:UInt32}',
  ].join('\n');
  return { sql, params: { ...rangeParams(request), limit } };
}
