import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` runs pure logic with no broker; `integration` runs
 * against the real Kafka broker (started by test/setup/kafka-global-setup.ts
 * unless KAFKA_BROKERS points at one) and a real embedded ClickHouse (chDB,
 * one data directory per test file process).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
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
