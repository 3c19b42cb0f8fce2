import { TOKEN_FIELDS } from '@spendline/emitter/usage-event';
import { z } from 'zod';
import { clickHouseTimeToIso, type ClickHouse } from '../clickhouse/clickhouse.ts';
import { buildEventPageQuery, EVENT_COLUMNS } from './event-export-query.ts';
import type { ExportRange } from './export-plan.ts';
import type { ExportRow } from './export-format.ts';

/**
 * GET /v1/exports/events: every usage event in force over a range, one row
 * each, read a page at a time (see export-plan.ts and event-export-query.ts).
 */

/** Columns of the exported file, in order: the stored ones, under their stored names. */
export const EVENT_EXPORT_COLUMNS: readonly string[] = EVENT_COLUMNS;

const OWNER_COLUMNS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id', 'api_key_id', 'gateway_id'] as const;

const count = z.coerce.number();
const storedEvent = z.object({
  event_id: z.string(),
  /** "2026-11-02 10:00:00.000" (UTC), as ClickHouse writes a DateTime64(3, 'UTC'). */
  occurred_at: z.string(),
  provider: z.string(),
  model: z.string(),
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_write_tokens: count,
  reasoning_tokens: count,
  input_audio_tokens: count,
  cache_audio_read_tokens: count,
  output_audio_tokens: count,
  cost_text: z.string(),
  list_cost_text: z.string(),
  currency: z.string(),
  cost_status: z.string(),
  tenant_id: z.string(),
  cost_center: z.string(),
  team: z.string(),
  feature: z.string(),
  environment: z.string(),
  user_id: z.string(),
  api_key_id: z.string(),
  gateway_id: z.string(),
  tags: z.record(z.string(), z.string()),
});
export type StoredEvent = z.output<typeof storedEvent>;

/** A stored event as an export row: RFC 3339 time, exact money text, null for attribution left empty. */
export function exportedEvent(row: StoredEvent): ExportRow {
  return {
    event_id: row.event_id,
    occurred_at: clickHouseTimeToIso(row.occurred_at),
    provider: row.provider,
    model: row.model,
    ...Object.fromEntries(TOKEN_FIELDS.map((column) => [column, row[column]])),
    cost: row.cost_text,
    list_cost: row.list_cost_text,
    currency: row.currency,
    cost_status: row.cost_status,
    ...Object.fromEntries(OWNER_COLUMNS.map((column) => [column, row[column] === '' ? null : row[column]])),
    tags: row.tags,
  };
}

/**
 * Pages of exported events, in (occurred_at, event_id) order. A page is read
 * only when the consumer asks for the next one (the reply stream's
 * backpressure), so memory holds one page whatever the range.
 */
export async function* eventExportPages(clickhouse: ClickHouse, range: ExportRange, slices: readonly { from: number; to: number }[], pageRows: number): AsyncGenerator<ExportRow[]> {
  for (const slice of slices) {
    let after: { occurredAt: string; eventId: string } | null = null;
    for (;;) {
      const built = buildEventPageQuery({ from: slice.from, to: slice.to, scope: range.scope, after, limit: pageRows });
      const rows = await clickhouse.query({ name: 'event_export_page', sql: built.sql, params: built.params, schema: storedEvent });
      if (rows.length > 0) yield rows.map(exportedEvent);
      const last = rows.at(-1);
      if (rows.length < pageRows || last === undefined) break;
      after = { occurredAt: last.occurred_at, eventId: last.event_id };
    }
  }
}
