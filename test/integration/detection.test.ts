import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AlertEvent } from '../../services/alerts/alert-event.ts';
import { AlertStore } from '../../services/alerts/alert-store.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { DetectorStateStore } from '../../services/detection/detector-state-store.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { findOnTopic } from '../support/topic-watch.ts';
import { ingestAndStore } from '../support/stored-events.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Detection end to end on the real broker and chDB: two days of steady
 * minute traffic, then an agent run looping at 80 calls a minute. The minute
 * run finds the run and the cost and request anomalies it causes in its team
 * and model, and pages once for the one incident; a restart keeps the
 * baselines and the incident (no second page); when the loop stops the
 * incident resolves, once. A loop going on now is caught on the live stream,
 * before any minute run.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const MINUTE = 60_000;
const T = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
const SPIKE = [T, T + MINUTE, T + 2 * MINUTE];
let config: SpendlineConfig;
let running: RunningProcess;
let server: Server;
const received: AlertEvent[] = [];

const iso = (at: number) => new Date(at).toISOString();

/** Two events a minute for the team's chat feature, from two days before T to 12 minutes after it; 80 a minute from one agent run during the spike. */
function traffic(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (let at = T - 2 * 1440 * MINUTE; at < T + 12 * MINUTE; at += MINUTE) {
    for (let i = 0; i < 2; i += 1) events.push(usageEventJson({ event_id: `steady-${at}-${i}`, occurred_at: iso(at + i * 20_000), feature: 'chat', user_id: `u${i}`, input_tokens: 1000 + (at / MINUTE) % 7 * 50 }));
  }
  for (const minute of SPIKE) {
    for (let i = 0; i < 80; i += 1) {
      events.push(usageEventJson({ event_id: `loop-${minute}-${i}`, occurred_at: iso(minute + i * 700), feature: 'agent', agent_run_id: 'run-1', user_id: 'u9', input_tokens: 20_000 }));
    }
  }
  return events;
}

const start = () => startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: inject('kafkaBrokers'), log, processMetrics: false });

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as AlertEvent);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'spendline-detection-'));
  writeFileSync(join(dir, 'channels.json'), JSON.stringify({ channels: [{ name: 'oncall', type: 'webhook', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret: 'detection-secret-0123456789' }] }));
  writeFileSync(join(dir, 'detection.json'), JSON.stringify({ channels: ['oncall'], minute: { scopes: ['team', 'feature', 'model'] } }));
  // The schedules never fire during the test: each run is called with the time it pretends it is.
  config = testConfig(inject('kafkaBrokers'), {
    SPENDLINE_CHANNELS_FILE: join(dir, 'channels.json'),
    SPENDLINE_DETECTION_FILE: join(dir, 'detection.json'),
    DETECTION_MINUTE_SCHEDULE: '0 0 0 1 1 *',
    DETECTION_HOURLY_SCHEDULE: '0 0 0 1 1 *',
    INGEST_MAX_BATCH_EVENTS: '5000',
    INGEST_MAX_BODY_BYTES: String(8 * 1024 * 1024),
  });
  running = await start();
  const events = traffic();
  await ingestAndStore(running, events);
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const firing = () => received.filter((alert) => alert.state === 'firing');

