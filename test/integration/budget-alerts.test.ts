import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import { SerialProducer } from '@spendline/emitter/kafka';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AlertStore } from '../../services/alerts/alert-store.ts';
import { BudgetAlertPublisher } from '../../services/alerts/budget-alert-publisher.ts';
import { webhookSignature } from '../../services/alerts/channels.ts';
import { BudgetEvaluator } from '../../services/budgets/budget-evaluator.ts';
import { BudgetStore } from '../../services/budgets/budget-store.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { findOnTopic } from '../support/topic-watch.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Budget alerts end to end: thresholds crossed by stored spend fire once per
 * threshold and period — through a duplicate publication, a second evaluator
 * and a restart — to a signed webhook and a PagerDuty-style receiver that
 * fails at first; raising the budget resolves them, once.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const SECRET = 'webhook-secret-0123456789';
let config: SpendlineConfig;
let running: RunningProcess;
let server: Server;
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
let pagerFailuresLeft = 2;

const now = new Date();
const startOfMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
const spend = (id: string, millions: number) => usageEventJson({ event_id: id, team: 'search', environment: 'prod', occurred_at: startOfMonth, input_tokens: millions * 1_000_000, output_tokens: 0 });

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/pagerduty' && pagerFailuresLeft > 0) {
        pagerFailuresLeft -= 1;
        response.writeHead(500).end();
        return;
      }
      received.push({ path: request.url ?? '', headers: request.headers, body });
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const channelsFile = join(mkdtempSync(join(tmpdir(), 'spendline-channels-')), 'channels.json');
  writeFileSync(
    channelsFile,
    JSON.stringify({
      channels: [
        { name: 'hook', type: 'webhook', url: `${base}/webhook`, secret: SECRET },
        { name: 'pd', type: 'pagerduty', url: `${base}/pagerduty`, routing_key: 'routing-key-1' },
      ],
    }),
  );
  config = testConfig(inject('kafkaBrokers'), { SPENDLINE_CHANNELS_FILE: channelsFile, BUDGET_EVALUATION_SCHEDULE: '* * * * * *' });
  running = await start();
});

afterAll(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const start = () => startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: inject('kafkaBrokers'), log, processMetrics: false });

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) {
  const token = method === 'GET' ? TEST_TOKENS.reader : url === '/v1/events' ? TEST_TOKENS.ingest : TEST_TOKENS.admin;
  const response = await running.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: response.statusCode, body: response.json() as any };
}

/** What each receiver got: "path alert_id state". */
const deliveries = () =>
  received.map(({ path, body }) => {
    const json = JSON.parse(body);
    return path === '/webhook' ? `webhook ${json.alert_id} ${json.state}` : `pagerduty ${json.dedup_key} ${json.event_action}`;
  });
const settle = () => new Promise((resolve) => setTimeout(resolve, 3_500));

const BUDGET = {
  id: 'search-prod',
  name: 'Search in production',
  scope: { team: ['search'], environment: ['prod'] },
  period: 'monthly',
  amount: '1',
  thresholds: [{ percent: 50 }, { percent: 100 }],
  channels: ['hook', 'pd'],
  action: { type: 'block' },
};

