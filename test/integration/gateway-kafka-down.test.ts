import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { SPILL_FILE_NAME } from '@spendline/emitter';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { Kafka } from 'kafkajs';
import type { Counter, Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM, SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { freePort, freePortPair } from '../support/free-ports.ts';
import { SeveringProxy } from '../support/severing-proxy.ts';
import { eventually, testConfig, TEST_TOKENS, uniqueSuffix } from '../support/test-config.ts';

/**
 * The thin gateway while Kafka goes away during traffic, end to end: a
 * Spendline process running the gateway (and the API, to issue its key) on a
 * broker of its own behind a TCP proxy the test controls. The broker
 * advertises the proxy's port, so kafkajs cannot route around it. Kafka goes
 * away twice: refusing connections (a broker down), then silent (a network
 * partition, where waiting on Kafka would mean waiting for timeouts). Calls
 * keep being answered at once with the upstream's body; their usage events go
 * to the emitter's buffer and, past GATEWAY_EVENT_BUFFER, its spill file; once
 * Kafka is back every call's event reaches usage.raw.v1 and the spill file
 * empties. Each call carries its own x-spendline-session, so its event is
 * found by it. Readiness is not checked: with Kafka away the process's
 * consumers (budget status feed, notifier) are not ready, as expected.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);

/** Calls per outage: while Kafka is up, while it is away (more than the buffer holds), and after it is back. */
const CALLS = { before: 200, during: 600, after: 100 } as const;
/** How long the calls made while Kafka is away are spread over (ms). */
const OUTAGE_MS = 5_000;
const EVENT_BUFFER = 100;
/** Calls in flight at once. */
const CONCURRENCY = 10;
/** How long the process may take to stop at the end, Kafka being back (ms); its emitter's flush alone may take 10 s. */
const STOP_MS = 30_000;
/** Below kafkajs' connection and request timeouts (3 s, 30 s): a call that waited on a silent Kafka fails it. A correctness bound, not a benchmark. */
const MAX_CALL_MS = 2_000;

let dir: string;
let broker: LocalBroker;
let proxy: SeveringProxy;
let brokers: string[];
let upstream: Server;
let running: RunningProcess;
let rawTopic: string;
let spillFile: string;

/** What the stand-in upstream answers: an OpenAI chat completion echoing the prompt, so each caller can check it got its own answer. */
function upstreamAnswer(prompt: string) {
  return {
    id: `chatcmpl-${prompt}`,
    object: 'chat.completion',
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: `echo: ${prompt}` }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 },
  };
}

/**
 * A broker of this test's own behind a SeveringProxy, the broker advertising
 * the proxy's port. Free ports are only free when looked at: if another
 * program takes one before the broker binds it, start again on others.
 */
