import { z } from 'zod';
import { formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { AlertEvent, AlertSeverity } from './alert-event.ts';
import { buildAlertListQuery, type AlertListFilter } from './alert-list-query.ts';

/** One channel's delivery of one alert state (alert_deliveries_v1). */
export interface DeliveryRecord {
  readonly alert_id: string;
  readonly state: AlertEvent['state'];
  readonly channel: string;
  readonly channel_type: string;
  readonly attempts: number;
  /**
   * delivered or failed: the channel was told (or tried); silenced: a silence
   * kept the alert from it (error names the silence); skipped: the channel was
   * not meant to hear of this state (below its min_severity, or a resolution
   * whose firing it never heard of). Neither of the last two makes a request.
   */
  readonly outcome: 'delivered' | 'failed' | 'silenced' | 'skipped';
  readonly status_code: number;
  readonly error: string;
}

const latestRow = z.object({ alert_id: z.string(), last: z.string() });
const listedRow = z.object({ alert_id: z.string(), last: z.string(), firing_severity: z.string() });
const stateRow = z.object({ alert: z.string(), recorded_at: z.string() });
const deliveryRow = z.object({ alert_id: z.string(), state: z.string(), channel: z.string(), channel_type: z.string(), attempts: z.coerce.number(), outcome: z.string(), status_code: z.coerce.number(), error: z.string(), delivered_at: z.string() });

export type StoredDelivery = z.infer<typeof deliveryRow>;

/** Alert states and deliveries in ClickHouse (sql/008): the notifier's durable memory. */
export class AlertStore {
  readonly #clickhouse: ClickHouse;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  /** The latest recorded event of each alert, of every alert or of the ids given. */
  async latest(filter: { kind?: string; ids?: readonly string[]; sourceId?: string } = {}): Promise<AlertEvent[]> {
    const conditions = [
      ...(filter.kind ? ['kind = {kind:String}'] : []),
      ...(filter.ids ? ['alert_id IN {ids:Array(String)}'] : []),
      ...(filter.sourceId ? ['source_id = {source_id:String}'] : []),
    ];
    const rows = await this.#clickhouse.query({
      name: 'alert_latest_states',
      sql: `SELECT alert_id, argMax(alert, recorded_at) AS last FROM {db:Identifier}.alert_states_v1 ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''} GROUP BY alert_id ORDER BY alert_id`,
      params: { kind: filter.kind, ids: filter.ids, source_id: filter.sourceId },
      schema: latestRow,
    });
    return rows.map((row) => JSON.parse(row.last) as AlertEvent);
  }

  /**
   * The latest state of each alert matching the filter, newest first, with the
   * severity it fired with (null if it never fired).
   */
  async list(filter: AlertListFilter): Promise<{ alert: AlertEvent; firing_severity: AlertSeverity | null }[]> {
    const { sql, params } = buildAlertListQuery(filter);
    const rows = await this.#clickhouse.query({ name: 'alert_list', sql, params, schema: listedRow });
    return rows.map((row) => ({ alert: JSON.parse(row.last) as AlertEvent, firing_severity: row.firing_severity === '' ? null : (row.firing_severity as AlertSeverity) }));
  }

  /**
   * Every recorded state of one alert, latest first, with when it was
   * recorded (a ClickHouse DateTime64 text: the delivered_at of the
   * deliveries recorded with it).
   */
  async states(alertId: string): Promise<{ alert: AlertEvent; recorded_at: string }[]> {
    const rows = await this.#clickhouse.query({
      name: 'alert_states',
      sql: 'SELECT alert, toString(recorded_at) AS recorded_at FROM {db:Identifier}.alert_states_v1 WHERE alert_id = {id:String} ORDER BY recorded_at DESC LIMIT 1000',
      params: { id: alertId },
      schema: stateRow,
    });
    return rows.map((row) => ({ alert: JSON.parse(row.alert) as AlertEvent, recorded_at: row.recorded_at }));
  }

  /** Every recorded state change of a source's alerts, latest first. */
  async history(sourceId: string): Promise<AlertEvent[]> {
    const rows = await this.#clickhouse.query({
      name: 'alert_history',
      sql: 'SELECT alert_id, alert AS last FROM {db:Identifier}.alert_states_v1 WHERE source_id = {source_id:String} ORDER BY recorded_at DESC LIMIT 1000',
      params: { source_id: sourceId },
      schema: latestRow,
    });
    return rows.map((row) => JSON.parse(row.last) as AlertEvent);
  }

  /** The delivery log of the alerts, oldest first; delivered_at is ClickHouse DateTime64 text. */
  async deliveries(alertIds: readonly string[]): Promise<StoredDelivery[]> {
    if (alertIds.length === 0) return [];
    return this.#clickhouse.query({
      name: 'alert_deliveries',
      sql: "SELECT alert_id, state, channel, channel_type, attempts, outcome, status_code, error, toString(delivered_at) AS delivered_at FROM {db:Identifier}.alert_deliveries_v1 WHERE alert_id IN {ids:Array(String)} ORDER BY delivered_at",
      params: { ids: alertIds },
      schema: deliveryRow,
    });
  }

  async record(alerts: readonly AlertEvent[], deliveries: readonly DeliveryRecord[]): Promise<void> {
    const now = formatDateTime64(Date.now());
    // Deliveries first: a state is recorded (and so never notified again) only after its channels were tried.
    if (deliveries.length > 0) await this.#clickhouse.insert('alert_deliveries', 'alert_deliveries_v1', deliveries.map((delivery) => ({ ...delivery, delivered_at: now })));
    if (alerts.length > 0) {
      await this.#clickhouse.insert(
        'alert_states',
        'alert_states_v1',
        alerts.map((alert) => ({ alert_id: alert.alert_id, state: alert.state, kind: alert.kind, source_id: alert.source_id, severity: alert.severity, period: alert.period, alert: JSON.stringify(alert), recorded_at: now })),
      );
    }
  }
}
