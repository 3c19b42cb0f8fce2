import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM } from '../../services/project-paths.ts';

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

/** A free port whose successor is free too (the controller listener). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort(0);
    if (port < 65535 && (await freePort(port + 1)) === port + 1) return port;
  }
}

function freePort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(-1));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : -1));
    });
  });
}
