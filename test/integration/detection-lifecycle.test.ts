import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import { SerialProducer } from '@spendline/emitter/kafka';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AlertEvent } from '../../services/alerts/alert-event.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { loadDetectionSettings } from '../../services/detection/detection-config.ts';
import { DetectionReader } from '../../services/detection/detection-reader.ts';
import { DetectionService } from '../../services/detection/detection-service.ts';
import { DetectorStateStore } from '../../services/detection/detector-state-store.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { ingestAndStore } from '../support/stored-events.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * The life of a detector incident on a real process (broker, chDB, notifier,
 * a webhook receiver): two days of steady traffic of one team, then spikes
 * of its spend —
 *   - at T−20, one minute at warning level;
 *   - at T and T+1, warning level (a few USD/h at stake);
 *   - at T+2 and T+3, critical level (tens of USD/h at stake).
 * A publication that fails is made again by a later run; an incident that
 * grows fires again under its id at the higher severity, and the channel
 * hears of it once more, not again for a repeat of the same state.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const MINUTE = 60_000;
const T = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
const SHORT_SPIKE = T - 20 * MINUTE;
const WARNING = [T, T + MINUTE];
const CRITICAL = [T + 2 * MINUTE, T + 3 * MINUTE];
const DISABLED = '0 0 0 1 1 *';
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
let config: SpendlineConfig;
let running: RunningProcess;
let server: Server;
const received: AlertEvent[] = [];

const iso = (at: number) => new Date(at).toISOString();
/** A run at `minute` + 30 s: it judges the minutes before `minute` (30 s lateness). */
const runAt = (minute: number) => minute + 30_000;

