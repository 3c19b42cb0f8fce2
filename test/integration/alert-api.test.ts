import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import { SerialProducer } from '@spendline/emitter/kafka';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AckStore } from '../../services/alerts/ack-store.ts';
import { resolved, type AlertEvent } from '../../services/alerts/alert-event.ts';
import { AlertNotifier } from '../../services/alerts/alert-notifier.ts';
import { AlertStore } from '../../services/alerts/alert-store.ts';
import { loadChannels } from '../../services/alerts/channels.ts';
import { SilenceStore } from '../../services/alerts/silence-store.ts';
import { registerAlertRoutes } from '../../services/api/alert-routes.ts';
import { buildHttpServer } from '../../services/api/http-server.ts';
import { BearerTokens } from '../../services/auth/bearer-tokens.ts';
import { createClickHouse, type ClickHouse } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../../services/clickhouse/migrations.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { ensureTopics, topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { Metrics } from '../../services/metrics/metrics.ts';
import { SCHEMA_DIRS, SQL_DIR } from '../../services/project-paths.ts';
import { detectorAlert } from '../support/detector-alerts.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';

/**
 * Detector alerts through the notifier and the alert API, on the real broker
 * and chDB: a silenced scope is recorded but nobody is told (nor of its
 * resolution), a min_severity channel skips info alerts, the list filters,
 * acknowledgements show in list and detail, and lifting a silence lets the
 * next alert through. The notifier and routes are composed here as the
 * runtime composes them, so the test stands on its own.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const SECRET = 'webhook-secret-0123456789';
const ADS_READER = 'ads-reader-token-0123456789';
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
let config: SpendlineConfig;
let clickhouse: ClickHouse;
let notifier: AlertNotifier;
let producer: SerialProducer;
let app: FastifyInstance;
let server: Server;
/** What each receiver got: "<path> <alert_id> <state>". */
const received: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const alert = JSON.parse(body) as AlertEvent;
      received.push(`${request.url} ${alert.alert_id} ${alert.state}`);
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
        { name: 'chat', type: 'webhook', url: `${base}/chat`, secret: SECRET },
        { name: 'pager', type: 'webhook', url: `${base}/pager`, secret: SECRET, min_severity: 'warning' },
      ],
    }),
  );
  config = testConfig(inject('kafkaBrokers'), { SPENDLINE_CHANNELS_FILE: channelsFile, SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([{ token: ADS_READER, teams: ['ads'] }]) });
  const topics = topicNames(config.kafka.topicPrefix);
  const kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'alert-api-test' }, log);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor });
  await admin.disconnect();

  clickhouse = await createClickHouse(config.clickhouse, log);
  await migrate(clickhouse, readMigrations(SQL_DIR), log);
  const alerts = new AlertStore(clickhouse);
  const silences = new SilenceStore(clickhouse);
  const acks = new AckStore(clickhouse);
  const metrics = new Metrics({ processMetrics: false });
  notifier = new AlertNotifier({
    kafka,
    topic: topics.alerts,
    dlqTopic: topics.dlq,
    groupId: config.alerts.notifierGroupId,
    registry,
    store: alerts,
    channels: loadChannels(config.alerts.channelsFile),
    silences,
    delivery: { attempts: 2, backoffMs: 50, timeoutMs: 2_000 },
    log,
    metrics,
  });
  await notifier.start();
  producer = new SerialProducer(kafka);
  await producer.connect();
  app = buildHttpServer({ log, metrics, tokens: new BearerTokens(config.auth), readiness: [], bodyLimit: 1_000_000 });
  registerAlertRoutes(app, { alerts, silences, acks, context: async (alert) => ({ series: alert.source_id, points: [] }) });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await producer?.close();
  await notifier?.stop();
  await clickhouse?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

