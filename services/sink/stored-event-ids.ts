import { z } from 'zod';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';

const idRow = z.object({ event_id: z.string() });

/**
 * Which of these event ids are already in usage_events_v1. Served by the
 * table's by_event_id projection, so it reads a few granules, not the table.
 */
export async function storedEventIds(clickhouse: ClickHouse, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = await clickhouse.query({
    name: 'stored_event_ids',
    sql: 'SELECT DISTINCT event_id FROM {db:Identifier}.usage_events_v1 WHERE event_id IN {ids:Array(String)}',
    params: { ids: eventIds },
    schema: idRow,
  });
  return new Set(rows.map((row) => row.event_id));
}
