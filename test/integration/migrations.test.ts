import { appendFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
    // The owner rollups (migrations 6 and 9) hold them too, without the user.
    for (const view of ['usage_hourly_owner_costs_v1', 'usage_daily_owner_costs_v1'] as const) {
      const owners = await rollupAndRecomputation(clickhouse, view);
      expect(owners.rollup.length).toBeGreaterThan(0);
      expect(owners.rollup).toEqual(owners.recomputed);
    }
  });

  it('serves the FinOps views from the rows in force', async () => {
    await migrate(clickhouse, readMigrations(SQL_DIR), log);
    const daily = await clickhouse.query({
      name: 'test_v_cost_daily',
      sql: "SELECT toString(day) AS day, team, requests, toString(effective_cost) AS cost, latency_p50_ms FROM {db:Identifier}.v_cost_daily_v1 WHERE team IN ('alpha', 'beta') ORDER BY day, team",
      schema: z.object({ day: z.string(), team: z.string(), requests: z.coerce.number(), cost: z.string(), latency_p50_ms: z.coerce.number() }),
    });
    // The rows of the upgrade test: alpha 0.25 + 0.5 on 1 November, beta 0.125 on 2 November, each call 250 ms.
    expect(daily).toEqual([
      { day: '2026-11-01', team: 'alpha', requests: 2, cost: '0.75', latency_p50_ms: 250 },
      { day: '2026-11-02', team: 'beta', requests: 1, cost: '0.125', latency_p50_ms: 250 },
    ]);
    const monthly = await clickhouse.query({
      name: 'test_v_chargeback_monthly',
      sql: "SELECT toString(month) AS month, team, toString(effective_cost) AS cost FROM {db:Identifier}.v_chargeback_monthly_v1 WHERE team IN ('alpha', 'beta') ORDER BY team",
      schema: z.object({ month: z.string(), team: z.string(), cost: z.string() }),
    });
    expect(monthly).toEqual([
      { month: '2026-11-01', team: 'alpha', cost: '0.75' },
      { month: '2026-11-01', team: 'beta', cost: '0.125' },
    ]);
    const attribution = await clickhouse.query({
      name: 'test_v_attribution_daily',
      sql: "SELECT team, attribution_status, requests FROM {db:Identifier}.v_attribution_daily_v1 WHERE team IN ('alpha', 'beta') ORDER BY team",
      schema: z.object({ team: z.string(), attribution_status: z.string(), requests: z.coerce.number() }),
    });
    expect(attribution).toEqual([
      { team: 'alpha', attribution_status: '', requests: 2 },
      { team: 'beta', attribution_status: '', requests: 1 },
    ]);
  });

  it('ships a read-only FinOps user script that ClickHouse parses', async () => {
    // chDB has no users to create; the server's own parser checks every statement of the script.
    const script = readFileSync(join(SQL_DIR, '..', 'deploy', 'clickhouse', 'finops-readonly-user.sql'), 'utf8');
    const statements = script.split(/;\s*$/m).map((text) => text.replace(/^--.*$/gm, '').trim()).filter(Boolean);
    expect(statements.length).toBe(2);
    for (const statement of statements) {
      const [parsed] = await clickhouse.query({ name: 'test_parse', sql: 'SELECT formatQuery({statement:String}) AS text', params: { statement }, schema: z.object({ text: z.string() }) });
      expect(parsed?.text).toMatch(/^(CREATE USER|GRANT SELECT)/);
    }
  });
});
