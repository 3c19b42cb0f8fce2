import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { SeriesDimension } from './detection-config.ts';
import type { Resolution } from './series-watch.ts';

/**
 * SQL the detectors read, as pure builders. Everything reads usage_costs_v1
 * (committed ledger rows; totals are sums × sign), so a repricing or a
 * re-attribution is seen as it stands. Identifiers come from closed lists;
 * values are bound parameters.
 */

export interface BuiltQuery {
  readonly sql: string;
  readonly params: Record<string, unknown>;
}

const FROM = 'FROM {db:Identifier}.usage_costs_v1';
const RANGE = "occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}";
const range = (from: number, to: number) => ({ from: formatDateTime64(from), to: formatDateTime64(to) });
const epochMs = (expression: string) => `toUnixTimestamp64Milli(toDateTime64(${expression}, 3, 'UTC'))`;
const INTERVALS: Readonly<Record<Resolution, string>> = { minute: 'toStartOfMinute(occurred_at)', hour: 'toStartOfHour(occurred_at)' };
const SINCE = "occurred_at >= {since:DateTime64(3, 'UTC')}";

/** The busiest values of a dimension (by requests) — the series worth watching one by one. */
export function topValuesQuery(dimension: SeriesDimension, from: number, to: number, limit: number): BuiltQuery {
  return {
    sql: `SELECT {dimension:Identifier} AS value ${FROM} WHERE ${RANGE} AND {dimension:Identifier} != '' GROUP BY value HAVING sum(sign) > 0 ORDER BY sum(sign) DESC, value LIMIT {limit:UInt32}`,
    params: { dimension, limit, ...range(from, to) },
  };
}

/** Per-bucket aggregates of the given values of a dimension. */
export function seriesBucketsQuery(resolution: Resolution, dimension: SeriesDimension, values: readonly string[], from: number, to: number): BuiltQuery {
  return {
    sql: [
      `SELECT {dimension:Identifier} AS value, ${epochMs(INTERVALS[resolution])} AS at,`,
      "  sum(sign) AS requests, sumIf(sign, status = 'error') AS errors, toString(sum(cost * sign)) AS cost,",
      '  sum(toInt64(input_tokens) * sign) AS input_tokens, sum(toInt64(output_tokens) * sign) AS output_tokens,',
      // Each event once: its row as first stored (a restatement's +1 copy would count it twice).
      '  toFloat64(ifNull(quantileIf(0.95)(latency_ms, sign = 1 AND pricing_run = 0), -1)) AS latency_p95',
      FROM,
      `WHERE ${RANGE} AND value IN {values:Array(String)}`,
      'GROUP BY value, at ORDER BY value, at',
    ].join('\n'),
    params: { dimension, values, ...range(from, to) },
  };
}

/** Contributors: spend and requests per value of other dimensions, in the incident window [since, to) and the hours before [from, since). */
export function contributorsQuery(dimension: string, value: string, by: readonly string[], from: number, since: number, to: number): BuiltQuery {
  const pairs = by.map((column) => `('${column}', ${column})`).join(', ');
  return {
    sql: [
      'SELECT pair.1 AS dimension, pair.2 AS value,',
      `  toString(sumIf(cost * sign, ${SINCE})) AS current_cost, toString(sumIf(cost * sign, NOT ${SINCE})) AS baseline_cost,`,
      `  sumIf(sign, ${SINCE}) AS current_requests, sumIf(sign, NOT ${SINCE}) AS baseline_requests`,
      FROM,
      `ARRAY JOIN [${pairs}] AS pair`,
      `WHERE ${RANGE} AND {dimension:Identifier} = {value:String} AND pair.2 != ''`,
      'GROUP BY dimension, value',
    ].join('\n'),
    params: { dimension, value, since: formatDateTime64(since), ...range(from, to) },
  };
}

const RUNS = "ARRAY JOIN [('agent_run_id', agent_run_id), ('session_id', session_id)] AS subject";

