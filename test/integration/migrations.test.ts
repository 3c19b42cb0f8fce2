import { cpSync, mkdtempSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createClickHouse, type ClickHouse } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../../services/clickhouse/migrations.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SQL_DIR } from '../../services/project-paths.ts';
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
});
