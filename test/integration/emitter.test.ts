import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SPILL_FILE_NAME, UsageEmitter, type EmitterTunables, type UsageEmitterHooks } from '@spendline/emitter';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM, SCHEMA_DIRS } from '../../services/project-paths.ts';
import { FULL_USAGE_EVENT_RECORD } from '../fixtures/usage-event-examples.ts';
import { freePort, freePortPair } from '../support/free-ports.ts';
import { SeveringProxy } from '../support/severing-proxy.ts';
import { eventually, testConfig, uniqueSuffix } from '../support/test-config.ts';

/**
 * The usage emitter against real brokers: the shared one for the steady
 * state, and one of its own behind a TCP proxy the test cuts, so Kafka is
 * truly unreachable (the broker advertises the proxy's port, so every
 * connection, metadata included, goes through it).
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const dirs: string[] = [];

function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `spendline-emitter-${name}-`));
  dirs.push(dir);
  return dir;
}

function usageEvent(eventId: string, i: number): UsageEventRecord {
  return { ...FULL_USAGE_EVENT_RECORD, event_id: eventId, occurred_at: Date.now() - 60_000, input_tokens: 1_200 + i, tags: { n: String(i) } };
}

function startEmitter(kafka: Kafka, topic: string, spillDir: string, overrides: Partial<EmitterTunables> & { hooks?: UsageEmitterHooks } = {}): UsageEmitter {
  return new UsageEmitter({ kafka, topic, spillDir, log, ...overrides });
}

async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
  await admin.disconnect();
}

/** Every usage event on the topic, decoded, in the order read (duplicates kept). */
async function eventsOn(kafka: Kafka, topic: string): Promise<UsageEventRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  const consumer = kafka.consumer({ groupId: `read-${uniqueSuffix()}` });
  const events: UsageEventRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, message.value!);
      if (!decoded.ok) throw new Error(`undecodable message on ${topic}: ${decoded.reason}`);
      expect(message.key?.toString()).toBe(decoded.value.event_id);
      events.push(decoded.value);
    },
  });
  try {
    await eventually(async () => (events.length >= total ? true : undefined), { timeoutMs: 60_000, what: `${total} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return events;
}

/** Sorted distinct ids and how many messages repeated one. */
function idsOf(events: readonly UsageEventRecord[]): { ids: string[]; duplicates: number } {
  const ids = [...new Set(events.map((event) => event.event_id))].sort();
  return { ids, duplicates: events.length - ids.length };
}

const spillSize = (dir: string) => statSync(join(dir, SPILL_FILE_NAME)).size;

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('usage emitter with Kafka up', () => {
  let kafka: Kafka;
  let topic: string;

  beforeAll(async () => {
    const config = testConfig(inject('kafkaBrokers'));
    kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'emitter-test' }, log);
    topic = topicNames(config.kafka.topicPrefix).raw;
    await createTopic(kafka, topic);
  });

  it('delivers 2,000 events to the topic exactly as emitted', async () => {
    const emitter = startEmitter(kafka, topic, tempDir('steady'));
    const emitted = Array.from({ length: 2_000 }, (_, i) => usageEvent(`evt-steady-${i}`, i));
    for (const event of emitted) expect(emitter.emit(event)).toEqual({ accepted: true, spilled: false });
    expect(await emitter.flush(30_000)).toEqual({ drained: true, spilled: 0 });
    expect(emitter.counts()).toMatchObject({ emitted: 2_000, sent: 2_000, spilled: 0, buffered: 0, spillBytes: 0 });
    await emitter.close();

    const received = await eventsOn(kafka, topic);
    expect(received).toHaveLength(2_000);
    const byId = new Map(received.map((event) => [event.event_id, event]));
    for (const event of emitted) expect(byId.get(event.event_id)).toEqual(event);
  });

  it('replays a spill file a previous process left, setting a torn last line aside', async () => {
    const replayTopic = `${topic}.replay`;
    await createTopic(kafka, replayTopic);
    const dir = tempDir('leftover');
    const leftover = Array.from({ length: 250 }, (_, i) => usageEvent(`evt-leftover-${i}`, i));
    // The spill file's documented format: one {"event_id", "avro": base64 single-object message} per line.
    const lines = leftover.map((event) => `${JSON.stringify({ event_id: event.event_id, avro: registry.encode(SCHEMA_NAMES.usageEvent, event).toString('base64') })}\n`);
    // A machine crash cut the last append short; the lock names a process that no longer exists.
    writeFileSync(join(dir, SPILL_FILE_NAME), `${lines.join('')}${lines[0]!.slice(0, 30)}`);
    writeFileSync(join(dir, 'usage-events.spill.lock'), '2147483646');

    const emitter = startEmitter(kafka, replayTopic, dir);
    expect(await emitter.flush(30_000)).toEqual({ drained: true, spilled: 0 });
    expect(emitter.counts()).toMatchObject({ emitted: 0, sent: 250, replayed: 250 });
    expect(spillSize(dir)).toBe(0);
    await emitter.close();

    const { ids, duplicates } = idsOf(await eventsOn(kafka, replayTopic));
    expect(ids).toEqual(leftover.map((event) => event.event_id).sort());
    expect(duplicates).toBe(0);
    expect(readFileSync(join(dir, 'usage-events.spill.corrupt'), 'utf8')).toBe(`${lines[0]!.slice(0, 30)}\n`);
  });
});


describe('usage emitter while Kafka is unreachable', () => {
  let broker: LocalBroker;
  let proxy: SeveringProxy;
  let proxyAddress: string;
  let kafka: Kafka;

  beforeAll(async () => {
    // A free port can be taken by another process before the broker binds it: try again on new ports.
    for (let attempt = 1; ; attempt += 1) {
      const brokerPort = await freePortPair();
      const proxyPort = await freePort(0);
      proxy = await SeveringProxy.start(proxyPort, brokerPort);
      try {
        broker = await startLocalBroker(
          { pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir: join(tempDir('broker'), 'kafka'), port: brokerPort, advertisedPort: proxyPort, heapMb: 512, javaHome: process.env['JAVA_HOME'] },
          log,
        );
        proxyAddress = `127.0.0.1:${proxyPort}`;
        break;
      } catch (err) {
        await proxy.stop();
        if (attempt >= 3) throw err;
      }
    }
    kafka = createKafka({ brokers: [proxyAddress], clientId: 'emitter-outage-test' }, log);
  });

  afterAll(async () => {
    await proxy?.stop();
    await broker?.stop();
  });

  it('keeps emit() instant during an outage, spills past the buffer, and delivers every event once Kafka is back', async () => {
    const topic = `outage-${uniqueSuffix()}`;
    await createTopic(kafka, topic);
    const dir = tempDir('outage');
    // kafkajs' own connection retries (five, by default) would hide a 3 s outage inside one send;
    // without them every attempt fails at once and the emitter's own backoff does the retrying.
    const failFast = new Kafka({ clientId: 'emitter-outage-test', brokers: [proxyAddress], retry: { retries: 0, initialRetryTime: 100 }, logLevel: logLevel.NOTHING });
    let failedSends = 0;
    const emitter = startEmitter(failFast, topic, dir, { bufferCapacity: 500, maxBatch: 200, hooks: { sendFailed: () => (failedSends += 1) } });
    const ids: string[] = [];
    const emit = (phase: string, count: number) => {
      const durations: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const id = `evt-${phase}-${ids.length}`;
        ids.push(id);
        const started = performance.now();
        const result = emitter.emit(usageEvent(id, i));
        durations.push(performance.now() - started);
        expect(result.accepted).toBe(true);
      }
      return durations;
    };

    emit('before', 300);
    expect(await emitter.flush(30_000)).toMatchObject({ drained: true });

    proxy.cut();
    const durations: number[] = [];
    const spillSizes: number[] = [];
    // Traffic keeps coming for ~3 s of outage: 30 bursts of 100.
    for (let burst = 0; burst < 30; burst += 1) {
      durations.push(...emit('during', 100));
      spillSizes.push(spillSize(dir));
      await sleep(100);
    }
    const during = emitter.counts();
    expect(during.sent).toBe(300);
    expect(during.buffered).toBe(500);
    expect(during.spilled).toBe(2_500);
    // The spill file grew with the traffic once the buffer was full.
    expect(spillSizes[0]).toBe(0);
    expect(spillSizes.at(-1)).toBeGreaterThan(spillSizes[10]!);
    expect(spillSizes[10]).toBeGreaterThan(spillSizes[5]!);
    // emit() never waits for Kafka: a few microseconds of validation, encoding and (past the buffer) one write.
    expect(Math.max(...durations)).toBeLessThan(50);
    expect(durations.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(1_500);

    expect(failedSends).toBeGreaterThanOrEqual(3);

    proxy.restore();
    // The loop has not run since the restore, so the buffer is still full: these spill too.
    emit('after', 200);
    expect(emitter.counts()).toMatchObject({ buffered: 500, spilled: 2_700 });
    expect(await emitter.flush(60_000)).toEqual({ drained: true, spilled: 0 });
    expect(spillSize(dir)).toBe(0);
    const counts = emitter.counts();
    expect(counts).toMatchObject({ emitted: 3_500, spilled: 2_700, replayed: 2_700, buffered: 0, spillBytes: 0, refused: 0 });
    await emitter.close();

    const received = idsOf(await eventsOn(kafka, topic));
    expect(received.ids).toEqual([...ids].sort());
    // Resends only follow a lost acknowledgement; report them so a regression shows.
    expect(received.duplicates).toBeLessThanOrEqual(200);
    console.info(`emitter outage: ${received.duplicates} duplicate messages, slowest emit ${Math.max(...durations).toFixed(2)} ms`);
  });

  it('close() with Kafka down leaves the rest in the spill file, and the next emitter sends it', async () => {
    const topic = `shutdown-${uniqueSuffix()}`;
    await createTopic(kafka, topic);
    const dir = tempDir('shutdown');
    const ids = Array.from({ length: 1_100 }, (_, i) => `evt-shutdown-${i}`);
    const first = startEmitter(kafka, topic, dir, { bufferCapacity: 500 });
    for (const [i, id] of ids.slice(0, 100).entries()) first.emit(usageEvent(id, i));
    expect(await first.flush(30_000)).toMatchObject({ drained: true });

    proxy.cut();
    for (const [i, id] of ids.slice(100).entries()) first.emit(usageEvent(id, i));
    const started = Date.now();
    expect(await first.close(1_000)).toEqual({ drained: false, spilled: 500 });
    // The flush timeout plus at most the grace for the send in flight (1 s each by default), not kafkajs' own retries.
    expect(Date.now() - started).toBeLessThan(2_800);
    expect(first.counts()).toMatchObject({ emitted: 1_100, sent: 100, spilled: 1_000, buffered: 0 });
    const lines = readFileSync(join(dir, SPILL_FILE_NAME), 'utf8').trimEnd().split('\n');
    expect(new Set(lines.map((line) => (JSON.parse(line) as { event_id: string }).event_id))).toEqual(new Set(ids.slice(100)));

    proxy.restore();
    const second = startEmitter(kafka, topic, dir);
    expect(await second.flush(60_000)).toEqual({ drained: true, spilled: 0 });
    expect(second.counts()).toMatchObject({ replayed: 1_000 });
    expect(spillSize(dir)).toBe(0);
    await second.close();

    const received = idsOf(await eventsOn(kafka, topic));
    expect(received.ids).toEqual([...ids].sort());
    expect(received.duplicates).toBe(0);
  });
});