describe('budget alerts', () => {
  const month = startOfMonth.slice(0, 7);
  const half = `budget/search-prod/${month}/actual-50`;
  const full = `budget/search-prod/${month}/actual-100`;

  it('fires each threshold once to every channel, signed, retrying a failing receiver', async () => {
    expect((await call('POST', '/v1/budgets', BUDGET)).status).toBe(201);
    expect((await call('POST', '/v1/events', [spend('al-1', 4)])).status).toBe(200); // 0.6 of 1
    await eventually(async () => (deliveries().length === 2 ? true : undefined), { what: 'the 50 % alert at both receivers' });
    // A second evaluator on the same data, as another replica would run, evaluating as often as it can meanwhile.
    const clickhouse = running.clickhouse!;
    const secondProducer = new SerialProducer(createKafka({ brokers: inject('kafkaBrokers'), clientId: 'second-evaluator' }, log));
    await secondProducer.connect();
    const second = new BudgetAlertPublisher({
      evaluator: new BudgetEvaluator(new BudgetStore(clickhouse), clickhouse, 0),
      store: new AlertStore(clickhouse),
      producer: secondProducer,
      registry: AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS),
      topic: topicNames(config.kafka.topicPrefix).alerts,
      statusTopic: topicNames(config.kafka.topicPrefix).budgetStatus,
      schedule: '* * * * * *',
      log,
    });
    let secondPublished = 0;
    expect((await call('POST', '/v1/events', [spend('al-2', 3)])).status).toBe(200); // 1.05 of 1
    await eventually(
      async () => {
        secondPublished += await second.tick();
        return deliveries().length >= 4 ? true : undefined;
      },
      { intervalMs: 200, what: 'the 100 % alert at both receivers' },
    );
    await secondProducer.close();
    await settle();
    // Whatever the second evaluator published too (logged for the curious), each state reached each receiver once.
    log.info({ secondPublished }, 'second evaluator publications');
    expect(deliveries().sort()).toEqual([`pagerduty ${full} trigger`, `pagerduty ${half} trigger`, `webhook ${full} firing`, `webhook ${half} firing`]);

    const webhook = received.find(({ path, body }) => path === '/webhook' && JSON.parse(body).alert_id === full)!;
    const timestamp = String(webhook.headers['x-spendline-timestamp']);
    expect(webhook.headers['x-spendline-signature']).toBe(`sha256=${webhookSignature(SECRET, timestamp, webhook.body)}`);
    expect(JSON.parse(webhook.body)).toMatchObject({ severity: 'critical', spent: '1.05', amount: '1', used: '1.05', source_id: 'search-prod', period: month });

    const history = (await call('GET', '/v1/budgets/search-prod/alerts')).body.alerts;
    const pagerFirst = history.find((alert: { alert_id: string }) => alert.alert_id === half).deliveries.find((d: { channel: string }) => d.channel === 'pd');
    expect(pagerFirst).toMatchObject({ outcome: 'delivered', attempts: 3, status_code: 202 });
  });

  it('does not fire again for a duplicate publication, a second evaluator or a restart', async () => {
    const before = deliveries().length;
    // A second replica's publication of the same alert state.
    const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
    const [alert] = (await call('GET', '/v1/budgets/search-prod/alerts')).body.alerts.filter((a: { alert_id: string }) => a.alert_id === full);
    const producer = new SerialProducer(createKafka({ brokers: inject('kafkaBrokers'), clientId: 'second-evaluator' }, log));
    await producer.connect();
    const { deliveries: _delivered, ...event } = alert;
    await producer.send([
      {
        topic: topicNames(config.kafka.topicPrefix).alerts,
        messages: [
          { key: full, value: registry.encode(SCHEMA_NAMES.alert, { ...event, occurred_at: Date.now() }) },
          // And something no notifier can read: parked in the DLQ with the reason, never dropped.
          { key: 'garbage', value: Buffer.from('not an alert') },
        ],
      },
    ]);
    await producer.close();
    await settle();
    expect(deliveries()).toHaveLength(before);
    const letter = await findOnTopic<Record<string, unknown>>(
      { brokers: inject('kafkaBrokers'), topic: topicNames(config.kafka.topicPrefix).dlq, registry, schema: SCHEMA_NAMES.deadLetter, log },
      (entry) => entry['stage'] === 'notifier',
      'the unreadable alert in the DLQ',
    );
    expect(letter).toMatchObject({ reason_code: 'undecodable', source_topic: topicNames(config.kafka.topicPrefix).alerts });
    expect(Buffer.from(letter['payload'] as Buffer).toString()).toBe('not an alert');

    await running.stop();
    running = await start();
    await settle();
    expect(deliveries()).toHaveLength(before);
  });

  it('resolves both alerts once when the budget is raised', async () => {
    const raised = await call('PUT', '/v1/budgets/search-prod', { ...BUDGET, amount: '100' });
    expect(raised.status).toBe(200);
    await eventually(async () => (deliveries().length === 8 ? true : undefined), { what: 'the resolutions at both receivers' });
    await settle();
    expect(deliveries().slice(4).sort()).toEqual([`pagerduty ${full} resolve`, `pagerduty ${half} resolve`, `webhook ${full} resolved`, `webhook ${half} resolved`]);
    const states = (await call('GET', '/v1/budgets/search-prod/alerts')).body.alerts.map((alert: { alert_id: string; state: string }) => `${alert.alert_id} ${alert.state}`);
    expect(states.sort()).toEqual([`${full} firing`, `${full} resolved`, `${half} firing`, `${half} resolved`]);
  });
});