describe('detection', () => {
  let incident: AlertEvent;

  it('pages once for a runaway agent run and the anomalies it causes, with what drove it', async () => {
    // Quiet while the traffic is steady.
    expect(await running.detection!.runMinute(T + 30_000)).toEqual([]);
    const published = await running.detection!.runMinute(T + 2 * MINUTE + 30_000);
    expect(published.map((alert) => alert.state)).toEqual(['firing']);
    incident = published[0]!;
    const members = [incident.source_id, ...incident.related];
    expect(members).toEqual(expect.arrayContaining(['anomaly/team=search/cost', 'anomaly/model=gpt-4o-mini/cost', 'runaway/agent_run_id=run-1/calls_per_minute']));
    expect(incident.since).toBe(T);
    expect(incident.contributors.length + incident.related.length).toBeGreaterThan(0);
    expect(Number(incident.at_stake_per_hour)).toBeGreaterThan(1);
    expect(incident.channels).toEqual(['oncall']);

    // On alerts.v1, then through the notifier to the channel, once.
    const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
    const onTopic = await findOnTopic<AlertEvent>(
      { brokers: inject('kafkaBrokers'), topic: topicNames(config.kafka.topicPrefix).alerts, registry, schema: SCHEMA_NAMES.alert, log },
      (alert) => alert.alert_id === incident.alert_id,
      'the incident on alerts.v1',
    );
    expect(onTopic).toMatchObject({ kind: incident.kind, state: 'firing', related: incident.related });
    await eventually(async () => (firing().length > 0 ? true : undefined), { what: 'the page' });
    expect(firing().map((alert) => alert.alert_id)).toEqual([incident.alert_id]);

    // On-call's view: listed among the firing alerts, and its detail shows the incident as it stands.
    const get = async (url: string) => (await running.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } })).json() as any;
    await eventually(async () => ((await get(`/v1/alerts?state=firing&kind=${incident.kind}`)).alerts.some((a: AlertEvent) => a.alert_id === incident.alert_id) ? true : undefined), { what: 'the alert listed' });
    const detail = await get(`/v1/alerts/${encodeURIComponent(incident.alert_id)}`);
    expect(detail.context).toMatchObject({ open: true, members: [incident.source_id, ...incident.related].sort() });
  });

  it('does not page again after a crash: a detector with no saved series replays them from storage into the open incident', async () => {
    const clickhouse = running.clickhouse!;
    const published: AlertEvent[] = [];
    const { DetectionService } = await import('../../services/detection/detection-service.ts');
    const { DetectionReader } = await import('../../services/detection/detection-reader.ts');
    const { loadDetectionSettings } = await import('../../services/detection/detection-config.ts');
    const afterCrash = new DetectionService({
      reader: new DetectionReader(clickhouse),
      states: new DetectorStateStore(clickhouse),
      publish: async (alerts) => void published.push(...alerts),
      settings: loadDetectionSettings(config.detection.file),
      minuteSchedule: '0 0 0 1 1 *',
      hourlySchedule: '0 0 0 1 1 *',
      log,
    });
    expect((await afterCrash.openIncidents()).map((open) => open.alertId)).toEqual([incident.alert_id]);
    expect(await afterCrash.runMinute(T + 2 * MINUTE + 30_000)).toEqual([]);
    expect((await afterCrash.openIncidents()).map((open) => open.alertId)).toEqual([incident.alert_id]);
    expect(published).toEqual([]);
  });

  it('keeps baselines and the open incident through a restart: no second page', async () => {
    await running.stop();
    running = await start();
    const states = await new DetectorStateStore(running.clickhouse!).load('minute/anomaly/team=search/');
    expect([...states.keys()].sort()).toEqual(['minute/anomaly/team=search/cost', 'minute/anomaly/team=search/error_rate', 'minute/anomaly/team=search/requests']);
    expect((await running.detection!.openIncidents()).map((open) => open.alertId)).toEqual([incident.alert_id]);
    // The loop goes on for one more minute: the same incident, no new alert.
    expect(await running.detection!.runMinute(T + 3 * MINUTE + 30_000)).toEqual([]);
  });

  it('resolves the incident once when the loop has stopped', async () => {
    const published = await running.detection!.runMinute(T + 11 * MINUTE + 30_000);
    expect(published.map((alert) => `${alert.alert_id} ${alert.state}`)).toEqual([`${incident.alert_id} resolved`]);
    expect(await running.detection!.runMinute(T + 12 * MINUTE + 30_000)).toEqual([]);
    await eventually(async () => (received.some((alert) => alert.state === 'resolved') ? true : undefined), { what: 'the resolution at the channel' });
    const latest = await new AlertStore(running.clickhouse!).latest({ ids: [incident.alert_id] });
    expect(latest.map((alert) => alert.state)).toEqual(['resolved']);
    expect(firing()).toHaveLength(1);
  });

  it('catches a loop on the live stream while its first minute is still going on, before any minute run', async () => {
    const now = Date.now();
    const loop = Array.from({ length: 40 }, (_, i) => usageEventJson({ event_id: `live-${i}`, occurred_at: iso(now), feature: 'agent', agent_run_id: 'run-live', user_id: 'u7' }));
    const response = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` }, payload: loop });
    expect(response.statusCode).toBe(200);
    const page = await eventually(async () => received.find((alert) => alert.source_id === 'runaway/agent_run_id=run-live/calls_per_minute'), { what: 'the runaway page from the stream' });
    expect(page).toMatchObject({ kind: 'runaway', state: 'firing', since: Math.floor(now / MINUTE) * MINUTE });
    // Judged as soon as a batch took the minute past the floor: 30 calls or more, whatever the batches were.
    expect(Number(page!.observed)).toBeGreaterThanOrEqual(30);
  });
});
