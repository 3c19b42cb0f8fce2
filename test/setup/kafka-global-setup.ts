import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM } from '../../services/project-paths.ts';
import { freePortPair } from '../support/free-ports.ts';

/**
 * Integration tests run against a real broker: the one KAFKA_BROKERS names, or
 * else a fresh local broker in a temporary directory, stopped and deleted when
 * the run ends.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

let broker: LocalBroker | null = null;
let dataDir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  const configured = process.env['KAFKA_BROKERS'];
  if (configured) {
    project.provide('kafkaBrokers', configured.split(',').map((b) => b.trim()));
    return;
  }
  dataDir = mkdtempSync(join(tmpdir(), 'spendline-test-kafka-'));
  const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
  broker = await startLocalBroker(
    { pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir, port: await freePortPair(), heapMb: 768, javaHome: process.env['JAVA_HOME'] },
    log,
  );
  project.provide('kafkaBrokers', [...broker.brokers]);
}

export async function teardown(): Promise<void> {
  await broker?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
