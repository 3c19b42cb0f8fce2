import { TOKEN_FIELDS } from '@spendline/emitter/usage-event';
import { RANGE_CONDITION, rangeParams, type BuiltQuery } from './export-plan.ts';
import type { ScopeCondition } from '../api/environment-scope.ts';

/**
 * SQL for one page of GET /v1/exports/events: the row in force of each event
 * of a slice, in (occurred_at, event_id) order, after a cursor. The column
 * list is fixed; every value is a bound parameter.
 *
 * The row in force of an event is its latest +1 row among the view's rows
 * (usage_costs_v1 keeps committed runs only): a repriced or re-attributed
 * event also has its earlier +1 row, cancelled by a -1 row of the later run.
 * The scope is applied after that choice — an event re-attributed away from a
 * team keeps an older row with that team, which must not match. All rows of an
 * event share its occurred_at, so a slice of occurred_at holds all of them.
 */

/** Stored columns an exported event carries, as the page query selects them. */
export const EVENT_COLUMNS = [
  'event_id',
  'occurred_at',
  'provider',
  'model',
  ...TOKEN_FIELDS,
  'cost',
  'list_cost',
  'currency',
  'cost_status',
  'tenant_id',
  'cost_center',
  'team',
  'feature',
  'environment',
  'user_id',
  'api_key_id',
  'gateway_id',
  'tags',
] as const;

/** Money is read as exact decimal text; the other columns as ClickHouse writes them in JSON. */
const SELECTED: Readonly<Partial<Record<(typeof EVENT_COLUMNS)[number], string>>> = {
  cost: 'toString(cost) AS cost_text',
  list_cost: 'toString(list_cost) AS list_cost_text',
};

export interface EventPageRequest {
  /** The slice, epoch ms, [from, to). */
  readonly from: number;
  readonly to: number;
  readonly scope: ScopeCondition;
  /** The last event of the previous page (its occurred_at as ClickHouse wrote it), or null for the first page. */
  readonly after: { readonly occurredAt: string; readonly eventId: string } | null;
  readonly limit: number;
}

export function buildEventPageQuery(request: EventPageRequest): BuiltQuery {
  const after = request.after;
  return {
    sql: [
      // Aliases differ from column names: a ClickHouse alias shadows the column it is named after.
      `SELECT ${EVENT_COLUMNS.map((column) => SELECTED[column] ?? column).join(', ')}`,
      'FROM (',
      `  SELECT ${EVENT_COLUMNS.join(', ')}, pricing_run FROM {db:Identifier}.usage_costs_v1`,
      `  WHERE ${RANGE_CONDITION} AND sign = 1`,
      // Every row of an event shares its occurred_at: events before the cursor's instant are all done.
      ...(after ? ["    AND occurred_at >= {after_at:DateTime64(3, 'UTC')}"] : []),
      '  ORDER BY event_id, pricing_run DESC',
      '  LIMIT 1 BY event_id',
      ')',
      `WHERE ${request.scope.sql}`,
      ...(after ? ["  AND (occurred_at, event_id) > ({after_at:DateTime64(3, 'UTC')}, {after_id:String})"] : []),
      'ORDER BY occurred_at, event_id',
      'LIMIT {limit:UInt32}',
    ].join('\n'),
    params: {
      ...rangeParams(request),
      ...(after ? { after_at: after.occurredAt, after_id: after.eventId } : {}),
      limit: request.limit,
      ...request.scope.params,
    },
  };
}
