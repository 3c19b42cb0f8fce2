import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type SpendlineConfig } from '../../services/config/config.ts';

/** Tokens the test configurations accept, one per role. */
export const TEST_TOKENS = {
  admin: 'test-admin-token-0123456789',
  reader: 'test-reader-token-0123456789',
  ingest: 'test-ingest-token-0123456789',
} as const;

/** One chDB data directory per test-file process (chDB binds one per process). */
let chdbDir: string | null = null;

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * A configuration isolated from every other test: its own topic prefix,
 * consumer groups and ClickHouse database, on the broker the global setup started.
 */
export function testConfig(brokers: readonly string[], overrides: Record<string, string> = {}): SpendlineConfig {
  chdbDir ??= mkdtempSync(join(tmpdir(), 'spendline-test-chdb-'));
  const suffix = uniqueSuffix();
  const loaded = loadConfig({
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
    SPENDLINE_DATA_DIR: chdbDir,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_PREFIX: `t${suffix}.`,
    KAFKA_REPLICATION_FACTOR: '1',
    CLICKHOUSE_DATABASE: `test_${suffix}`,
    PORT: '0',
    SPENDLINE_ADMIN_TOKEN: TEST_TOKENS.admin,
    SPENDLINE_READER_TOKENS: TEST_TOKENS.reader,
    SPENDLINE_INGEST_TOKENS: TEST_TOKENS.ingest,
    ENRICHER_GROUP_ID: `t${suffix}-enricher`,
    SINK_GROUP_ID: `t${suffix}-sink`,
    NOTIFIER_GROUP_ID: `t${suffix}-notifier`,
    SINK_MAX_WAIT_MS: '100',
    ...overrides,
  });
  if (!loaded.ok) throw new Error(`bad test config: ${JSON.stringify(loaded.issues)}`);
  return { ...loaded.value, clickhouse: { ...loaded.value.clickhouse, chdbPath: join(chdbDir, 'chdb') } };
}

/** Polls until `check` returns a value that is not undefined, or fails with the last observation. */
export async function eventually<T>(check: () => Promise<T | undefined>, { timeoutMs = 30_000, intervalMs = 100, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
