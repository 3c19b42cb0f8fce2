import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { AlertEvent } from './alert-event.ts';
import { scopeNames } from './alert-scope.ts';

/**
 * A silence: alerts whose scope matches are recorded but nobody is told,
 * from starts_at until ends_at (exclusive) or until it is lifted. Times are
 * epoch ms.
 */
export interface Silence {
  readonly silence_id: string;
  /** Dimension → value an alert's scope must name; every entry must match. */
  readonly scope: Readonly<Record<string, string>>;
  /** Alert kinds silenced; empty: every kind. */
  readonly kinds: readonly string[];
  readonly starts_at: number;
  readonly ends_at: number;
  readonly reason: string;
  readonly created_by: string;
  readonly created_at: number;
  readonly cancelled_at: number | null;
  readonly cancelled_by: string;
}

export interface NewSilence {
  readonly scope: Readonly<Record<string, string>>;
  readonly kinds: readonly string[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly reason: string;
  readonly actor: string;
}

/** True when the silence's scope and kinds cover the alert, whatever the time. */
export function silenceCovers(silence: Silence, alert: Pick<AlertEvent, 'kind' | 'scope'>): boolean {
  if (silence.kinds.length > 0 && !silence.kinds.includes(alert.kind)) return false;
  return Object.entries(silence.scope).every(([dimension, value]) => scopeNames(alert.scope, dimension, value));
}

/** True when the silence is in force at `now`: started, not ended (ends_at is exclusive), not lifted. */
export function silenceActive(silence: Silence, now: number): boolean {
  return silence.cancelled_at === null && silence.starts_at <= now && now < silence.ends_at;
}

/** The silence in force that keeps an alert from its channels at `now` (the one ending last), or null. */
export function silencedBy(alert: Pick<AlertEvent, 'kind' | 'scope'>, silences: readonly Silence[], now: number): Silence | null {
  let found: Silence | null = null;
  for (const silence of silences) {
    if (silenceActive(silence, now) && silenceCovers(silence, alert) && (found === null || silence.ends_at > found.ends_at)) found = silence;
  }
  return found;
}

// Times are read as epoch ms under their own names: an alias named like its column would change what WHERE compares.
const silenceRow = z.object({
  silence_id: z.string(),
  scope: z.record(z.string(), z.string()),
  kinds: z.array(z.string()),
  starts_ms: z.coerce.number(),
  ends_ms: z.coerce.number(),
  reason: z.string(),
  created_by: z.string(),
  created_ms: z.coerce.number(),
  cancelled_ms: z.coerce.number().nullable(),
  cancelled_by: z.string(),
});

const COLUMNS = [
  'silence_id, scope, kinds, reason, created_by, cancelled_by',
  'toUnixTimestamp64Milli(starts_at) AS starts_ms, toUnixTimestamp64Milli(ends_at) AS ends_ms, toUnixTimestamp64Milli(created_at) AS created_ms',
  'if(cancelled_at IS NULL, NULL, toUnixTimestamp64Milli(assumeNotNull(cancelled_at))) AS cancelled_ms',
].join(', ');

function toSilence({ starts_ms, ends_ms, created_ms, cancelled_ms, ...row }: z.infer<typeof silenceRow>): Silence {
  return { ...row, starts_at: starts_ms, ends_at: ends_ms, created_at: created_ms, cancelled_at: cancelled_ms };
}

function toRow(silence: Silence, updatedAt: number): Record<string, unknown> {
  return {
    ...silence,
    starts_at: formatDateTime64(silence.starts_at),
    ends_at: formatDateTime64(silence.ends_at),
    created_at: formatDateTime64(silence.created_at),
    cancelled_at: silence.cancelled_at === null ? null : formatDateTime64(silence.cancelled_at),
    updated_at: formatDateTime64(updatedAt),
  };
}

/**
 * Silences in ClickHouse (alert_silences_v1, sql/010): each change writes a
 * new version of the row; reads take the latest with FINAL.
 */
export class SilenceStore {
  readonly #clickhouse: ClickHouse;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  /** The silences in force at `now`. */
  async active(now: number = Date.now()): Promise<Silence[]> {
    return this.#select('alert_silences_active', "cancelled_at IS NULL AND starts_at <= {now:DateTime64(3, 'UTC')} AND ends_at > {now:DateTime64(3, 'UTC')}", { now: formatDateTime64(now) });
  }

  /** Silences not yet ended nor lifted (in force or upcoming); with includeExpired, every silence ever made. Latest start first. */
  async list(options: { includeExpired?: boolean } = {}, now: number = Date.now()): Promise<Silence[]> {
    if (options.includeExpired) return this.#select('alert_silences_all', '1', {});
    return this.#select('alert_silences_current', "cancelled_at IS NULL AND ends_at > {now:DateTime64(3, 'UTC')}", { now: formatDateTime64(now) });
  }

  async get(id: string): Promise<Silence | null> {
    const [found] = await this.#select('alert_silence', 'silence_id = {id:String}', { id });
    return found ?? null;
  }

  async create(silence: NewSilence, now: number = Date.now()): Promise<Silence> {
    const created: Silence = {
      silence_id: randomUUID(),
      scope: silence.scope,
      kinds: silence.kinds,
      starts_at: silence.startsAt,
      ends_at: silence.endsAt,
      reason: silence.reason,
      created_by: silence.actor,
      created_at: now,
      cancelled_at: null,
      cancelled_by: '',
    };
    await this.#clickhouse.insert('alert_silence', 'alert_silences_v1', [toRow(created, now)]);
    return created;
  }

  /** Lifts a silence now; null when there is no such silence. Lifting a lifted silence changes nothing. */
  async cancel(id: string, actor: string, now: number = Date.now()): Promise<Silence | null> {
    const found = await this.get(id);
    if (!found || found.cancelled_at !== null) return found;
    const cancelled: Silence = { ...found, cancelled_at: now, cancelled_by: actor };
    // updated_at must exceed the created row's, even within the same millisecond.
    await this.#clickhouse.insert('alert_silence_cancel', 'alert_silences_v1', [toRow(cancelled, Math.max(now, found.created_at + 1))]);
    return cancelled;
  }

  async #select(name: string, condition: string, params: Record<string, unknown>): Promise<Silence[]> {
    const rows = await this.#clickhouse.query({
      name,
      sql: `SELECT ${COLUMNS} FROM {db:Identifier}.alert_silences_v1 FINAL WHERE ${condition} ORDER BY starts_at DESC, silence_id LIMIT 10000`,
      params,
      schema: silenceRow,
    });
    return rows.map(toSilence);
  }
}
