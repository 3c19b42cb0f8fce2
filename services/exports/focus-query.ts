import { RANGE_CONDITION, rangeParams, type BuiltQuery, type ExportRange } from './export-plan.ts';
import { FOCUS_GROUP_COLUMNS, SKU_CLASSES, type SkuClass } from './focus-groups.ts';

/**
 * SQL for the FOCUS export: signed sums over usage_costs_v1 per UTC day ×
 * owner × provider × model × SKU, where a SKU is one priced token class of the
 * model (see SKU_CLASSES). Exact throughout: token counts are Int64 and money
 * Decimal sums, read as text.
 *
 * Each stored row is split into one line per class, following the pricing
 * engine's nesting (services/pricing/cost-calculation.ts): a class the price
 * set prices — a key of the row's cost_breakdown — is carved out of its
 * parent; the tokens of a class it does not price stay in the parent, charged
 * at the parent's price. An unpriced row (empty breakdown) is split as if every
 * class were priced, so its usage shows, at cost 0, under cost_status unpriced.
 *
 * Per line, effective cost is the stored class cost. List cost per class is
 * stored only as the event total: without a contract it equals the effective
 * cost of each class; under a contract the event's list cost is shared out in
 * proportion to the classes' effective cost (truncated to 12 decimals). The
 * rounding left over — effective total minus its classes (each class is
 * rounded once, apart), and list total minus its shares — goes to the event's
 * first line, so every event's lines sum exactly to its stored cost and list
 * cost, and FOCUS totals equal the cost report's.
 *
 * Sums are value × sign over rows of committed runs (the view), so a
 * repriced or re-attributed event counts once, at its new cost and owner.
 */

/** Whether a row's tokens of a class are carved out of the parent: priced apart, or the row is unpriced. */
const carved = (cls: SkuClass) => `(cost_status != 'priced' OR mapContains(cost_breakdown, '${cls}'))`;

/** Tokens per class of one stored row, as the pricing engine counts them (Int64). */
const CLASS_TOKENS: readonly [string, string][] = [
  ['t_cache_audio_read', `if(${carved('cache_audio_read')}, toInt64(cache_audio_read_tokens), 0)`],
  ['t_cache_read', `if(${carved('cache_read')}, toInt64(cache_read_tokens) - t_cache_audio_read, 0)`],
  ['t_input_audio', `if(${carved('input_audio')}, toInt64(input_audio_tokens) - t_cache_audio_read, 0)`],
  ['t_cache_write', `if(${carved('cache_write')}, toInt64(cache_write_tokens), 0)`],
  ['t_input', `if(${carved('input')}, toInt64(input_tokens) - t_cache_read - t_cache_write - t_input_audio - t_cache_audio_read, 0)`],
  ['t_output_audio', `if(${carved('output_audio')}, toInt64(output_audio_tokens), 0)`],
  ['t_output', `if(${carved('output')}, toInt64(output_tokens) - t_output_audio, 0)`],
  // A per-request fee: one request per call, only where the price set has one.
  ['t_requests', "toInt64(mapContains(cost_breakdown, 'requests'))"],
];

const LINE_TOKENS: Readonly<Record<SkuClass, string>> = {
  input: 't_input',
  cache_read: 't_cache_read',
  cache_write: 't_cache_write',
  input_audio: 't_input_audio',
  cache_audio_read: 't_cache_audio_read',
  output: 't_output',
  output_audio: 't_output_audio',
  requests: 't_requests',
};

const MONEY = (expression: string) => `toDecimal256(${expression}, 12)`;

/** Per stored row: its lines (class, tokens, effective cost, list cost), the leftovers on the first. */
const LINE_DEFINITIONS: readonly [string, string][] = [
  ...CLASS_TOKENS,
  [
    'class_lines',
    `arrayFilter(l -> l.2 > 0 OR l.3 != 0, [${SKU_CLASSES.map((cls) => `tuple('${cls}', ${LINE_TOKENS[cls]}, cost_breakdown['${cls}'])`).join(', ')}])`,
  ],
  [
    'list_shares',
    `arrayMap(l -> if(list_cost = cost, l.3, if(cost = 0, toDecimal128(0, 12), toDecimal128(${MONEY('l.3')} * ${MONEY('list_cost')} / ${MONEY('cost')}, 12))), class_lines)`,
  ],
  ['cost_left', 'cost - arraySum(arrayMap(l -> l.3, class_lines))'],
  ['list_left', 'list_cost - arraySum(list_shares)'],
  [
    'lines',
    'arrayMap((l, share, i) -> tuple(l.1, l.2, l.3 + cost_left * (i = 1), share + list_left * (i = 1)), class_lines, list_shares, arrayEnumerate(class_lines))',
  ],
];

export interface FocusSliceRequest extends ExportRange {
  /** Of a heavy day read in parts: the part (0-based) and how many; owners fall into one part each. */
  readonly bucket?: { readonly index: number; readonly count: number } | undefined;
}

export function buildFocusQuery(request: FocusSliceRequest): BuiltQuery {
  const keys = ['period_epoch', ...FOCUS_GROUP_COLUMNS, 'sku_class'];
  const sums = ['sum(line.2 * sign)', 'sum(line.3 * sign)', 'sum(line.4 * sign)'];
  return {
    sql: [
      `WITH ${LINE_DEFINITIONS.map(([name, expression]) => `${expression} AS ${name}`).join(',\n  ')}`,
      'SELECT',
      '  toUnixTimestamp(toStartOfDay(occurred_at)) AS period_epoch,',
      `  ${FOCUS_GROUP_COLUMNS.join(', ')},`,
      '  line.1 AS sku_class,',
      `  toString(${sums[0]}) AS consumed_total,`,
      `  toString(${sums[1]}) AS effective_total,`,
      `  toString(${sums[2]}) AS list_total`,
      'FROM {db:Identifier}.usage_costs_v1',
      'ARRAY JOIN lines AS line',
      `WHERE ${RANGE_CONDITION}`,
      `  AND ${request.scope.sql}`,
      ...(request.bucket ? [`  AND cityHash64(${FOCUS_GROUP_COLUMNS.join(', ')}) % {bucket_count:UInt64} = {bucket_index:UInt64}`] : []),
      `GROUP BY ${keys.join(', ')}`,
      `HAVING ${sums.map((sum) => `${sum} != 0`).join(' OR ')}`,
      `ORDER BY ${keys.join(', ')}`,
    ].join('\n'),
    params: {
      ...rangeParams(request),
      ...(request.bucket ? { bucket_count: request.bucket.count, bucket_index: request.bucket.index } : {}),
      ...request.scope.params,
    },
  };
}