/** Runs (agent runs and sessions) busy in the last minute, by calls or by spend: candidates for a runaway. */
export function busyRunsQuery(from: number, to: number, minCalls: number, minCost: string): BuiltQuery {
  return {
    sql: `SELECT subject.1 AS dimension, subject.2 AS run ${FROM} ${RUNS} WHERE ${RANGE} AND subject.2 != '' GROUP BY dimension, run HAVING sum(sign) >= {min_calls:UInt32} OR sum(cost * sign) >= toDecimal128({min_cost:String}, 12) ORDER BY sum(sign) DESC LIMIT 1000`,
    params: { min_calls: minCalls, min_cost: minCost, ...range(from, to) },
  };
}

/** Minute by minute activity of the given runs over [from, to). */
export function runMinutesQuery(runs: readonly string[], from: number, to: number): BuiltQuery {
  return {
    sql: [
      `SELECT subject.1 AS dimension, subject.2 AS run, ${epochMs('toStartOfMinute(occurred_at)')} AS at,`,
      '  any(feature) AS feature, any(team) AS team, any(user_id) AS user, sum(sign) AS calls, toString(sum(cost * sign)) AS cost',
      FROM,
      RUNS,
      `WHERE ${RANGE} AND subject.2 IN {runs:Array(String)}`,
      'GROUP BY dimension, run, at HAVING sum(sign) > 0 ORDER BY dimension, run, at',
    ].join('\n'),
    params: { runs, ...range(from, to) },
  };
}

/** How busy a feature's runs usually are per run and minute (p99), over [from, to), leaving out the runs being judged (a long loop is not its own baseline). */
export function featureRunBaselineQuery(features: readonly string[], from: number, to: number, excluded: readonly string[] = []): BuiltQuery {
  return {
    sql: [
      'SELECT feature, count() AS run_minutes, toFloat64(quantileExact(0.99)(calls)) AS calls_p99, toString(quantileExact(0.99)(cost)) AS cost_p99',
      'FROM (',
      `  SELECT feature, subject.1 AS dimension, subject.2 AS run, toStartOfMinute(occurred_at) AS minute, sum(sign) AS calls, sum(cost * sign) AS cost`,
      `  ${FROM} ${RUNS}`,
      `  WHERE ${RANGE} AND subject.2 != '' AND feature IN {features:Array(String)} AND subject.2 NOT IN {excluded:Array(String)}`,
      '  GROUP BY feature, dimension, run, minute HAVING calls > 0',
      ') GROUP BY feature',
    ].join('\n'),
    params: { features, excluded, ...range(from, to) },
  };
}

/** Requests and spend per model within each feature, baseline [from, since) and window [since, to). */
export function modelMixQuery(from: number, since: number, to: number): BuiltQuery {
  return {
    sql: [
      "SELECT 'feature' AS dimension, feature AS value, model,",
      `  sumIf(sign, NOT ${SINCE}) AS baseline_requests, toString(sumIf(cost * sign, NOT ${SINCE})) AS baseline_cost,`,
      `  sumIf(sign, ${SINCE}) AS current_requests, toString(sumIf(cost * sign, ${SINCE})) AS current_cost`,
      FROM,
      `WHERE ${RANGE} AND feature != ''`,
      'GROUP BY value, model HAVING baseline_requests != 0 OR current_requests != 0',
    ].join('\n'),
    params: { since: formatDateTime64(since), ...range(from, to) },
  };
}

/** Tokens per request of each feature in log₂ bins, input and output, baseline [from, since) and window [since, to). */
export function tokenBinsQuery(from: number, since: number, to: number): BuiltQuery {
  return {
    sql: [
      "SELECT 'feature' AS dimension, feature AS value, tokens.1 AS direction, toUInt8(floor(log2(tokens.2 + 1))) AS bin,",
      `  sumIf(sign, NOT ${SINCE}) AS baseline, sumIf(sign, ${SINCE}) AS current,`,
      `  sumIf(toInt64(tokens.2) * sign, NOT ${SINCE}) AS baseline_tokens, sumIf(toInt64(tokens.2) * sign, ${SINCE}) AS current_tokens,`,
      `  toString(sumIf(cost * sign, ${SINCE})) AS current_cost`,
      FROM,
      "ARRAY JOIN [('input', input_tokens), ('output', output_tokens)] AS tokens",
      `WHERE ${RANGE} AND feature != ''`,
      'GROUP BY value, direction, bin ORDER BY value, direction, bin',
    ].join('\n'),
    params: { since: formatDateTime64(since), ...range(from, to) },
  };
}

