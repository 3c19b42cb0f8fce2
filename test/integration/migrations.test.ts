import { cpSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClickHouse, type ClickHouse } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations, withDatabase } from '../../services/clickhouse/migrations.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SQL_DIR } from '../../services/project-paths.ts';
import { rollupAndRecomputation } from '../support/rollup-check.ts';
import { testConfig } from '../support/test-config.ts';

/** Migrations against the real embedded ClickHouse engine. */

const log = createLogger('silent');
let clickhouse: ClickHouse;

beforeAll(async () => {
  clickhouse = await createClickHouse(testConfig(['127.0.0.1:1']).clickhouse, log);
});

afterAll(async () => {
  await clickhouse.close();
});

const column = z.object({ name: z.string(), type: z.string(), comment: z.string() });

describe('migrations', () => {
  it('creates the schema once, records it, and is a no-op the second time', async () => {
    const migrations = readMigrations(SQL_DIR);
    expect(await migrate(clickhouse, migrations, log)).toEqual(migrations.map((m) => m.version));
    expect(await migrate(clickhouse, migrations, log)).toEqual([]);

    const columns = await clickhouse.query({
      name: 'test_columns',
      sql: "SELECT name, type, comment FROM system.columns WHERE database = {db:String} AND table = 'usage_events_v1'",
      params: { db: clickhouse.database },
      schema: column,
    });
    expect(columns.find((c) => c.name === 'cost')?.type).toBe('Decimal(38, 12)');
    // Every column says what it means.
    expect(columns.filter((c) => c.comment.trim() === '').map((c) => c.name)).toEqual([]);
  });

  it('refuses to start when a shipped migration was edited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendline-sql-'));
    cpSync(SQL_DIR, dir, { recursive: true });
    const next = readMigrations(SQL_DIR).length + 1;
    const file = join(dir, `${String(next).padStart(3, '0')}_extra.sql`);
    writeFileSync(file, 'CREATE TABLE IF NOT EXISTS {db:Identifier}.extra_v1 (a UInt8 COMMENT \'test\') ENGINE = MergeTree ORDER BY a;\n');
    expect(await migrate(clickhouse, readMigrations(dir), log)).toEqual([next]);
    appendFileSync(file, '-- edited\n');
    await expect(migrate(clickhouse, readMigrations(dir), log)).rejects.toThrow(new RegExp(`migration ${next} \\(extra\\) changed after it was applied`));
  });

  it('fills the hourly rollup from the events already stored when it is created (an upgrade)', async () => {
    await migrate(clickhouse, readMigrations(SQL_DIR), log);
    const row = (eventId: string, hour: number, team: string, cost: string) => ({
      event_id: eventId, occurred_at: `2026-11-0${hour} 10:15:00.000`, received_at: '2026-11-01 10:15:00.000', enriched_at: '2026-11-01 10:15:00.000',
      provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', team, environment: 'prod', tags: {}, input_tokens: 1000, output_tokens: 10,
      latency_ms: 250, cost, list_cost: cost, currency: 'USD', cost_status: 'priced', price_version: 'x', source_partition: 0, source_offset: 0,
    });
    await clickhouse.insert('test_rows', 'usage_events_v1', [row('m-1', 1, 'alpha', '0.25'), row('m-2', 1, 'alpha', '0.5'), row('m-3', 2, 'beta', '0.125')]);
    // As if the rows had been stored before migration 4: drop the rollup and create it again.
    await clickhouse.command({ name: 'test_drop_rollup', sql: withDatabase('DROP VIEW {db:Identifier}.usage_hourly_v1', clickhouse.database) });
    const rollupMigration = readMigrations(SQL_DIR).find((migration) => migration.name === 'usage_hourly_rollup')!;
    await clickhouse.command({ name: 'test_create_rollup', sql: withDatabase(rollupMigration.statements[0]!, clickhouse.database) });
    const { rollup, recomputed } = await rollupAndRecomputation(clickhouse);
    expect(rollup.map((r) => [r['team'], r['total_cost'], r['total_events']])).toEqual([['alpha', '0.75', '2'], ['beta', '0.125', '1']]);
    expect(rollup).toEqual(recomputed);
  });
});
