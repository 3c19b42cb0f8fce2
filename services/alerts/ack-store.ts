import { z } from 'zod';
import { clickHouseTimeToIso, formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';

/** Someone said they are on an alert. */
export interface Acknowledgement {
  readonly alert_id: string;
  /** Who (the caller's declared name and token fingerprint). */
  readonly acknowledged_by: string;
  readonly note: string;
  /** RFC 3339. */
  readonly acknowledged_at: string;
}

const ackRow = z.object({ alert_id: z.string(), acknowledged_by: z.string(), note: z.string(), acknowledged_at: z.string() });
const toAck = (row: z.infer<typeof ackRow>): Acknowledgement => ({ ...row, acknowledged_at: clickHouseTimeToIso(row.acknowledged_at) });

/** Acknowledgements in ClickHouse (alert_acks_v1, sql/010): appended, never changed. */
export class AckStore {
  readonly #clickhouse: ClickHouse;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  async acknowledge(alertId: string, actor: string, note: string, now: number = Date.now()): Promise<Acknowledgement> {
    const row = { alert_id: alertId, acknowledged_by: actor, note, acknowledged_at: formatDateTime64(now) };
    await this.#clickhouse.insert('alert_ack', 'alert_acks_v1', [row]);
    return toAck(row);
  }

  /** The latest acknowledgement of each of the alerts that has one. */
  async latestFor(alertIds: readonly string[]): Promise<Map<string, Acknowledgement>> {
    if (alertIds.length === 0) return new Map();
    const rows = await this.#clickhouse.query({
      name: 'alert_acks_latest',
      sql: [
        'SELECT alert_id, acknowledged_by, note, toString(acknowledged_at) AS acknowledged_at',
        'FROM {db:Identifier}.alert_acks_v1 WHERE alert_id IN {ids:Array(String)}',
        'ORDER BY alert_id, acknowledged_at DESC LIMIT 1 BY alert_id',
      ].join('\n'),
      params: { ids: alertIds },
      schema: ackRow,
    });
    return new Map(rows.map((row) => [row.alert_id, toAck(row)]));
  }

  /** Every acknowledgement of one alert, latest first. */
  async history(alertId: string): Promise<Acknowledgement[]> {
    const rows = await this.#clickhouse.query({
      name: 'alert_acks',
      sql: 'SELECT alert_id, acknowledged_by, note, toString(acknowledged_at) AS acknowledged_at FROM {db:Identifier}.alert_acks_v1 WHERE alert_id = {id:String} ORDER BY acknowledged_at DESC LIMIT 1000',
      params: { id: alertId },
      schema: ackRow,
    });
    return rows.map(toAck);
  }
}
