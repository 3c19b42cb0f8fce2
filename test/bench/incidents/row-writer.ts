import type { ClickHouse } from '../../../services/clickhouse/clickhouse.ts';
import { USAGE_EVENTS_TABLE, type UsageRow } from '../../../services/sink/usage-row.ts';

/**
 * Inserts usage rows into usage_events_v1 in batches, one insert in flight
 * at a time, so building the next batch overlaps the previous insert (chDB
 * runs it off the event loop).
 */
export class RowWriter {
  readonly #clickhouse: ClickHouse;
  readonly #batch: number;
  #rows: UsageRow[] = [];
  #pending: Promise<void> | null = null;
  #written = 0;

  constructor(clickhouse: ClickHouse, batch: number) {
    this.#clickhouse = clickhouse;
    this.#batch = batch;
  }

  /** Rows handed to ClickHouse so far (written once flush resolves). */
  get written(): number {
    return this.#written;
  }

  async add(rows: readonly UsageRow[]): Promise<void> {
    for (const row of rows) this.#rows.push(row);
    if (this.#rows.length >= this.#batch) await this.#send();
  }

  async flush(): Promise<void> {
    if (this.#rows.length > 0) await this.#send();
    await this.#pending;
    this.#pending = null;
  }

  async #send(): Promise<void> {
    await this.#pending;
    const rows = this.#rows;
    this.#rows = [];
    this.#written += rows.length;
    this.#pending = this.#clickhouse.insert('bench_incidents_load', USAGE_EVENTS_TABLE, rows);
  }
}
