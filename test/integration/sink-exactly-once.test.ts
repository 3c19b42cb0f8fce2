import { randomUUID } from 'node:crypto';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createIdempotentProducer, createKafka } from '@spendline/emitter/kafka';
import { usageEventJson } from '@spendline/emitter/usage-event';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { SpendlineConfig } from '../../services/config/config.ts';
import type { DeadLetter } from '../../services/dlq/dead-letter.ts';
import type { EnrichedUsageEvent } from '../../services/events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { toUsageRow, USAGE_EVENTS_TABLE } from '../../services/sink/usage-row.ts';
import { eventually, testConfig } from '../support/test-config.ts';
import { usageEventJson as eventJson } from '../support/usage-events.ts';

/**
 * The sink's promise: each event_id is stored once, whatever Kafka redelivers —
 * enricher replays, a consumer group rewound to the start, or rows that reached
 * ClickHouse before a crash kept the offsets from being committed.
 */

const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let brokers: string[];
let config: SpendlineConfig;
let running: RunningProcess | null = null;

beforeAll(() => {
  brokers = inject('kafkaBrokers');
  config = testConfig(brokers);
});

afterAll(async () => {
  await running?.stop();
});

function enriched(overrides: Record<string, unknown>): EnrichedUsageEvent {
  const parsed = usageEventJson.parse(eventJson(overrides));
  return {
    event: parsed,
    received_at: Date.now(),
    enriched_at: Date.now(),
    cost: '0.25',
    list_cost: '0.25',
    input_cost: '0.2',
    output_cost: '0.05',
    cost_breakdown: { input: '0.2', output: '0.05' },
    catalog_model: 'gpt-4o-mini',
    contract_id: null,
    currency: 'USD',
    cost_status: 'priced',
    unpriced_reason: null,
    unpriced_code: null,
    price_version: 'test',
    attribution: null,
  };
}

/** Produces enriched events keyed by event_id, or all under one key (one partition, one batch) when given. */
async function produceEnriched(events: readonly EnrichedUsageEvent[], key?: string): Promise<void> {
  const producer = createIdempotentProducer(createKafka({ brokers, clientId: 'sink-test' }, log));
  await producer.connect();
  await producer.send({
    topic: topicNames(config.kafka.topicPrefix).enriched,
    acks: -1,
    messages: events.map((event) => ({ key: key ?? event.event.event_id, value: registry.encode(SCHEMA_NAMES.enrichedUsageEvent, event) })),
  });
  await producer.disconnect();
}

const totals = z.object({ n: z.coerce.number(), ids: z.coerce.number(), cost: z.string() });
async function stored() {
  const rows = await running!.clickhouse!.query({
    name: 'test_totals',
    sql: 'SELECT count() AS n, uniqExact(event_id) AS ids, toString(sum(cost)) AS cost FROM {db:Identifier}.usage_events_v1',
    schema: totals,
  });
  return rows[0]!;
}

async function startSink(): Promise<RunningProcess> {
  return startProcess({ config, services: new Set(['sink', 'api']), brokers, log, processMetrics: false });
}

describe('sink stores each event_id exactly once', () => {
  it('drops redelivered copies, survives a rewind of its consumer group, and skips rows already stored', async () => {
    running = await startSink();
    const events = Array.from({ length: 50 }, (_, index) => enriched({ event_id: `e-${index}-${randomUUID()}` }));
    // Every event twice, as an enricher replay after a crash would deliver them.
    await produceEnriched([...events, ...events]);
    await eventually(async () => ((await stored()).n >= 50 ? true : undefined), { what: '50 rows' });
    await eventually(
      async () => ((await running!.metrics.duplicatesSkipped.get()).values[0]?.value === 50 ? true : undefined),
      { what: '50 duplicates skipped' },
    );
    expect(await stored()).toEqual({ n: 50, ids: 50, cost: '12.5' });

    // Rows that reached ClickHouse while the offsets were never committed (a crash between the two).
    const crashed = Array.from({ length: 5 }, () => enriched({ event_id: `crash-${randomUUID()}` }));
    await running.clickhouse!.insert('test_preinsert', USAGE_EVENTS_TABLE, crashed.map((event) => toUsageRow(event, 0, '0')));
    await produceEnriched(crashed);
    await running.stop();

    // Rewind the sink's group to the very start: every message is delivered again.
    const admin = createKafka({ brokers, clientId: 'sink-test-admin' }, log).admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: config.sink.groupId, topic: topicNames(config.kafka.topicPrefix).enriched, earliest: true });
    await admin.disconnect();

    running = await startSink();
    const late = enriched({ event_id: `late-${randomUUID()}` });
    await produceEnriched([late]);
    await eventually(async () => ((await stored()).n >= 56 ? true : undefined), { what: 'the late event' });
    // 105 messages + 1 were redelivered; 56 distinct events exist.
    await eventually(
      async () => ((await running!.metrics.messagesConsumed.get()).values.reduce((sum, v) => sum + v.value, 0) >= 106 ? true : undefined),
      { what: 'the whole topic consumed again' },
    );
    expect(await stored()).toEqual({ n: 56, ids: 56, cost: '14' });
  });
});

describe('sink under awkward data', () => {
  it('stores a batch spanning more than 100 months and dead-letters a record it cannot map, without stopping', async () => {
    running ??= await startSink();
    const before = (await stored()).n;
    // ClickHouse refuses one insert touching more than 100 partitions (months); the sink splits by month.
    const history = Array.from({ length: 120 }, (_, month) =>
      enriched({ event_id: `history-${month}-${randomUUID()}`, occurred_at: new Date(Date.UTC(2016, month, 15)).toISOString() }),
    );
    // A record produced straight to the topic with an occurred_at no date can hold (the enricher would refuse it).
    const poison = { ...enriched({ event_id: `poison-${randomUUID()}` }) };
    const unmappable: EnrichedUsageEvent = { ...poison, event: { ...poison.event, occurred_at: 9e15 } };
    await produceEnriched([...history, unmappable], 'one-partition');

    await eventually(async () => ((await stored()).n >= before + 120 ? true : undefined), { what: '120 months of history' });
    const letters = await readDeadLetters(1);
    expect(letters[0]).toMatchObject({ stage: 'sink', reason_code: 'invalid_event', reason: expect.stringContaining('cannot map the event to a row') });
    expect((await stored()).n).toBe(before + 120);
  });

  it('commits the offsets of the batch it finished when stopped cleanly', async () => {
    await running!.stop();
    running = null;
    const admin = createKafka({ brokers, clientId: 'sink-test-offsets' }, log).admin();
    await admin.connect();
    const topic = topicNames(config.kafka.topicPrefix).enriched;
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: config.sink.groupId, topics: [topic] });
    await admin.disconnect();
    const byPartition = (list: readonly { partition: number; offset: string }[]) => Object.fromEntries(list.map((p) => [p.partition, p.offset]));
    expect(byPartition(committed!.partitions)).toEqual(byPartition(ends.map((e) => ({ partition: e.partition, offset: e.high }))));
  });
});

async function readDeadLetters(expected: number) {
  const consumer = createKafka({ brokers, clientId: 'sink-test-dlq' }, log).consumer({ groupId: `dlq-reader-${randomUUID()}` });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: topicNames(config.kafka.topicPrefix).dlq, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = registry.decode<DeadLetter>(SCHEMA_NAMES.deadLetter, message.value!);
      if (decoded.ok) letters.push(decoded.value);
    },
  });
  try {
    await eventually(async () => (letters.length >= expected ? true : undefined), { what: `${expected} dead letters` });
  } finally {
    await consumer.disconnect();
  }
  return letters;
}