/** Priced usage per model and hour: tokens, computed and reported cost, and the price tables used. */
export function modelPriceHoursQuery(from: number, to: number): BuiltQuery {
  return {
    sql: [
      `SELECT model, ${epochMs('toStartOfHour(occurred_at)')} AS hour,`,
      // Aliases never repeat a column name: ClickHouse would read the alias inside the other aggregates.
      '  sum(toInt64(input_tokens) * sign) AS input_sum, sum(toInt64(output_tokens) * sign) AS output_sum, toString(sum(cost * sign)) AS cost_sum,',
      '  countIf(reported_cost IS NOT NULL) AS reported_rows, toString(sumIf(ifNull(reported_cost, 0) * sign, reported_cost IS NOT NULL)) AS reported_sum,',
      '  sumIf(toInt64(input_tokens) * sign, reported_cost IS NOT NULL) AS reported_input_sum, sumIf(toInt64(output_tokens) * sign, reported_cost IS NOT NULL) AS reported_output_sum,',
      '  arraySort(groupUniqArray(price_version)) AS price_versions',
      FROM,
      `WHERE ${RANGE} AND cost_status = 'priced'`,
      'GROUP BY model, hour HAVING sum(sign) != 0 ORDER BY model, hour',
    ].join('\n'),
    params: range(from, to),
  };
}

/** Events and unpriced events per provider, model and gateway, baseline [from, since) and window [since, to). */
export function unpricedQuery(from: number, since: number, to: number): BuiltQuery {
  return {
    sql: [
      'SELECT provider, model, gateway_id AS gateway,',
      `  sumIf(sign, NOT ${SINCE}) AS baseline_events, sumIf(sign, NOT ${SINCE} AND cost_status = 'unpriced') AS baseline_unpriced,`,
      `  sumIf(sign, ${SINCE}) AS current_events, sumIf(sign, ${SINCE} AND cost_status = 'unpriced') AS current_unpriced,`,
      `  arraySort(groupUniqArrayIf(unpriced_reason, ${SINCE} AND cost_status = 'unpriced')) AS reasons`,
      FROM,
      `WHERE ${RANGE}`,
      'GROUP BY provider, model, gateway HAVING current_unpriced > 0',
    ].join('\n'),
    params: { since: formatDateTime64(since), ...range(from, to) },
  };
}

const activityPairs = (dimensions: readonly SeriesDimension[]) =>
  ['gateway_id', ...dimensions.filter((d) => d !== 'gateway_id')].map((column) => `('${column}', ${column})`).join(', ');

/** When each gateway (and each value of the busy-scope dimensions) was last heard from within [from, to). */
export function lastSeenQuery(dimensions: readonly SeriesDimension[], from: number, to: number): BuiltQuery {
  return {
    sql: [
      'SELECT pair.1 AS dimension, pair.2 AS value, toUnixTimestamp64Milli(max(received_at)) AS last_seen',
      FROM,
      `ARRAY JOIN [${activityPairs(dimensions)}] AS pair`,
      `WHERE ${RANGE} AND pair.2 != ''`,
      'GROUP BY dimension, value',
    ].join('\n'),
    params: range(from, to),
  };
}

/** Events and spend of each gateway and busy-scope value per UTC hour of the day over [from, to) (whole days): its usual rhythm. */
export function usualActivityQuery(dimensions: readonly SeriesDimension[], from: number, to: number): BuiltQuery {
  return {
    sql: [
      'SELECT pair.1 AS dimension, pair.2 AS value,',
      '  sumForEach(arrayMap(h -> if(toHour(occurred_at) = h, toInt64(sign), 0), range(24))) AS events_by_hour,',
      '  arrayMap(x -> toString(x), sumForEach(arrayMap(h -> if(toHour(occurred_at) = h, cost * sign, toDecimal128(0, 12)), range(24)))) AS cost_by_hour',
      FROM,
      `ARRAY JOIN [${activityPairs(dimensions)}] AS pair`,
      `WHERE ${RANGE} AND pair.2 != ''`,
      'GROUP BY dimension, value',
    ].join('\n'),
    params: range(from, to),
  };
}