/** Two gpt-4o-mini calls a minute for team search, from two days (and half an hour) before T to 15 minutes after it, and the spikes. */
function traffic(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (let at = T - 2 * 1440 * MINUTE - 30 * MINUTE; at < T + 15 * MINUTE; at += MINUTE) {
    for (let i = 0; i < 2; i += 1) events.push(usageEventJson({ event_id: `steady-${at}-${i}`, occurred_at: iso(at + i * 20_000), feature: 'chat', user_id: `u${i}` }));
  }
  const spike = (minute: number, calls: number, inputTokens: number) => {
    for (let i = 0; i < calls; i += 1) events.push(usageEventJson({ event_id: `spike-${minute}-${i}`, occurred_at: iso(minute + i * 400), feature: 'chat', user_id: 'u9', input_tokens: inputTokens }));
  };
  // About 0.05 USD a minute against 0.0004 usually: ~3 USD/h at stake.
  for (const minute of [SHORT_SPIKE, ...WARNING]) spike(minute, 30, 10_000);
  // About 0.7 USD a minute: ~40 USD/h at stake.
  for (const minute of CRITICAL) spike(minute, 120, 40_000);
  return events;
}

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
  const dir = mkdtempSync(join(tmpdir(), 'spendline-detection-lifecycle-'));
  writeFileSync(join(dir, 'channels.json'), JSON.stringify({ channels: [{ name: 'oncall', type: 'webhook', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, secret: 'lifecycle-secret-0123456789' }] }));
  writeFileSync(
    join(dir, 'detection.json'),
    JSON.stringify({ channels: ['oncall'], minute: { scopes: ['team'] }, severity: { warning_per_hour: '0.5', critical_per_hour: '20' }, runaway: { enabled: false } }),
  );
  // The schedules never fire during the test: each run is called with the time it pretends it is.
  config = testConfig(inject('kafkaBrokers'), {
    SPENDLINE_CHANNELS_FILE: join(dir, 'channels.json'),
    SPENDLINE_DETECTION_FILE: join(dir, 'detection.json'),
    DETECTION_MINUTE_SCHEDULE: DISABLED,
    DETECTION_HOURLY_SCHEDULE: DISABLED,
    INGEST_MAX_BATCH_EVENTS: '5000',
    INGEST_MAX_BODY_BYTES: String(8 * 1024 * 1024),
  });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: inject('kafkaBrokers'), log, processMetrics: false });
  // The process's detector loads its (empty) state now, before the detectors built below write theirs (under their own prefixes) to the same table.
  expect(await running.detection!.openIncidents()).toEqual([]);
  const events = traffic();
  await ingestAndStore(running, events, { timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

let detectors = 0;

/**
 * The state table under a key prefix of one detector's own: the detectors of
 * this file share a database, and must not take each other's incidents.
 */
function ownStates(): Pick<DetectorStateStore, 'load' | 'save'> {
  const store = new DetectorStateStore(running.clickhouse!);
  const prefix = `flaky-${(detectors += 1)}/`;
  return {
    load: async (keys) => new Map([...(await store.load(prefix + keys))].map(([key, state]) => [key.slice(prefix.length), state])),
    save: (states) => store.save(new Map([...states].map(([key, entry]) => [prefix + key, entry]))),
  };
}

/**
 * A second detector on the process's ClickHouse whose first publication fails
 * (the broker refused it) and whose later ones are recorded.
 */
function flakyDetector(): { detection: DetectionService; attempts: (readonly AlertEvent[])[]; published: AlertEvent[] } {
  const attempts: (readonly AlertEvent[])[] = [];
  const published: AlertEvent[] = [];
  const clickhouse = running.clickhouse!;
  const detection = new DetectionService({
    reader: new DetectionReader(clickhouse),
    states: ownStates(),
    publish: async (alerts) => {
      attempts.push(alerts);
      if (attempts.length === 1) throw new Error('alerts.v1 unavailable');
      published.push(...alerts);
    },
    settings: loadDetectionSettings(config.detection.file),
    minuteSchedule: DISABLED,
    hourlySchedule: DISABLED,
    log,
  });
  return { detection, attempts, published };
}

const brief = (alert: AlertEvent) => `${alert.alert_id} ${alert.state} ${alert.severity}`;
const TEAM_COST = 'anomaly/team=search/cost';
const incidentId = (since: number) => `${TEAM_COST}/${iso(since)}`;

describe('detection lifecycle', () => {
  describe('a publication that fails is made again', () => {
    it('by the next minute run while the spike goes on: the incident was not kept as if published', async () => {
      const { detection, attempts, published } = flakyDetector();
      await expect(detection.runMinute(runAt(T + MINUTE))).rejects.toThrow('alerts.v1 unavailable');
      expect(attempts.map((alerts) => alerts.map(brief))).toEqual([[`${incidentId(T)} firing warning`]]);
      expect(await detection.openIncidents()).toEqual([]);

      // T+1 is as bad as T: had the incident been kept, it would have nothing new to say (same id, same severity).
      const retried = await detection.runMinute(runAt(T + 2 * MINUTE));
      expect(retried.map(brief)).toEqual([`${incidentId(T)} firing warning`]);
      expect(published).toEqual(retried);
      expect(retried[0]).toMatchObject({ since: T, period_start: T + MINUTE, source_id: TEAM_COST, related: ['anomaly/team=search/requests'], channels: ['oncall'] });
      expect((await detection.openIncidents()).map((open) => open.alertId)).toEqual([incidentId(T)]);
      expect(await detection.runMinute(runAt(T + 2 * MINUTE))).toEqual([]);
      expect(published).toHaveLength(1);
    });

    it('by the next minute run when the spike lasted one minute: what the failed run found is not lost', async () => {
      const { detection, attempts, published } = flakyDetector();
      await expect(detection.runMinute(runAt(SHORT_SPIKE + MINUTE))).rejects.toThrow('alerts.v1 unavailable');
      expect(attempts.map((alerts) => alerts.map(brief))).toEqual([[`${incidentId(SHORT_SPIKE)} firing warning`]]);
      const retried = await detection.runMinute(runAt(SHORT_SPIKE + 2 * MINUTE));
      expect(retried.map(brief)).toEqual([`${incidentId(SHORT_SPIKE)} firing warning`]);
      expect(published).toEqual(retried);
    });

    it('by a run again at the same minute', async () => {
      const { detection, published } = flakyDetector();
      await expect(detection.runMinute(runAt(SHORT_SPIKE + MINUTE))).rejects.toThrow('alerts.v1 unavailable');
      expect((await detection.runMinute(runAt(SHORT_SPIKE + MINUTE))).map(brief)).toEqual([`${incidentId(SHORT_SPIKE)} firing warning`]);
      expect(published.map(brief)).toEqual([`${incidentId(SHORT_SPIKE)} firing warning`]);
    });
  });

  it('fires a growing incident again under its id at the higher severity; the channel hears it twice, not again for a repeat', async () => {
    const detection = running.detection!;
    const id = incidentId(T);
    expect(await detection.runMinute(runAt(T))).toEqual([]);
    const opened = await detection.runMinute(runAt(T + MINUTE));
    expect(opened.map(brief)).toEqual([`${id} firing warning`]);
    expect(Number(opened[0]!.at_stake_per_hour)).toBeGreaterThanOrEqual(0.5);
    expect(Number(opened[0]!.at_stake_per_hour)).toBeLessThan(20);
    // As bad as before: nothing new.
    expect(await detection.runMinute(runAt(T + 2 * MINUTE))).toEqual([]);

    const grown = await detection.runMinute(runAt(T + 3 * MINUTE));
    expect(grown.map(brief)).toEqual([`${id} firing critical`]);
    expect(Number(grown[0]!.at_stake_per_hour)).toBeGreaterThanOrEqual(20);
    expect(grown[0]).toMatchObject({ since: T, period_start: T + 2 * MINUTE, source_id: TEAM_COST });
    // Still critical: nothing new.
    expect(await detection.runMinute(runAt(T + 4 * MINUTE))).toEqual([]);

    const firingFor = () => received.filter((alert) => alert.alert_id === id && alert.state === 'firing');
    await eventually(async () => (firingFor().length >= 2 ? true : undefined), { what: 'the warning and the critical page' });
    expect(firingFor().map((alert) => alert.severity)).toEqual(['warning', 'critical']);

    // The same critical state again (a replica, a replay): recorded already, nobody is told.
    const producer = new SerialProducer(createKafka({ brokers: inject('kafkaBrokers'), clientId: 'lifecycle-test' }, log));
    await producer.connect();
    try {
      await producer.send([{ topic: topicNames(config.kafka.topicPrefix).alerts, messages: [{ key: id, value: registry.encode(SCHEMA_NAMES.alert, grown[0]!) }] }]);
    } finally {
      await producer.close();
    }
    // The spike ended at T+4; five minutes later the incident resolves. Same key, same partition: the notifier has handled the repeat before the resolution.
    expect((await detection.runMinute(runAt(T + 9 * MINUTE))).map(brief)).toEqual([`${id} resolved info`]);
    await eventually(async () => (received.some((alert) => alert.alert_id === id && alert.state === 'resolved') ? true : undefined), { what: 'the resolution at the channel' });
    expect(received.filter((alert) => alert.alert_id === id).map((alert) => `${alert.state} ${alert.severity}`)).toEqual(['firing warning', 'firing critical', 'resolved info']);
    // On-call's view: three states, each told to the channel (the repeat was not recorded), and the list knows how bad it got.
    const get = async (url: string) => (await running.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${TEST_TOKENS.reader}` } })).json() as any;
    const detail = await eventually(
      async () => {
        const shown = await get(`/v1/alerts/${encodeURIComponent(id)}`);
        return shown.alert?.state === 'resolved' ? shown : undefined;
      },
      { what: 'the resolution recorded' },
    );
    expect(detail.states.map((state: any) => `${state.state} ${state.severity} ${state.deliveries.map((d: any) => `${d.channel}:${d.outcome}`).join(',')}`)).toEqual([
      'resolved info oncall:delivered',
      'firing critical oncall:delivered',
      'firing warning oncall:delivered',
    ]);
    const listed = await get('/v1/alerts?state=resolved&min_severity=critical');
    expect(listed.alerts.map((alert: AlertEvent) => alert.alert_id)).toEqual([id]);
    expect(listed.alerts[0].firing_severity).toBe('critical');
  });
});
