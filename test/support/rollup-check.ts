import { z } from 'zod';
import type { ClickHouse } from '../../services/clickhouse/clickhouse.ts';

const DIMENSIONS = 'tenant_id, cost_center, team, feature, environment, provider, model, user_id';
const MEASURES = ['events', 'error_events', 'unpriced_events', 'cost', 'list_cost', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_write_tokens', 'reasoning_tokens', 'input_audio_tokens', 'cache_audio_read_tokens', 'output_audio_tokens'] as const;
const row = z.record(z.string(), z.string());

/**
 * The hourly rollup in force and the same figures recomputed from the usage
 * rows in force, each grouped by hour and every rollup dimension, as text
 * (exact decimals). Equal when the rollup is right; both empty says nothing.
 */
export async function rollupAndRecomputation(
  clickhouse: ClickHouse,
  view: 'usage_hourly_costs_v1' | 'usage_hourly_owner_costs_v1' | 'usage_daily_owner_costs_v1' = 'usage_hourly_costs_v1',
): Promise<{ rollup: Record<string, string>[]; recomputed: Record<string, string>[] }> {
  const dimensions = view === 'usage_hourly_costs_v1' ? DIMENSIONS : DIMENSIONS.replace(', user_id', '');
  const fromEvents = {
    events: 'sum(sign)',
    error_events: "sumIf(sign, status = 'error')",
    unpriced_events: "sumIf(sign, cost_status = 'unpriced')",
    cost: 'sum(cost * sign)',
    list_cost: 'sum(list_cost * sign)',
  } as Record<string, string>;
  const recomputedMeasures = MEASURES.map((measure) => `toString(${fromEvents[measure] ?? `sum(toInt64(${measure}) * sign)`}) AS total_${measure}`);
  const rollupMeasures = MEASURES.map((measure) => `toString(sum(${measure})) AS total_${measure}`);
  const query = (name: string, measures: string[], source: string, hour: string) =>
    clickhouse.query({
      name,
      // Aliases unlike any column name: a ClickHouse alias shadows the column it is named after.
      sql: `SELECT toString(${hour}) AS hour_text, ${dimensions}, ${measures.join(', ')}
FROM {db:Identifier}.${source} GROUP BY ${hour}, ${dimensions} HAVING sum(${name === 'rollup' ? 'events' : 'sign'}) != 0 ORDER BY hour_text, ${dimensions}`,
      schema: row,
    });
  const [rollup, recomputed] = await Promise.all([
    query('rollup', rollupMeasures, view, 'hour'),
    query('recomputed', recomputedMeasures, 'usage_costs_v1', view === 'usage_daily_owner_costs_v1' ? 'toStartOfDay(occurred_at)' : 'toStartOfHour(occurred_at)'),
  ]);
  return { rollup, recomputed };
}
