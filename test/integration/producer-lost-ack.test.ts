import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createIdempotentProducer, createKafka } from '@spendline/emitter/kafka';
import { SerialProducer } from '@spendline/emitter/kafka';
import type { Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBroker, type LocalBroker } from '../../services/kafka/local-broker.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { KAFKA_LIB_DIR, KAFKA_POM } from '../../services/project-paths.ts';
import { freePort, freePortPair } from '../support/free-ports.ts';
import { KafkaFaultProxy } from '../support/kafka-fault-proxy.ts';

/**
 * The fault behind "a 200 for an event that was never written": a produce
 * request reaches the broker and is written, but the answer is lost and the
 * broker stays unreachable past the retries. kafkajs then winds the sequence
 * number back, and the next send on the same idempotent producer reuses it —
 * the broker takes it for a duplicate, acknowledges it, and drops it.
 * A real broker behind a proxy that cuts the connection reproduces it.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
let dir: string;
let broker: LocalBroker;
let proxy: KafkaFaultProxy;
let kafka: Kafka;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-lost-ack-'));
  // A free port can be taken by another process before the broker binds it: try again on new ports.
  for (let attempt = 1; ; attempt += 1) {
    const brokerPort = await freePortPair();
    const proxyPort = await freePort(0);
    proxy = await KafkaFaultProxy.start(proxyPort, brokerPort);
    try {
      broker = await startLocalBroker({ pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir: join(dir, `kafka-${attempt}`), port: brokerPort, advertisedPort: proxyPort, heapMb: 512 }, log);
      kafka = createKafka({ brokers: [`127.0.0.1:${proxyPort}`], clientId: 'lost-ack' }, log);
      break;
    } catch (err) {
      await proxy.stop();
      if (attempt >= 3) throw err;
    }
  }
});

afterAll(async () => {
  await proxy?.stop();
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function createTopic(topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
  await admin.disconnect();
}

async function keysIn(topic: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `read-${topic}` });
  const keys: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void keys.push(message.key!.toString()) });
  const deadline = Date.now() + 15_000;
  while (keys.length < expected && Date.now() < deadline) await sleep(100);
  await sleep(1_000); // anything beyond `expected` would show up here
  await consumer.disconnect();
  return keys.sort();
}

/** evt-1 succeeds; evt-2's answer is lost; evt-3 is sent once the broker is reachable again. */
async function scenario(send: (key: string) => Promise<void>): Promise<{ second: 'ok' | 'failed'; third: 'ok' | 'failed' }> {
  await send('evt-1');
  proxy.dropAfterNextProduce();
  // The broker stays unreachable until the producer has given up on evt-2.
  const second = await send('evt-2').then(() => 'ok' as const, () => 'failed' as const);
  proxy.allow();
  const third = await send('evt-3').then(() => 'ok' as const, () => 'failed' as const);
  return { second, third };
}

describe('producing after a send whose acknowledgement was lost', () => {
  it('a bare kafkajs idempotent producer acknowledges the next event without writing it (why SerialProducer exists)', async () => {
    await createTopic('bare');
    const producer: Producer = createIdempotentProducer(kafka, 2);
    await producer.connect();
    const outcome = await scenario(async (key) => void (await producer.send({ topic: 'bare', acks: -1, messages: [{ key, value: key }] })));
    await producer.disconnect();
    expect(outcome).toEqual({ second: 'failed', third: 'ok' });
    // evt-2 was written although its sender was told it failed; evt-3 was acknowledged but lost.
    expect(await keysIn('bare', 3)).toEqual(['evt-1', 'evt-2']);
  });

  it('SerialProducer writes every event it acknowledged', async () => {
    await createTopic('serial');
    const producer = new SerialProducer(kafka, { retries: 2 });
    const outcome = await scenario((key) => producer.send([{ topic: 'serial', messages: [{ key, value: key }] }]));
    expect(producer.connected).toBe(true);
    await producer.close();
    expect(outcome).toEqual({ second: 'failed', third: 'ok' });
    expect(await keysIn('serial', 3)).toEqual(['evt-1', 'evt-2', 'evt-3']);
  });

  it('coalesces concurrent sends and splits them under the request size limit', async () => {
    await createTopic('bulk');
    const producer = new SerialProducer(kafka);
    // 40 concurrent sends of 100 messages of 1 KiB: 4 MiB in all, four times the broker's 1 MiB message.max.bytes.
    await Promise.all(
      Array.from({ length: 40 }, (_, send) =>
        producer.send([{ topic: 'bulk', messages: Array.from({ length: 100 }, (_, i) => ({ key: `${send}-${i}`, value: Buffer.alloc(1024) })) }]),
      ),
    );
    await producer.close();
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchTopicOffsets('bulk');
    await admin.disconnect();
    expect(offsets?.high).toBe('4000');
  });
});