async function publish(...alerts: AlertEvent[]): Promise<void> {
  await producer.send([{ topic: topicNames(config.kafka.topicPrefix).alerts, messages: alerts.map((alert) => ({ key: alert.alert_id, value: registry.encode(SCHEMA_NAMES.alert, alert) })) }]);
}

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, token: string = method === 'GET' ? TEST_TOKENS.reader : TEST_TOKENS.admin, payload?: unknown) {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'x-spendline-actor': 'oncall-bob' }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: response.statusCode, body: response.json() as any };
}

const detail = (id: string) => call('GET', `/v1/alerts/${encodeURIComponent(id)}`);
/** The alert once the notifier has recorded the state given. */
const recorded = (id: string, state: AlertEvent['state']) =>
  eventually(
    async () => {
      const found = await detail(id);
      return found.status === 200 && found.body.alert.state === state ? found.body : undefined;
    },
    { what: `${id} ${state} recorded` },
  );
const ids = (listed: { body: { alerts: { alert_id: string }[] } }) => listed.body.alerts.map((alert) => alert.alert_id);
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_500));

const T0 = Date.UTC(2026, 10, 24, 10);
const MINUTE = 60_000;
// A runaway in the silenced team, an info anomaly and a critical runaway in search.
const adsRunaway = detectorAlert({ alert_id: 'runaway/team=ads/cost', source_id: 'runaway/team=ads/cost', scope: { team: 'ads' }, channels: ['chat', 'pager'], occurred_at: T0 + MINUTE });
const searchAnomaly = detectorAlert({ alert_id: 'anomaly/team=search,feature=answers/requests', kind: 'anomaly', severity: 'info', source_id: 'anomaly/team=search,feature=answers/requests', scope: { team: 'search', feature: 'answers' }, metric: 'requests', unit: 'requests/min', channels: ['chat', 'pager'], occurred_at: T0 + 2 * MINUTE });
const searchRunaway = detectorAlert({ channels: ['chat', 'pager'], occurred_at: T0 + 3 * MINUTE });

