import type { AlertEvent, AlertSeverity } from './alert-event.ts';

/** Which alerts to list; every field narrows, none widens: an empty list matches no alert. */
export interface AlertListFilter {
  /** State of the alert now (its latest state). */
  readonly states?: readonly AlertEvent['state'][];
  readonly kinds?: readonly string[];
  /** Severity the alert fired with (a resolution is always info, so its firing severity is the one that says how bad it was). */
  readonly severities?: readonly AlertSeverity[];
  /** Dimension → value its scope must name (the value itself, or one of its comma-separated values). */
  readonly scope?: Readonly<Record<string, string>>;
  /** Only alerts whose scope lies within these teams / tenants (a scoped reader token's rows). */
  readonly access?: { readonly teams?: readonly string[] | undefined; readonly tenants?: readonly string[] | undefined } | null;
  /** [from, to) on the latest state's occurred_at, epoch ms. */
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
}

/** A scope entry's values as SQL: the comma-separated text split and trimmed. */
const scopeValuesSql = (key: string) => `arrayMap(v -> trimBoth(v), splitByChar(',', JSONExtractString(last, 'scope', {${key}:String})))`;

/**
 * The latest state of each alert matching the filter, newest first. Kind is
 * fixed per alert, so it filters rows before grouping; the rest filters each
 * alert's latest state. Every value is a bound parameter.
 */
export function buildAlertListQuery(filter: AlertListFilter): { sql: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { limit: filter.limit };
  const where: string[] = [];
  const having: string[] = [];
  // A list given but empty names nothing: it must match nothing, not drop its clause and list every alert.
  const oneOf = (clauses: string[], expression: string, name: string, values: readonly string[] | undefined) => {
    if (values === undefined) return;
    if (values.length === 0) clauses.push('0');
    else {
      clauses.push(`${expression} IN {${name}:Array(String)}`);
      params[name] = values;
    }
  };
  oneOf(where, 'kind', 'kinds', filter.kinds);
  oneOf(having, 'latest_state', 'states', filter.states);
  oneOf(having, "if(firing_severity = '', latest_severity, firing_severity)", 'severities', filter.severities);
  Object.entries(filter.scope ?? {}).forEach(([dimension, value], index) => {
    having.push(`has(${scopeValuesSql(`scope_key_${index}`)}, {scope_value_${index}:String})`);
    params[`scope_key_${index}`] = dimension;
    params[`scope_value_${index}`] = value;
  });
  // A scoped reader sees an alert only when every value of its team (tenant) scope is one of the reader's.
  for (const [dimension, values] of [['team', filter.access?.teams], ['tenant_id', filter.access?.tenants]] as const) {
    if (!values) continue;
    const key = `access_key_${dimension}`;
    having.push(`JSONExtractString(last, 'scope', {${key}:String}) != '' AND hasAll({access_${dimension}:Array(String)}, ${scopeValuesSql(key)})`);
    params[key] = dimension;
    params[`access_${dimension}`] = values;
  }
  if (filter.from !== undefined) {
    having.push('occurred_at >= {from:Int64}');
    params['from'] = filter.from;
  }
  if (filter.to !== undefined) {
    having.push('occurred_at < {to:Int64}');
    params['to'] = filter.to;
  }
  const sql = [
    'SELECT alert_id, argMax(alert, recorded_at) AS last, argMax(state, recorded_at) AS latest_state, argMax(severity, recorded_at) AS latest_severity,',
    "  argMaxIf(severity, recorded_at, state = 'firing') AS firing_severity, JSONExtractInt(last, 'occurred_at') AS occurred_at",
    'FROM {db:Identifier}.alert_states_v1',
    ...(where.length ? [`WHERE ${where.join(' AND ')}`] : []),
    'GROUP BY alert_id',
    ...(having.length ? [`HAVING ${having.join('\n  AND ')}`] : []),
    'ORDER BY occurred_at DESC, alert_id',
    'LIMIT {limit:UInt32}',
  ].join('\n');
  return { sql, params };
}
