import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` runs pure logic with no broker (the packages' own
 * tests included); `integration` runs against the real Kafka broker (started
 * by test/setup/kafka-global-setup.ts unless KAFKA_BROKERS points at one) and
 * a real embedded ClickHouse (chDB, one data directory per test file process).
 *
 * `@spendline/emitter` resolves to its TypeScript source through the `paths`
 * of tsconfig.json, as for tsc and tsx: nothing is built to run the tests.
 */
export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/setup/kafka-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
