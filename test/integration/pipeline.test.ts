import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { unframeSingleObject } from '@spendline/emitter/avro';
import { createIdempotentProducer, createKafka } from '@spendline/emitter/kafka';
import type { DeadLetter } from '../../services/dlq/dead-letter.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';
import { CloudEvent, HTTP } from 'cloudevents';
import { cloudEventEventId, USAGE_EVENT_TYPE } from '../../services/ingest/cloud-events.ts';
import { minimalUsageEventRecord } from '../fixtures/usage-event-examples.ts';
import { answerPriceRequest } from '../../services/pricing/price-request.ts';
import { engine } from '../support/pricing.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';

/**
 * The whole pipeline in one process on the real broker and chDB: HTTP ingest →
 * usage.raw.v1 → enricher → usage.enriched.v1 → sink → ClickHouse → report.
 */

const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let config: SpendlineConfig;
let running: RunningProcess;
let kafka: Kafka;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  config = testConfig(brokers);
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
  kafka = createKafka({ brokers, clientId: 'pipeline-test' }, log);
});

afterAll(async () => {
  await running?.stop();
});

async function post(body: unknown, token: string = TEST_TOKENS.ingest) {
  const response = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${token}` }, payload: body as object });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const countRow = z.object({ n: z.coerce.number() });
async function storedCount(where = '1'): Promise<number> {
  const rows = await running.clickhouse!.query({ name: 'test_count', sql: `SELECT count() AS n FROM {db:Identifier}.usage_events_v1 WHERE ${where}`, schema: countRow });
  return rows[0]!.n;
}

/** Reads every message of a topic from the start with a throwaway consumer group. */
async function readTopic(topic: string, expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: `reader-${Math.random().toString(36).slice(2)}` });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void messages.push(message) });
  try {
    await eventually(async () => (messages.length >= expected ? true : undefined), { what: `${expected} messages on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

describe('pipeline on the real broker and ClickHouse', () => {
  it('stores valid events once, rejects invalid ones with their field, and reports exact totals', async () => {
    const a = usageEventJson({ team: 'alpha', input_tokens: 1_000_000, output_tokens: 0 });
    const b = usageEventJson({ team: 'beta', input_tokens: 2_000, cache_read_tokens: 1_000, output_tokens: 500 });
    const invalid = usageEventJson({ team: 'alpha', input_tokens: -3 });
    const first = await post([a, b, invalid]);
    expect(first.status).toBe(207);
    expect(first.body).toMatchObject({ accepted: 2, rejected: 1 });
    expect((first.body['results'] as unknown[])[2]).toMatchObject({ index: 2, status: 'rejected', errors: [{ path: 'input_tokens', message: 'must not be negative' }] });

    // The same events again (a client retry) and a copy inside one batch.
    const again = await post({ events: [a, b, a] });
    expect(again.status).toBe(200);

    await eventually(async () => ((await storedCount()) >= 2 ? true : undefined), { what: 'rows in ClickHouse' });
    // Give duplicates time to arrive before asserting they were not stored.
    await eventually(async () => (running.metrics.duplicatesSkipped.get().then((m) => m.values[0]?.value ?? 0).then((v) => (v >= 3 ? true : undefined))), { what: 'duplicates skipped' });
    expect(await storedCount()).toBe(2);

    const report = await running.app.inject({
      method: 'GET',
      url: '/v1/reports/cost?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&group_by=team',
      headers: { authorization: `Bearer ${TEST_TOKENS.reader}` },
    });
    expect(report.statusCode).toBe(200);
    // gpt-4o-mini: 0.15 USD/M input, 0.075 USD/M cached input, 0.6 USD/M output.
    // alpha: 1,000,000 × 0.15/M = 0.15. beta: 1,000 × 0.15/M + 1,000 × 0.075/M + 500 × 0.6/M = 0.00015 + 0.000075 + 0.0003 = 0.000525.
    expect(report.json()).toEqual({
      currency: 'USD',
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      group_by: ['team'],
      environments: { scope: 'default', excluded: ['dev', 'staging', 'test'] },
      rows: [
        { team: 'alpha', cost: '0.15', list_cost: '0.15', events: 1, input_tokens: 1_000_000, output_tokens: 0, unpriced_events: 0 },
        { team: 'beta', cost: '0.000525', list_cost: '0.000525', events: 1, input_tokens: 2_000, output_tokens: 500, unpriced_events: 0 },
      ],
    });
  });

  it('writes raw events as Avro single-object messages keyed by event_id', async () => {
    const event = usageEventJson({ team: 'gamma' });
    expect((await post([event])).status).toBe(200);
    const messages = await readTopic(topicNames(config.kafka.topicPrefix).raw, 1);
    const mine = messages.find((message) => message.key?.toString() === event['event_id']);
    expect(mine).toBeDefined();
    const framed = unframeSingleObject(mine!.value!);
    expect(framed.ok && framed.fingerprint).toBe(registry.current(SCHEMA_NAMES.usageEvent).fingerprint);
  });

  it('parks undecodable and invalid raw messages in the DLQ with the reason and original bytes, and keeps going', async () => {
    const topics = topicNames(config.kafka.topicPrefix);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    const garbage = Buffer.from('not avro at all');
    const invalidRecord = registry.encode(SCHEMA_NAMES.usageEvent, minimalUsageEventRecord({ event_id: 'bad-cache', input_tokens: 10, cache_read_tokens: 50 }));
    const valid = usageEventJson({ team: 'after-poison' });
    await producer.send({ topic: topics.raw, acks: -1, messages: [{ key: 'k', value: garbage }, { key: 'bad-cache', value: invalidRecord }] });
    await producer.disconnect();
    expect((await post([valid])).status).toBe(200);

    const letters = (await readTopic(topics.dlq, 2)).map((message) => {
      const decoded = registry.decode<DeadLetter>(SCHEMA_NAMES.deadLetter, message.value!);
      if (!decoded.ok) throw new Error(decoded.reason);
      return { letter: decoded.value, headers: message.headers };
    });
    const undecodable = letters.find(({ letter }) => letter.reason_code === 'undecodable');
    expect(undecodable?.letter).toMatchObject({ stage: 'enricher', source_topic: topics.raw, reason: expect.stringContaining('C3 01') });
    expect(Buffer.from(undecodable!.letter.payload).equals(garbage)).toBe(true);
    const invalid = letters.find(({ letter }) => letter.reason_code === 'invalid_event');
    expect(invalid?.letter.reason).toContain('input_tokens: must include cache_read_tokens');
    expect(invalid?.headers?.['spendline-reason-code']?.toString()).toBe('invalid_event');

    await eventually(async () => ((await storedCount("team = 'after-poison'")) === 1 ? true : undefined), { what: 'the event after the poison messages' });
    expect(await storedCount("event_id = 'bad-cache'")).toBe(0);
  });

  it('prices an event from the raw provider usage exactly as the price command does', async () => {
    const providerUsage = { input_tokens: 30_000, cache_creation_input_tokens: 20_000, cache_read_input_tokens: 100_000, output_tokens: 2_000 };
    const event = usageEventJson({
      team: 'raw-usage',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      api_flavor: 'anthropic.default',
      input_tokens: 0,
      output_tokens: 0,
      provider_usage: providerUsage,
    });
    expect((await post([event])).status).toBe(200);
    const stored = await eventually(
      async () => {
        const rows = await running.clickhouse!.query({
          name: 'test_raw_usage_row',
          sql: "SELECT toString(list_cost) AS list_cost, toString(cost) AS cost, input_tokens, cache_read_tokens, cache_write_tokens, catalog_model FROM {db:Identifier}.usage_events_v1 WHERE team = 'raw-usage'",
          schema: z.object({ list_cost: z.string(), cost: z.string(), input_tokens: z.coerce.number(), cache_read_tokens: z.coerce.number(), cache_write_tokens: z.coerce.number(), catalog_model: z.string() }),
        });
        return rows[0];
      },
      { what: 'the raw-usage event' },
    );
    const answer = answerPriceRequest(engine(), { provider: 'anthropic', body: { model: 'claude-sonnet-4-5-20250929', usage: providerUsage }, at: event['occurred_at'] }, Date.now());
    // 30,000 plain × 3/M + 100,000 cached × 0.3/M + 20,000 cache writes × 3.75/M + 2,000 output × 15/M = 0.09 + 0.03 + 0.075 + 0.03.
    expect(answer).toMatchObject({ total_cost: '0.225', model: 'claude-sonnet-4-5' });
    expect(stored).toEqual({ list_cost: '0.225', cost: '0.225', input_tokens: 150_000, cache_read_tokens: 100_000, cache_write_tokens: 20_000, catalog_model: 'claude-sonnet-4-5' });
  });

  it('reports a time series in the calendar of a time zone, from the rollup or the events alike', async () => {
    // 22:30Z and 23:30Z on 31 October 2026: one UTC day, but 23:30 on the 31st and 00:30 on 1 November in Berlin (UTC+1).
    const events = ['2026-10-31T22:30:00Z', '2026-10-31T23:30:00Z'].map((at, i) => usageEventJson({ team: 'tz', occurred_at: at, input_tokens: (i + 1) * 1_000_000, output_tokens: 0 }));
    expect((await post(events)).status).toBe(200);
    await eventually(async () => ((await storedCount("team = 'tz'")) === 2 ? true : undefined), { what: 'the two tz events' });
    const series = async (query: string) => {
      const response = await running.app.inject({ method: 'GET', url: `/v1/reports/cost?${query}&group_by=team`, headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { rows: Record<string, unknown>[] };
      return body.rows.filter((row) => row['team'] === 'tz').map((row) => [row['period_start'], row['cost']]);
    };
    // 1,000,000 input tokens × 0.15/M = 0.15; 2,000,000 = 0.3. Whole hours: the rollup; 22:15 start: the events.
    for (const from of ['2026-10-31T00:00:00Z', '2026-10-31T00:15:00Z']) {
      expect(await series(`from=${from}&to=2026-11-01T00:00:00Z&granularity=day`)).toEqual([['2026-10-31T00:00:00.000Z', '0.45']]);
      expect(await series(`from=${from}&to=2026-11-01T00:00:00Z&granularity=day&timezone=Europe/Berlin`)).toEqual([
        ['2026-10-30T23:00:00.000Z', '0.15'],
        ['2026-10-31T23:00:00.000Z', '0.3'],
      ]);
      // Kolkata is UTC+5:30: hourly rollups cannot split its days, so the events are read; both calls fall on 1 November there.
      expect(await series(`from=${from}&to=2026-11-01T00:00:00Z&granularity=day&timezone=Asia/Kolkata`)).toEqual([['2026-10-31T18:30:00.000Z', '0.45']]);
    }
    expect(await series('from=2026-10-31T00:00:00Z&to=2026-11-01T00:00:00Z&granularity=hour&timezone=Europe/Berlin')).toEqual([
      ['2026-10-31T22:00:00.000Z', '0.15'],
      ['2026-10-31T23:00:00.000Z', '0.3'],
    ]);
    const invalid = await running.app.inject({ method: 'GET', url: '/v1/reports/cost?from=2026-10-31T00:00:00Z&to=2026-11-01T00:00:00Z&granularity=fortnight&timezone=Mars/Base', headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.issues).toEqual([
      { path: 'granularity', message: 'must be one of hour, day, week, month' },
      { path: 'timezone', message: 'must be an IANA time zone such as UTC or Europe/Berlin' },
    ]);
  });

  it('groups by a tag and filters by any dimension', async () => {
    const events = [
      usageEventJson({ team: 'tagged', feature: 'f1', tags: { project: 'apollo' }, occurred_at: '2026-09-10T10:00:00Z', input_tokens: 1_000_000, output_tokens: 0 }),
      usageEventJson({ team: 'tagged', feature: 'f2', tags: { project: 'apollo' }, occurred_at: '2026-09-10T11:00:00Z', input_tokens: 2_000_000, output_tokens: 0 }),
      usageEventJson({ team: 'tagged', feature: 'f1', tags: {}, occurred_at: '2026-09-10T12:00:00Z', input_tokens: 1_000_000, output_tokens: 0 }),
    ];
    expect((await post(events)).status).toBe(200);
    await eventually(async () => ((await storedCount("team = 'tagged'")) === 3 ? true : undefined), { what: 'the tagged events' });
    const report = async (query: string) => {
      const response = await running.app.inject({ method: 'GET', url: `/v1/reports/cost?from=2026-09-01T00:00:00Z&to=2026-10-01T00:00:00Z&${query}`, headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } });
      return { status: response.statusCode, body: response.json() as { rows: Record<string, unknown>[]; error?: { issues: unknown[] } } };
    };
    // 1M, 2M and 1M input tokens at 0.15/M: 0.15, 0.3, 0.15.
    expect((await report('group_by=tag:project')).body.rows.map((row) => [row['tag:project'], row['cost']])).toEqual([['apollo', '0.45'], [null, '0.15']]);
    expect((await report('group_by=feature&tag:project=apollo')).body.rows.map((row) => [row['feature'], row['cost']])).toEqual([['f2', '0.3'], ['f1', '0.15']]);
    expect((await report('group_by=feature&team=tagged&feature=f1')).body.rows.map((row) => [row['feature'], row['cost']])).toEqual([['f1', '0.3']]);
    const invalid = await report('group_by=tag:1bad,nonsense&tag:2bad=x');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error?.issues).toEqual([
      { path: 'group_by[0]', message: 'must be among tenant_id, cost_center, team, feature, environment, model, provider, user_id, api_key_id, gateway_id, or tag:<key>' },
      { path: 'group_by[1]', message: 'must be among tenant_id, cost_center, team, feature, environment, model, provider, user_id, api_key_id, gateway_id, or tag:<key>' },
      { path: 'tag:2bad', message: 'must be tag:<key>, the key starting with a letter' },
    ]);
  });

  it('stores a CloudEvents batch, and a call sent both plain and as a CloudEvent once', async () => {
    const postCloudEvents = async (events: CloudEvent<unknown>[]) => {
      const response = await running.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${TEST_TOKENS.ingest}`, 'content-type': 'application/cloudevents-batch+json' },
        payload: `[${events.map((event) => HTTP.structured(event).body).join(',')}]`,
      });
      return { status: response.statusCode, body: response.json() as Record<string, unknown> };
    };
    const cloudEvent = (id: string, data: Record<string, unknown>) =>
      new CloudEvent({ type: USAGE_EVENT_TYPE, source: '/pipeline-test', id, time: '2026-11-02T10:00:00Z', subject: 'acme', data });
    const skippedBefore = (await running.metrics.duplicatesSkipped.get()).values[0]?.value ?? 0;

    const plain = usageEventJson({ team: 'ce-both' });
    expect((await post([plain])).status).toBe(200);
    // Two calls identified by the CloudEvent (no event_id in data) and the plain call again, its event_id in data.
    const { occurred_at: _occurredAt, ...plainWithoutTime } = plain;
    const events = [
      cloudEvent('c1', { provider: 'openai', model: 'gpt-4o-mini', team: 'ce-batch', input_tokens: 1_000_000, output_tokens: 0 }),
      cloudEvent('c2', { provider: 'openai', model: 'gpt-4o-mini', team: 'ce-batch', input_tokens: 2_000_000, output_tokens: 0 }),
      cloudEvent('again', plainWithoutTime),
    ];
    const first = await postCloudEvents(events);
    expect(first.status).toBe(200);
    expect(first.body['results']).toEqual([
      { index: 0, event_id: cloudEventEventId('/pipeline-test', 'c1'), status: 'accepted' },
      { index: 1, event_id: cloudEventEventId('/pipeline-test', 'c2'), status: 'accepted' },
      { index: 2, event_id: plain['event_id'], status: 'accepted' },
    ]);
    // The producer retries the whole batch: every event in it is a duplicate now.
    expect((await postCloudEvents(events)).status).toBe(200);

    await eventually(async () => ((await storedCount("team = 'ce-batch'")) === 2 ? true : undefined), { what: 'the CloudEvents batch' });
    await eventually(async () => ((await running.metrics.duplicatesSkipped.get()).values[0]?.value ?? 0) - skippedBefore >= 4 || undefined, { what: 'the four copies skipped' });
    expect(await storedCount("team = 'ce-both'")).toBe(1);
    const rows = await running.clickhouse!.query({
      name: 'test_cloudevents_rows',
      sql: "SELECT event_id, tenant_id, toString(cost) AS cost FROM {db:Identifier}.usage_events_v1 WHERE team = 'ce-batch'",
      schema: z.object({ event_id: z.string(), tenant_id: z.string(), cost: z.string() }),
    });
    // gpt-4o-mini input at 0.15 USD/M: 1,000,000 → 0.15, 2,000,000 → 0.3; subject is the tenant.
    expect(rows).toHaveLength(2);
    expect(rows).toEqual(
      expect.arrayContaining([
        { event_id: cloudEventEventId('/pipeline-test', 'c1'), tenant_id: 'acme', cost: '0.15' },
        { event_id: cloudEventEventId('/pipeline-test', 'c2'), tenant_id: 'acme', cost: '0.3' },
      ]),
    );
  });

  it('describes every endpoint that needs a token in OpenAPI at /docs, from the schemas it validates with', async () => {
    const response = await running.app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as { openapi: string; paths: Record<string, Record<string, { parameters: { name: string; required: boolean }[]; requestBody?: unknown; responses: Record<string, unknown> }>> } & Record<string, unknown>;
    expect(document.openapi).toBe('3.1.0');
    expect(document['x-undocumented-routes']).toBeUndefined();
    const cost = document.paths['/v1/reports/cost']!['get']!;
    expect(cost.parameters.filter((p) => p.required).map((p) => p.name)).toEqual(['from', 'to']);
    expect(cost.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['group_by', 'environment', 'granularity', 'timezone']));
    expect(Object.keys(cost.responses)).toEqual(['200', '400', '401', '403']);
    expect(document.paths['/v1/events']!['post']!.requestBody).toBeDefined();
    expect(Object.keys(document.paths['/v1/events']!['post']!.responses)).toEqual(expect.arrayContaining(['200', '207', '413', '503']));
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/reports/chargeback', '/v1/reports/forecast', '/v1/admin/reattribute', '/v1/events/{event_id}/history', '/v1/price']));
    const page = await running.app.inject({ method: 'GET', url: '/docs' });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<code>GET /v1/reports/chargeback</code>');
  });

  it('answers readiness once every service runs', async () => {
    const ready = await running.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { kafka_producer: true, enricher: true, sink: true, notifier: true, gateway_keys: true, clickhouse: true } });
    const metrics = await running.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('spendline_sink_rows_written_total');
    expect(metrics.body).toContain('spendline_kafka_consumer_lag');
  });
});
