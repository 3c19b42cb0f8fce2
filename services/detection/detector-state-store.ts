import { z } from 'zod';
import { formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';

/**
 * What the detectors have learnt, in ClickHouse (detector_state_v1): one JSON
 * state per key, the latest write in force. A restart loads it and goes on
 * from each series' last bucket, so baselines are not forgotten and open
 * incidents are not alerted again.
 */
export class DetectorStateStore {
  readonly #clickhouse: ClickHouse;
  /** Last updated_at written: writes of one process never tie. */
  #lastWrite = 0;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  /** Every stored state whose key starts with the prefix. */
  async load(prefix: string): Promise<Map<string, unknown>> {
    const rows = await this.#clickhouse.query({
      name: 'detector_state_load',
      sql: 'SELECT detector_key, argMax(state, updated_at) AS state FROM {db:Identifier}.detector_state_v1 WHERE startsWith(detector_key, {prefix:String}) GROUP BY detector_key',
      params: { prefix },
      schema: z.object({ detector_key: z.string(), state: z.string() }),
    });
    return new Map(rows.map((row) => [row.detector_key, JSON.parse(row.state) as unknown]));
  }

  async save(states: ReadonlyMap<string, { readonly state: unknown; readonly last: number | null }>): Promise<void> {
    if (states.size === 0) return;
    this.#lastWrite = Math.max(Date.now(), this.#lastWrite + 1);
    const now = formatDateTime64(this.#lastWrite);
    await this.#clickhouse.insert(
      'detector_state_save',
      'detector_state_v1',
      [...states].map(([key, { state, last }]) => ({ detector_key: key, state: JSON.stringify(state), last_bucket: formatDateTime64(last ?? 0), updated_at: now })),
    );
  }
}