async function startBrokerBehindProxy(): Promise<{ broker: LocalBroker; proxy: SeveringProxy; brokers: string[] }> {
  for (let attempt = 1; ; attempt += 1) {
    const brokerPort = await freePortPair();
    const proxyPort = await freePort(0);
    if (proxyPort < 0 || proxyPort === brokerPort || proxyPort === brokerPort + 1) continue;
    let started: SeveringProxy | null = null;
    try {
      started = await SeveringProxy.start(proxyPort, brokerPort);
      const dataDir = join(dir, `kafka-${attempt}`);
      const local = await startLocalBroker({ pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir, port: brokerPort, advertisedPort: proxyPort, heapMb: 512, javaHome: process.env['JAVA_HOME'] }, log);
      return { broker: local, proxy: started, brokers: [`127.0.0.1:${proxyPort}`] };
    } catch (err) {
      await started?.stop();
      if (attempt >= 3 || !/address already in use|EADDRINUSE|taken by another program/i.test(String(err))) throw err;
    }
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-gateway-kafka-down-'));
  ({ broker, proxy, brokers } = await startBrokerBehindProxy());

  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: { content: string }[] };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(upstreamAnswer(body.messages[0]!.content)));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  writeFileSync(
    join(dir, 'gateway.json'),
    JSON.stringify({ gateway_id: 'gw-kafka-down', upstreams: [{ name: 'openai', api: 'openai', provider: 'openai', base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` }] }),
  );
  const spillDir = join(dir, 'spill');
  spillFile = join(spillDir, SPILL_FILE_NAME);
  const config = testConfig(brokers, { SPENDLINE_GATEWAY_FILE: join(dir, 'gateway.json'), GATEWAY_SPILL_DIR: spillDir, GATEWAY_EVENT_BUFFER: String(EVENT_BUFFER) });
  rawTopic = topicNames(config.kafka.topicPrefix).raw;
  running = await startProcess({ config, services: new Set(['gateway', 'api']), brokers, log, processMetrics: false });
}, 180_000);

afterAll(async () => {
  // Kafka is back by now, so the process stops cleanly (its emitter drained). If it does not,
  // the broker, a Java process of its own, is stopped all the same and the hook fails.
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      (running?.stop() ?? Promise.resolve()).then(() => 'stopped' as const),
      new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), STOP_MS))),
    ]);
    expect(outcome, `the process stopped within ${STOP_MS} ms`).toBe('stopped');
  } finally {
    clearTimeout(timer);
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
    await proxy?.stop();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

async function metricValue(metric: Counter | Gauge): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

const spillBytes = () => statSync(spillFile).size;

async function emitterRetries(): Promise<number> {
  return (await running.metrics.retries.get()).values.find((value) => value.labels['operation'] === 'emitter_send')?.value ?? 0;
}

interface Phase {
  /** The x-spendline-session of each call made. */
  readonly sessions: string[];
  /** Wall time of each call, request sent to body read (ms). */
  readonly durations: number[];
  readonly elapsedMs: number;
}

/**
 * `count` chat calls through the gateway, CONCURRENCY at a time, started no
 * faster than evenly over `spreadMs`; each must answer 200 with its own
 * upstream answer, the whole body within MAX_CALL_MS.
 */
async function callGateway(key: string, phase: string, count: number, spreadMs = 0): Promise<Phase> {
  const sessions = Array.from({ length: count }, (_, i) => `${phase}-${i}-${uniqueSuffix()}`);
  const durations: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  let next = 0;
  // The first failure stops the phase: a gateway waiting on Kafka would otherwise take minutes to fail.
  const worker = async () => {
    while (next < sessions.length && failures.length === 0) {
      const index = next++;
      const session = sessions[index]!;
      const due = started + (index * spreadMs) / count - performance.now();
      if (due > 0) await sleep(due);
      const callStarted = performance.now();
      try {
        const response = await fetch(`${running.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-spendline-session': session },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: session }] }),
          signal: AbortSignal.timeout(MAX_CALL_MS),
        });
        const body: unknown = await response.json();
        durations.push(performance.now() - callStarted);
        if (response.status !== 200 || !isDeepStrictEqual(body, upstreamAnswer(session))) failures.push(`${session}: ${response.status} ${JSON.stringify(body)}`);
      } catch (err) {
        const timedOut = err instanceof DOMException && err.name === 'TimeoutError';
        failures.push(`${session}: ${timedOut ? `no complete answer within ${MAX_CALL_MS} ms` : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(failures).toEqual([]);
  return { sessions, durations, elapsedMs: performance.now() - started };
}

/** Every message on the topic, decoded, duplicates kept: read until as many as the topic's offsets say it holds. */
async function eventsOn(kafka: Kafka, topic: string): Promise<UsageEventRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
  const consumer = kafka.consumer({ groupId: `read-${uniqueSuffix()}` });
  const events: UsageEventRecord[] = [];
  const unreadable: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, message.value!);
      if (!decoded.ok) unreadable.push(decoded.reason);
      else if (message.key?.toString() !== decoded.value.event_id) unreadable.push(`key ${message.key?.toString()} is not event_id ${decoded.value.event_id}`);
      else events.push(decoded.value);
    },
  });
  try {
    await eventually(async () => (events.length + unreadable.length >= total ? true : undefined), { timeoutMs: 60_000, what: `${total} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  expect(unreadable).toEqual([]);
  return events;
}

const slowest = (phase: Phase) => Math.max(...phase.durations);
const summary = (phase: Phase) => `${phase.sessions.length} calls in ${phase.elapsedMs.toFixed(0)} ms (slowest ${slowest(phase).toFixed(1)} ms)`;

describe('gateway while Kafka is unreachable during traffic', () => {
  let key: string;
  let keyId: string;
  /** Sessions of every call made so far, over both outages. */
  const calls: string[] = [];
  let messagesSeen = 0;

  beforeAll(async () => {
    const issued = await fetch(`${running.url}/v1/admin/gateway-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKENS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kafka outage test', owner: { team: 'search', environment: 'prod' } }),
    });
    expect(issued.status).toBe(201);
    ({ key, key_id: keyId } = (await issued.json()) as { key: string; key_id: string });
  });

  /**
   * Calls before, during and after an outage `takeAway()` starts and
   * proxy.restore() ends, the outage lasting until the emitter has seen at
   * least `failedSendsBeforeRestore` sends fail.
   */
  async function outage(name: string, takeAway: () => void, failedSendsBeforeRestore = 0): Promise<void> {
    const { metrics } = running;
    const sent = () => metricValue(metrics.emitterEventsSent);
    const emitted = () => metricValue(metrics.emitterEventsEmitted);
    const spilled = () => metricValue(metrics.emitterEventsSpilled);
    const emittedAtStart = await emitted();
    const sentAtStart = await sent();
    const spilledAtStart = await spilled();

    const before = await callGateway(key, `${name}-before`, CALLS.before);
    expect(slowest(before)).toBeLessThan(MAX_CALL_MS);
    // Kafka took every event so far: the outage starts with nothing in flight. (`sent` counts resends too.)
    await eventually(
      async () => ((await sent()) - sentAtStart >= CALLS.before && (await metricValue(metrics.emitterEventsBuffered)) === 0 && spillBytes() === 0 ? true : undefined),
      { what: `every event acknowledged before the ${name} outage` },
    );
    const emittedAtCut = emittedAtStart + CALLS.before;
    const sentAtCut = await sent();
    // Kafka can be slow enough before the cut for the buffer to fill and some events to spill (and be replayed): only spills from the cut on are the outage's.
    const spilledAtCut = await spilled();
    const retriesAtCut = await emitterRetries();
    const cutAt = performance.now();
    takeAway();
    let during: Phase;
    let failedSends: number;
    try {
      during = await callGateway(key, `${name}-during`, CALLS.during, OUTAGE_MS);
      expect(slowest(during)).toBeLessThan(MAX_CALL_MS);
      // Each event is emitted just after its response has ended.
      await eventually(async () => ((await emitted()) === emittedAtCut + CALLS.during ? true : undefined), { what: `every call of the ${name} outage emitted` });
      // Kafka really was unreachable: nothing acknowledged, the buffer full, the rest in the spill file.
      expect(await sent()).toBe(sentAtCut);
      expect(await metricValue(metrics.emitterEventsBuffered)).toBe(EVENT_BUFFER);
      expect((await spilled()) - spilledAtCut).toBe(CALLS.during - EVENT_BUFFER);
      expect(await metricValue(metrics.emitterEventsRefused)).toBe(0);
      expect(spillBytes()).toBeGreaterThan(0);
      failedSends = await eventually(
        async () => {
          const failed = (await emitterRetries()) - retriesAtCut;
          return failed >= failedSendsBeforeRestore ? failed : undefined;
        },
        { timeoutMs: 60_000, what: `${failedSendsBeforeRestore} failed sends during the ${name} outage` },
      );
    } finally {
      // Also when the outage failed: the next test and the process's shutdown need Kafka back.
      proxy.restore();
    }
    const outageMs = performance.now() - cutAt;
    const restored = performance.now();
    // Traffic goes on while the emitter catches up.
    const after = await callGateway(key, `${name}-after`, CALLS.after);
    expect(slowest(after)).toBeLessThan(MAX_CALL_MS);
    const total = emittedAtCut + CALLS.during + CALLS.after;
    await eventually(
      async () => {
        const [done, buffered, pending] = [await emitted(), await metricValue(metrics.emitterEventsBuffered), await metricValue(metrics.emitterSpillBytes)];
        return done === total && buffered === 0 && pending === 0 && spillBytes() === 0 ? true : undefined;
      },
      { timeoutMs: 90_000, what: `the emitter drained and its spill file emptied after the ${name} outage` },
    );
    const drainedMs = performance.now() - restored;

    // Every call's event is on the topic: one event_id per call (resends repeat it), none lost, none made up.
    calls.push(...before.sessions, ...during.sessions, ...after.sessions);
    const received = await eventsOn(createKafka({ brokers, clientId: 'gateway-kafka-down-reader' }, log), rawTopic);
    const idsBySession = new Map<string, Set<string>>();
    for (const event of received) {
      expect(event).toMatchObject({ api_key_id: keyId, team: 'search', environment: 'prod', gateway_id: 'gw-kafka-down', status: 'ok', input_tokens: 1000, output_tokens: 200 });
      const session = event.session_id ?? '(none)';
      idsBySession.set(session, (idsBySession.get(session) ?? new Set<string>()).add(event.event_id));
    }
    const made = new Set(calls);
    const lost = calls.filter((session) => !idsBySession.has(session));
    const unknown = [...idsBySession.keys()].filter((session) => !made.has(session));
    const split = calls.filter((session) => (idsBySession.get(session)?.size ?? 1) !== 1);
    expect({ lost, unknown, split }, `${calls.length} calls against ${idsBySession.size} sessions on ${rawTopic}`).toEqual({ lost: [], unknown: [], split: [] });
    const duplicates = received.length - messagesSeen - (CALLS.before + CALLS.during + CALLS.after);
    messagesSeen = received.length;
    console.info(
      `gateway, Kafka ${name}: before ${summary(before)}; during ${summary(during)}; after ${summary(after)}; ` +
        `${spilledAtCut - spilledAtStart} events spilled before the cut; outage ${outageMs.toFixed(0)} ms with ${failedSends} failed sends; drained ${drainedMs.toFixed(0)} ms after restore; ${duplicates} duplicate messages`,
    );
  }

  it('answers every call at once while the broker refuses connections, and delivers every usage event once it is back', async () => {
    // Down until a send has failed for good (kafkajs' own retries take ~10 s), so the emitter's retry after a failure is exercised too.
    await outage('refused', () => proxy.cut(), 1);
  }, 180_000);

  it('answers every call at once while the network to Kafka is silent, and delivers every usage event once it is back', async () => {
    // Silence is the harder case: anything on the call path that waited for Kafka would wait for kafkajs' timeouts (3 s, 30 s).
    await outage('partitioned', () => proxy.partition());
  }, 180_000);
});
