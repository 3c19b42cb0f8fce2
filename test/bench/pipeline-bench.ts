/**
 * npm run bench:pipeline — events per second through ingest → Kafka →
 * enricher → sink → ClickHouse, and the ingest-to-queryable delay.
 *
 * Runs the whole pipeline in this process (as `spendline start` does) on a
 * fresh local broker and a fresh chDB, and drives it from a separate load
 * process over real HTTP. Two phases:
 *   1. saturation: BENCH_EVENTS events as fast as ingest accepts them;
 *      end-to-end rate = events / (last row inserted − first event received);
 *   2. paced: BENCH_PACED_RATE events/s for BENCH_PACED_SECONDS, the delay a
 *      steady stream sees (no backlog).
 * The delay of an event is inserted_at − received_at: from the Kafka
 * acknowledgement of the raw event to its row being written by the sink.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../../services/config/config.ts';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM, PROJECT_ROOT } from '../../services/project-paths.ts';
import { startProcess } from '../../services/runtime/spendline-process.ts';

const env = process.env;
const events = Number(env['BENCH_EVENTS'] ?? 200_000);
const pacedRate = Number(env['BENCH_PACED_RATE'] ?? 2_000);
const pacedSeconds = Number(env['BENCH_PACED_SECONDS'] ?? 30);
const traces = env['BENCH_TRACES'] ?? ['code', 'conv'].map((kind) => join(PROJECT_ROOT, `../shared/data/traces/azure-llm-inference-2023-${kind}.csv`)).join(',');
const token = 'bench-admin-token-0123456789';

const log = createLogger(env['LOG_LEVEL'] ?? 'warn');
const dir = mkdtempSync(join(tmpdir(), 'spendline-bench-'));
let broker: LocalBroker | null = null;
const brokers = env['KAFKA_BROKERS'] ? env['KAFKA_BROKERS'].split(',') : null;
if (!brokers) {
  broker = await startLocalBroker({ pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir: join(dir, 'kafka'), port: 29192, javaHome: env['JAVA_HOME'] }, log);
}
const loaded = loadConfig({
  LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn',
  SPENDLINE_DATA_DIR: dir,
  KAFKA_BROKERS: (brokers ?? broker!.brokers).join(','),
  KAFKA_TOPIC_PREFIX: `bench${Date.now()}.`,
  KAFKA_TOPIC_PARTITIONS: env['KAFKA_TOPIC_PARTITIONS'] ?? '3',
  PORT: '0',
  SPENDLINE_ADMIN_TOKEN: token,
  SINK_MAX_WAIT_MS: env['SINK_MAX_WAIT_MS'] ?? '500',
  SINK_MIN_BATCH_BYTES: env['SINK_MIN_BATCH_BYTES'] ?? String(256 * 1024),
});
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
const config = loaded.value;
const running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: brokers ?? broker!.brokers, log });
const clickhouse = running.clickhouse!;

function drive(phase: Record<string, string>): Promise<{ accepted: number; seconds: number; eventsPerSecond: number; failedRequests: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/bench/load-driver.ts')], {
      env: { ...env, BENCH_URL: running.url, BENCH_TOKEN: token, BENCH_TRACES: traces, ...phase },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`load driver exited with ${code}`))));
  });
}

const stats = z.object({
  n: z.coerce.number(),
  p50: z.coerce.number(),
  p99: z.coerce.number(),
  max: z.coerce.number(),
  span_ms: z.coerce.number(),
});

async function phaseStats(gateway: string, expected: number) {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const [row] = await clickhouse.query({
      name: 'bench_stats',
      sql: `SELECT count() AS n,
              quantileExact(0.5)(dateDiff('millisecond', received_at, inserted_at)) AS p50,
              quantileExact(0.99)(dateDiff('millisecond', received_at, inserted_at)) AS p99,
              max(dateDiff('millisecond', received_at, inserted_at)) AS max,
              dateDiff('millisecond', min(received_at), max(inserted_at)) AS span_ms
            FROM {db:Identifier}.usage_events_v1 WHERE gateway_id = {gateway:String}`,
      params: { gateway },
      schema: stats,
    });
    if (row!.n >= expected || Date.now() > deadline) return row!;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const rssSamples: number[] = [];
const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss), 500);

process.stderr.write(`phase 1: ${events} events as fast as ingest accepts them...\n`);
const saturated = await drive({ BENCH_EVENTS: String(events), BENCH_GATEWAY: 'bench-saturation', BENCH_RATE: '0' });
const saturation = await phaseStats('bench-saturation', saturated.accepted);
const pacedEvents = pacedRate * pacedSeconds;
process.stderr.write(`phase 2: ${pacedEvents} events at ${pacedRate}/s...\n`);
const paced = await drive({ BENCH_EVENTS: String(pacedEvents), BENCH_GATEWAY: 'bench-paced', BENCH_RATE: String(pacedRate), BENCH_BATCH: String(Math.max(1, Math.round(pacedRate / 20))) });
const steady = await phaseStats('bench-paced', paced.accepted);
clearInterval(sampler);

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
const report = {
  machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version },
  saturation: {
    events: saturation.n,
    ingestEventsPerSecond: Math.round(saturated.eventsPerSecond),
    endToEndEventsPerSecond: Math.round(saturation.n / (saturation.span_ms / 1000)),
    delayMs: { p50: saturation.p50, p99: saturation.p99, max: saturation.max },
  },
  paced: {
    events: steady.n,
    targetEventsPerSecond: pacedRate,
    achievedEventsPerSecond: Math.round(paced.eventsPerSecond),
    delayMs: { p50: steady.p50, p99: steady.p99, max: steady.max },
  },
  pipelineProcessRssMiB: { peak: mib(Math.max(...rssSamples)), last: mib(rssSamples.at(-1) ?? 0) },
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

await running.stop();
await broker?.stop();
rmSync(dir, { recursive: true, force: true });