describe('alert API', () => {
  let silenceId = '';

  it('refuses an invalid silence, naming each field, and a silence from a reader', async () => {
    const invalid = await call('POST', '/v1/admin/silences', TEST_TOKENS.admin, { scope: { tema: 'ads' }, kinds: ['runway'], ends_at: 'tomorrow', reason: 'deploy' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['scope.tema', 'kinds[0]', 'ends_at']);
    const both = await call('POST', '/v1/admin/silences', TEST_TOKENS.admin, { scope: { team: 'ads' }, duration: 'PT1H', ends_at: '2099-01-01T00:00:00Z', reason: 'deploy' });
    expect(both).toMatchObject({ status: 400, body: { error: { issues: [{ path: 'duration', message: 'give either ends_at or duration, not both' }] } } });
    const long = await call('POST', '/v1/admin/silences', TEST_TOKENS.admin, { scope: { team: 'ads' }, duration: 'P120D', reason: 'deploy' });
    expect(long).toMatchObject({ status: 400, body: { error: { issues: [{ path: 'duration', message: 'must make a silence of at most 90 days' }] } } });
    expect((await call('POST', '/v1/admin/silences', TEST_TOKENS.reader, { scope: { team: 'ads' }, duration: 'PT1H', reason: 'deploy' })).status).toBe(403);
  });

  it('records a silenced alert without telling anyone, and keeps info alerts from a min_severity channel', async () => {
    const created = await call('POST', '/v1/admin/silences', TEST_TOKENS.admin, { scope: { team: 'ads' }, kinds: ['runaway', 'anomaly'], duration: 'PT2H', reason: 'ads load test' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ scope: { team: 'ads' }, kinds: ['runaway', 'anomaly'], reason: 'ads load test', created_by: expect.stringMatching(/^oncall-bob \(token [0-9a-f]{12}\)$/), cancelled_at: null, active: true });
    expect(Date.parse(created.body.ends_at) - Date.parse(created.body.starts_at)).toBe(2 * 60 * MINUTE);
    silenceId = created.body.silence_id;

    await publish(adsRunaway, searchAnomaly, searchRunaway);
    const ads = await recorded(adsRunaway.alert_id, 'firing');
    await eventually(async () => (received.length >= 3 ? true : undefined), { what: 'the search alerts at their receivers' });
    await settle();
    expect([...received].sort()).toEqual([`/chat ${searchAnomaly.alert_id} firing`, `/chat ${searchRunaway.alert_id} firing`, `/pager ${searchRunaway.alert_id} firing`]);

    expect(ads.states[0].deliveries).toEqual([
      expect.objectContaining({ channel: 'chat', outcome: 'silenced', attempts: 0, status_code: 0, error: `silenced by ${silenceId}` }),
      expect.objectContaining({ channel: 'pager', outcome: 'silenced', attempts: 0, status_code: 0, error: `silenced by ${silenceId}` }),
    ]);
    expect(ads.silences).toEqual([expect.objectContaining({ silence_id: silenceId, active: true })]);
    const anomaly = await detail(searchAnomaly.alert_id);
    expect(anomaly.body.states[0].deliveries.map((d: { channel: string; outcome: string }) => `${d.channel}:${d.outcome}`)).toEqual(['chat:delivered', 'pager:skipped']);
  });

  it('lists the latest state of each alert, newest first, with filters', async () => {
    const all = await call('GET', '/v1/alerts');
    expect(all.status).toBe(200);
    expect(ids(all)).toEqual([searchRunaway.alert_id, searchAnomaly.alert_id, adsRunaway.alert_id]);
    expect(all.body.alerts[2]).toMatchObject({ state: 'firing', kind: 'runaway', firing_severity: 'critical', silenced: true, silenced_by: [silenceId], occurred_at: new Date(T0 + MINUTE).toISOString(), acknowledgement: null });
    expect(all.body.alerts[0]).toMatchObject({ silenced: false, silenced_by: [], since: new Date(searchRunaway.since!).toISOString() });

    expect(ids(await call('GET', '/v1/alerts?kind=runaway'))).toEqual([searchRunaway.alert_id, adsRunaway.alert_id]);
    expect(ids(await call('GET', '/v1/alerts?team=search'))).toEqual([searchRunaway.alert_id, searchAnomaly.alert_id]);
    expect(ids(await call('GET', '/v1/alerts?team=search&feature=answers'))).toEqual([searchAnomaly.alert_id]);
    expect(ids(await call('GET', '/v1/alerts?min_severity=warning'))).toEqual([searchRunaway.alert_id, adsRunaway.alert_id]);
    expect(ids(await call('GET', '/v1/alerts?severity=info,warning'))).toEqual([searchAnomaly.alert_id]);
    expect(ids(await call('GET', `/v1/alerts?from=${encodeURIComponent(new Date(T0 + 2 * MINUTE).toISOString())}&to=${encodeURIComponent(new Date(T0 + 3 * MINUTE).toISOString())}`))).toEqual([searchAnomaly.alert_id]);
    expect(ids(await call('GET', '/v1/alerts?state=resolved'))).toEqual([]);
    expect(ids(await call('GET', '/v1/alerts?limit=1'))).toEqual([searchRunaway.alert_id]);

    const bad = await call('GET', '/v1/alerts?state=open&tem=search&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['state', 'limit', 'tem']);
  });

  it('records an acknowledgement and shows it in the list and the detail', async () => {
    const url = `/v1/alerts/${encodeURIComponent(searchRunaway.alert_id)}/acknowledge`;
    const tooLong = await call('POST', url, TEST_TOKENS.reader, { note: 'x'.repeat(1001) });
    expect(tooLong).toMatchObject({ status: 400, body: { error: { issues: [{ path: 'note', message: 'must be at most 1000 characters' }] } } });
    const acked = await call('POST', url, TEST_TOKENS.reader, { note: 'rolling back the prompt change' });
    expect(acked).toMatchObject({ status: 200, body: { alert_id: searchRunaway.alert_id, note: 'rolling back the prompt change', acknowledged_by: expect.stringMatching(/^oncall-bob \(token [0-9a-f]{12}\)$/) } });
    expect((await call('POST', `/v1/alerts/${encodeURIComponent('runaway/team=nobody/cost')}/acknowledge`, TEST_TOKENS.reader, {})).status).toBe(404);

    const listed = await call('GET', '/v1/alerts?kind=runaway');
    expect(listed.body.alerts[0].acknowledgement).toEqual(acked.body);
    expect(listed.body.alerts[1].acknowledgement).toBeNull();
    const shown = await detail(searchRunaway.alert_id);
    expect(shown.body).toMatchObject({
      alert: { alert_id: searchRunaway.alert_id, state: 'firing', contributors: searchRunaway.contributors },
      acknowledgements: [acked.body],
      silences: [],
      context: { series: searchRunaway.source_id, points: [] },
    });
    expect(shown.body.states).toHaveLength(1);
    expect(shown.body.states[0].deliveries.map((d: { channel: string; outcome: string }) => `${d.channel}:${d.outcome}`)).toEqual(['chat:delivered', 'pager:delivered']);
  });

  it('answers 404 for an unknown alert, saying how ids are sent', async () => {
    const missing = await detail('budget/nobody/2026-11/actual-80');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('URL-encoded') } } });
  });

  it("shows a team-scoped reader only its teams' alerts", async () => {
    expect(ids(await call('GET', '/v1/alerts', ADS_READER))).toEqual([adsRunaway.alert_id]);
    expect((await call('GET', `/v1/alerts/${encodeURIComponent(searchRunaway.alert_id)}`, ADS_READER)).status).toBe(404);
    expect((await call('POST', `/v1/alerts/${encodeURIComponent(searchRunaway.alert_id)}/acknowledge`, ADS_READER, {})).status).toBe(404);
    expect((await call('GET', `/v1/alerts/${encodeURIComponent(adsRunaway.alert_id)}`, ADS_READER)).status).toBe(200);
  });

  it('sends a resolution only where its firing went', async () => {
    await publish(resolved(adsRunaway, 'back in range', T0 + 10 * MINUTE), resolved(searchAnomaly, 'back in range', T0 + 11 * MINUTE));
    const ads = await recorded(adsRunaway.alert_id, 'resolved');
    await eventually(async () => (received.length >= 4 ? true : undefined), { what: 'the anomaly resolution at chat' });
    await settle();
    expect(received.slice(3)).toEqual([`/chat ${searchAnomaly.alert_id} resolved`]);
    expect(ads.states.map((state: { state: string }) => state.state)).toEqual(['resolved', 'firing']);
    expect(ads.states[0].deliveries.map((d: { channel: string; outcome: string }) => `${d.channel}:${d.outcome}`)).toEqual(['chat:skipped', 'pager:skipped']);
    expect(ids(await call('GET', '/v1/alerts?state=resolved'))).toEqual([searchAnomaly.alert_id, adsRunaway.alert_id]);
    // A resolution is info; the severity filter looks at how the alert fired.
    expect(ids(await call('GET', '/v1/alerts?state=resolved&min_severity=critical'))).toEqual([adsRunaway.alert_id]);
  });

  it('lifts a silence so the next alert of its scope is delivered', async () => {
    expect((await call('GET', '/v1/admin/silences', TEST_TOKENS.admin)).body.silences.map((s: { silence_id: string }) => s.silence_id)).toEqual([silenceId]);
    expect((await call('GET', '/v1/admin/silences', TEST_TOKENS.reader)).status).toBe(403);
    expect((await call('DELETE', '/v1/admin/silences/no-such-silence')).status).toBe(404);
    const lifted = await call('DELETE', `/v1/admin/silences/${silenceId}`);
    expect(lifted).toMatchObject({ status: 200, body: { silence_id: silenceId, active: false, cancelled_by: expect.stringMatching(/^oncall-bob/) } });
    expect(lifted.body.cancelled_at).not.toBeNull();
    expect((await call('GET', '/v1/admin/silences', TEST_TOKENS.admin)).body.silences).toEqual([]);
    expect((await call('GET', '/v1/admin/silences?include_expired=true', TEST_TOKENS.admin)).body.silences).toEqual([expect.objectContaining({ silence_id: silenceId, active: false })]);
    expect((await call('GET', '/v1/alerts?team=ads')).body.alerts[0]).toMatchObject({ silenced: false });

    const again = detectorAlert({ alert_id: 'runaway/team=ads/requests', source_id: 'runaway/team=ads/requests', scope: { team: 'ads' }, metric: 'requests', channels: ['chat', 'pager'], occurred_at: T0 + 20 * MINUTE });
    await publish(again);
    await eventually(async () => (received.length >= 6 ? true : undefined), { what: 'the ads alert at both receivers' });
    expect(received.slice(4).sort()).toEqual([`/chat ${again.alert_id} firing`, `/pager ${again.alert_id} firing`]);
  });

  it('tells an alert again when it fires at a higher severity (a detector incident that grew), also where it was skipped before, and only once', async () => {
    const growing = detectorAlert({ alert_id: 'anomaly/team=search/cost/2026-11-24T10:30:00.000Z', kind: 'anomaly', severity: 'info', source_id: 'anomaly/team=search/cost', channels: ['chat', 'pager'], occurred_at: T0 + 30 * MINUTE });
    const worse: AlertEvent = { ...growing, severity: 'warning', occurred_at: T0 + 31 * MINUTE };
    await publish(growing);
    await recorded(growing.alert_id, 'firing');
    // The grown state, a repeat of it (a replica publishing too), a lower severity (it shrank), and the resolution.
    await publish(worse, worse, { ...worse, severity: 'info', occurred_at: T0 + 32 * MINUTE }, resolved(worse, 'back in range', T0 + 40 * MINUTE));
    const shown = await recorded(growing.alert_id, 'resolved');
    await eventually(async () => (received.length >= 6 + 5 ? true : undefined), { what: 'the grown alert and its resolution at both receivers' });
    await settle();
    expect(received.slice(6).sort()).toEqual([
      `/chat ${growing.alert_id} firing`,
      `/chat ${growing.alert_id} firing`,
      `/chat ${growing.alert_id} resolved`,
      `/pager ${growing.alert_id} firing`,
      `/pager ${growing.alert_id} resolved`,
    ]);
    expect(shown.states.map((state: { state: string; severity: string; deliveries: { channel: string; outcome: string }[] }) => `${state.state} ${state.severity} ${state.deliveries.map((d) => `${d.channel}:${d.outcome}`).join(',')}`)).toEqual([
      'resolved info chat:delivered,pager:delivered',
      'firing warning chat:delivered,pager:delivered',
      'firing info chat:delivered,pager:skipped',
    ]);
    expect((await call('GET', '/v1/alerts?state=resolved&min_severity=warning')).body.alerts.map((alert: { alert_id: string; firing_severity: string }) => `${alert.alert_id} ${alert.firing_severity}`)).toContain(`${growing.alert_id} warning`);
  });

  it('describes every alert route at /docs', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, Record<string, { parameters: { name: string }[] }>> } & Record<string, unknown>;
    expect(document['x-undocumented-routes']).toBeUndefined();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/alerts', '/v1/alerts/{id}', '/v1/alerts/{id}/acknowledge', '/v1/admin/silences', '/v1/admin/silences/{id}']));
    expect(document.paths['/v1/alerts']!['get']!.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['state', 'kind', 'severity', 'min_severity', 'from', 'to', 'limit', 'team', 'agent_run_id']));
  });
});
