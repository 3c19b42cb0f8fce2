/**
 * npm run bench:incidents — does anomaly detection catch the failures it is
 * built for, how fast, and how often does it page for nothing?
 *
 * Two timelines over the same synthetic traffic (seeded: every run loads the
 * same events), each in a fresh embedded chDB database after the migrations:
 *   - clean: BENCH_HISTORY_DAYS (default 8) of history, then the simulated
 *     period of BENCH_DAYS (default 1) from Wednesday 2026-11-18 00:00 UTC;
 *   - injected: the same, with seven named failures injected on the first
 *     simulated day (test/bench/incidents/injected-incidents.ts): an unpriced
 *     model appearing, a runaway agent loop, a price drift, a retry storm, a
 *     model-mix drift, a gateway going silent and a token drift.
 * Events go through the code the enricher and the sink run (attributeEvent →
 * priceUsageEvent with the bundled catalog → toUsageRow) straight into
 * usage_events_v1, all loaded before the runs: the detectors read only what
 * occurred before their window ends. Traffic: test/bench/incidents/synthetic-traffic.ts
 * (token sizes and burstiness of the Azure LLM inference traces, a business-day
 * curve, BENCH_RATE events/s on average over a week, default 2).
 *
 * Each timeline drives the real DetectionService with a simulated clock:
 * runMinute every minute (now = minute + 35 s) and runHourly every hour (now =
 * hour + 2 min), from BENCH_LEAD_IN_MINUTES (default 60) before the period: the
 * first runs warm the baselines up from the stored history, and alerts of the
 * lead-in are reported apart. Settings: the defaults, or BENCH_DETECTION_FILE
 * (the service's detection file format). A run that throws is logged and
 * counted and the next run goes on, as the service's cron does.
 *
 * Prints one JSON document: per incident, whether and how soon it was caught
 * (minutes from its start to the run that published the first alert on it),
 * by which alert, and into how many alerts it went (incidents/alert-scoring.ts
 * says which alerts count as its doing); false alerts per simulated day of the
 * clean timeline and the alerts of the injected one attributed to no incident,
 * per detector, scope dimension and kind, with examples; run times of the
 * minute and hourly runs and of each reader query. A table goes to stderr.
 *
 * Knobs: BENCH_DAYS (1), BENCH_RATE (2), BENCH_HISTORY_DAYS (8),
 * BENCH_LEAD_IN_MINUTES (60), BENCH_TIMELINES (both | injected: skip the clean
 * timeline, about half the run time), BENCH_DETECTION_FILE, BENCH_SEED,
 * BENCH_BATCH (rows per insert), BENCH_TRACES (CSV files), LOG_LEVEL (warn).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { z } from 'zod';
import type { AlertEvent } from '../../services/alerts/alert-event.ts';
import { AttributionPolicy } from '../../services/attribution/attribution-policy.ts';
import { createClickHouse, type ClickHouse } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../../services/clickhouse/migrations.ts';
import { loadConfig } from '../../services/config/config.ts';
import { loadDetectionSettings } from '../../services/detection/detection-config.ts';
import { DetectionReader } from '../../services/detection/detection-reader.ts';
import { DetectionService } from '../../services/detection/detection-service.ts';
import { DetectorStateStore } from '../../services/detection/detector-state-store.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { Contracts } from '../../services/pricing/contracts.ts';
import { PriceCatalog } from '../../services/pricing/price-catalog.ts';
import { PricingEngine } from '../../services/pricing/pricing-engine.ts';
import { BUNDLED_PRICE_CATALOG, PROJECT_ROOT, SQL_DIR } from '../../services/project-paths.ts';
import { alsoIn, attribute, falseAlertSummary, incidentOutcome, pages, type PublishedAlert } from './incidents/alert-scoring.ts';
import { loadTraces } from './incidents/azure-traces.ts';
import { plannedIncidents } from './incidents/injected-incidents.ts';
import { timedReader } from './incidents/reader-timing.ts';
import { FEATURES, GATEWAYS, MODELS, PROD_USERS, TEAMS, TENANTS } from './incidents/owners.ts';
import { RowWriter } from './incidents/row-writer.ts';
import { SyntheticTraffic } from './incidents/synthetic-traffic.ts';
import { UsageRows } from './incidents/usage-rows.ts';

const env = process.env;
function knob(name: string, fallback: number, min: number, max: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, got ${env[name]}`);
  return value;
}
const DAYS = Math.round(knob('BENCH_DAYS', 1, 1, 14));
const RATE = knob('BENCH_RATE', 2, 0.1, 50);
const SEED = Math.round(knob('BENCH_SEED', 20261118, 0, 2 ** 32 - 1));
const HISTORY_DAYS = Math.round(knob('BENCH_HISTORY_DAYS', 8, 1, 30));
const LEAD_IN_MINUTES = Math.round(knob('BENCH_LEAD_IN_MINUTES', 60, 0, 24 * 60));
const BATCH = Math.round(knob('BENCH_BATCH', 50_000, 1_000, 1_000_000));
/** both: the clean timeline too (false alerts with nothing injected; about half the run time); injected: that one alone. */
const TIMELINES = env['BENCH_TIMELINES'] ?? 'both';
if (TIMELINES !== 'both' && TIMELINES !== 'injected') throw new Error(`BENCH_TIMELINES must be both or injected, got ${TIMELINES}`);
const RUN_CLEAN = TIMELINES === 'both';
const traceFiles = (env['BENCH_TRACES'] ?? ['code', 'conv'].map((kind) => join(PROJECT_ROOT, `../shared/data/traces/azure-llm-inference-2023-${kind}.csv`)).join(',')).split(',').filter(Boolean);

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** A Wednesday: a business day with a full week of history before it. */
const PERIOD_START = Date.UTC(2026, 10, 18);
const PERIOD_END = PERIOD_START + DAYS * DAY_MS;
const HISTORY_START = PERIOD_START - HISTORY_DAYS * DAY_MS;
const RUNS_FROM = PERIOD_START - LEAD_IN_MINUTES * MINUTE_MS;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16) + 'Z';
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const wallStarted = performance.now();
const loadAverage: Record<string, number> = { atStart: loadavg()[0]! };

// ---------------------------------------------------------------------------------------------
// Two fresh embedded databases (one chDB data directory), the migrations applied.

// Logs go to stderr: stdout carries the report alone.
const log = createLogger(env['LOG_LEVEL'] ?? 'warn', process.stderr);
const settings = loadDetectionSettings(env['BENCH_DETECTION_FILE'] ?? null);
const dir = mkdtempSync(join(tmpdir(), 'spendline-incidents-bench-'));
async function openDatabase(database: string): Promise<ClickHouse> {
  const loaded = loadConfig({ LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SPENDLINE_DATA_DIR: dir, CLICKHOUSE_DATABASE: database });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const clickhouse = await createClickHouse(loaded.value.clickhouse, log);
  await migrate(clickhouse, readMigrations(SQL_DIR), log);
  return clickhouse;
}
const databases = { clean: RUN_CLEAN ? await openDatabase('incidents_clean') : null, injected: await openDatabase('incidents_injected') };

// ---------------------------------------------------------------------------------------------
// Load: the history once (copied into the injected database), then the period, clean and injected.

const traces = loadTraces(traceFiles);
const traffic = new SyntheticTraffic({ seed: SEED, eventsPerSecond: RATE, from: HISTORY_START, traces });
const incidents = plannedIncidents({ day: PERIOD_START, periodEnd: PERIOD_END, seed: SEED, traces, traffic });
const engine = new PricingEngine(PriceCatalog.fromFile(BUNDLED_PRICE_CATALOG), Contracts.none);
const rows = { clean: new UsageRows(engine, AttributionPolicy.builtIn), injected: new UsageRows(engine, AttributionPolicy.builtIn) };
const writers = { clean: databases.clean ? new RowWriter(databases.clean, BATCH) : null, injected: new RowWriter(databases.injected, BATCH) };

const loadStarted = performance.now();
process.stderr.write(`loading ${HISTORY_DAYS} days of history from ${iso(HISTORY_START)} at ${RATE} events/s on average...\n`);
const historyWriter = writers.clean ?? writers.injected;
for (let hour = HISTORY_START; hour < PERIOD_START; hour += HOUR_MS) {
  await historyWriter.add(traffic.until(hour + HOUR_MS).map((record) => rows.clean.row(record)));
  await yieldToLoop();
}
await historyWriter.flush();
const historyEvents = historyWriter.written;
if (databases.clean) {
  await databases.injected.command({
    name: 'bench_copy_history',
    sql: 'INSERT INTO {db:Identifier}.usage_events_v1 SELECT * FROM {source:Identifier}.usage_events_v1',
    params: { source: databases.clean.database },
  });
}
process.stderr.write(`  ${historyEvents.toLocaleString('en')} history events in ${round((performance.now() - loadStarted) / 1000)} s; now the period (${DAYS} day(s))...\n`);

const withRowChanges = incidents.filter((incident) => incident.row);
for (let hour = PERIOD_START; hour < PERIOD_END; hour += HOUR_MS) {
  const base = traffic.until(hour + HOUR_MS);
  await writers.clean?.add(base.map((record) => rows.clean.row(record)));
  let records = base;
  for (const incident of incidents) records = incident.events(records, hour, hour + HOUR_MS);
  await writers.injected.add(
    records.map((record) => {
      let row = rows.injected.row(record);
      for (const incident of withRowChanges) row = incident.row!(row, record);
      return row;
    }),
  );
  await yieldToLoop();
}
await writers.clean?.flush();
await writers.injected.flush();
const loadSeconds = (performance.now() - loadStarted) / 1000;

const countRow = z.object({ n: z.coerce.number() });
const countEvents = async (clickhouse: ClickHouse) =>
  (await clickhouse.query({ name: 'bench_count', sql: 'SELECT count() AS n FROM {db:Identifier}.usage_events_v1', schema: countRow }))[0]!.n;
const eventsLoaded = { clean: databases.clean ? await countEvents(databases.clean) : null, injected: await countEvents(databases.injected) };
process.stderr.write(`loaded ${eventsLoaded.clean?.toLocaleString('en') ?? 'no'} clean and ${eventsLoaded.injected.toLocaleString('en')} injected events in ${round(loadSeconds)} s\n`);

// The inserts leave parts ClickHouse merges in the background; let that finish (≤ 2 min) so both timelines run alike.
const settleStarted = performance.now();
for (;;) {
  const [merges] = await databases.injected.query({ name: 'bench_merges', sql: "SELECT count() AS n FROM system.merges WHERE database LIKE 'incidents_%'", schema: countRow });
  if (merges!.n === 0 || performance.now() - settleStarted > 120_000) break;
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
loadAverage['afterLoad'] = loadavg()[0]!;

// ---------------------------------------------------------------------------------------------
// The runs: the real service on a simulated clock.

interface ScheduledRun {
  readonly schedule: 'minute' | 'hour';
  readonly now: number;
}
const runs: ScheduledRun[] = [];
// Through the period's end: the minute run at end + 35 s judges its last minute, the hourly run at end + 2 min its last hour.
for (let minute = RUNS_FROM; minute <= PERIOD_END; minute += MINUTE_MS) runs.push({ schedule: 'minute', now: minute + 35_000 });
for (let hour = Math.floor(RUNS_FROM / HOUR_MS) * HOUR_MS; hour <= PERIOD_END; hour += HOUR_MS) if (hour + 2 * MINUTE_MS >= RUNS_FROM) runs.push({ schedule: 'hour', now: hour + 2 * MINUTE_MS });
runs.sort((a, b) => a.now - b.now);

interface Timeline {
  readonly alerts: PublishedAlert[];
  /** Runs that threw: the error message → schedule, count and first and last simulated time. */
  readonly errors: Record<string, { schedule: string; runs: number; first: string; last: string }>;
  readonly durations: Record<ScheduledRun['schedule'], number[]>;
  /** Time of each reader call, per reader method. */
  readonly readerCalls: Map<string, number[]>;
  readonly seconds: number;
}

async function runTimeline(name: string, clickhouse: ClickHouse): Promise<Timeline> {
  const alerts: PublishedAlert[] = [];
  const readerCalls = new Map<string, number[]>();
  let current: ScheduledRun = runs[0]!;
  const service = new DetectionService({
    reader: timedReader(new DetectionReader(clickhouse), readerCalls),
    states: new DetectorStateStore(clickhouse),
    publish: async (published: readonly AlertEvent[]) => {
      for (const alert of published) alerts.push({ alert, publishedAt: current.now, schedule: current.schedule });
    },
    settings,
    minuteSchedule: '35 * * * * *',
    hourlySchedule: '0 2 * * * *',
    log,
  });
  const durations: Timeline['durations'] = { minute: [], hour: [] };
  const errors: Timeline['errors'] = {};
  const started = performance.now();
  let lastReport = started;
  for (const run of runs) {
    current = run;
    const runStarted = performance.now();
    try {
      if (run.schedule === 'minute') await service.runMinute(run.now);
      else await service.runHourly(run.now);
    } catch (err) {
      // As the service's cron does: log, and the next run goes on.
      log.error({ err, timeline: name, schedule: run.schedule, now: iso(run.now) }, 'detection run failed');
      const message = String(err instanceof Error ? err.message : err).split('\n')[0]!.slice(0, 300);
      const seen = (errors[message] ??= { schedule: run.schedule, runs: 0, first: iso(run.now), last: '' });
      seen.runs += 1;
      seen.last = iso(run.now);
    }
    durations[run.schedule].push(performance.now() - runStarted);
    if (performance.now() - lastReport > 20_000) {
      lastReport = performance.now();
      const firing = alerts.filter((published) => published.alert.state === 'firing').length;
      process.stderr.write(`  [${name}] at ${iso(run.now)}: ${firing} alerts fired; ${round((lastReport - started) / 1000, 0)} s\n`);
    }
  }
  await service.stop();
  return { alerts, errors, durations, readerCalls, seconds: (performance.now() - started) / 1000 };
}

process.stderr.write(`running ${runs.length} detector runs per timeline, ${iso(RUNS_FROM)} → ${iso(PERIOD_END)}...\n`);
const clean = databases.clean ? await runTimeline('clean', databases.clean) : null;
const injected = await runTimeline('injected', databases.injected);
loadAverage['atEnd'] = loadavg()[0]!;

// ---------------------------------------------------------------------------------------------
// Scoring.

const inPeriod = (published: PublishedAlert) => published.publishedAt >= PERIOD_START;
const cleanPages = clean ? pages(clean.alerts) : null;
const injectedPages = pages(injected.alerts);
const injectedFiring = injectedPages.pages;
const background = cleanPages ? alsoIn(cleanPages.pages) : () => false;
const attribution = attribute(injectedFiring.filter(inPeriod), incidents, background);
const outcomes = [...incidents]
  .sort((a, b) => a.start - b.start)
  .map((incident) => incidentOutcome(incident, [...attribution].filter(([, to]) => to === incident).map(([published]) => published)));
const unattributed = [...attribution].filter(([, to]) => to === null).map(([published]) => published);

function timing(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
  return {
    calls: samples.length,
    meanMs: round(sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length), 1),
    p50Ms: round(quantile(0.5), 1),
    p95Ms: round(quantile(0.95), 1),
    maxMs: round(sorted.at(-1) ?? 0, 1),
    totalSeconds: round(sorted.reduce((sum, ms) => sum + ms, 0) / 1000),
  };
}
/** The first run warms the baselines up from the history: timed apart. */
const runTiming = (samples: readonly number[]) => ({ firstRunMs: round(samples[0] ?? 0, 0), ...timing(samples.slice(1)) });
const runTimes = (timeline: Timeline) => ({
  seconds: round(timeline.seconds),
  runMinute: runTiming(timeline.durations.minute),
  runHourly: runTiming(timeline.durations.hour),
  failedRuns: timeline.errors,
  readerCalls: Object.fromEntries(
    [...timeline.readerCalls]
      .map(([method, samples]) => [method, timing(samples)] as const)
      .sort(([, a], [, b]) => b.totalSeconds - a.totalSeconds),
  ),
});

const report = {
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    loadAverage1m: Object.fromEntries(Object.entries(loadAverage).map(([when, load]) => [when, round(load, 2)])),
  },
  setup: {
    seed: SEED,
    historyFrom: iso(HISTORY_START),
    periodFrom: iso(PERIOD_START),
    periodTo: iso(PERIOD_END),
    days: DAYS,
    runsFrom: iso(RUNS_FROM),
    leadInMinutes: LEAD_IN_MINUTES,
    meanEventsPerSecond: RATE,
    traces: traces.files.map((file) => file.split('/').at(-1)),
    owners: { teams: TEAMS.length, features: FEATURES.length, agentFeatures: FEATURES.filter((f) => f.agent).length, models: Object.keys(MODELS).length, gateways: GATEWAYS.length, users: PROD_USERS, tenants: TENANTS },
    detectionSettings: env['BENCH_DETECTION_FILE'] ?? 'defaults',
    timelines: TIMELINES,
  },
  load: { historyEvents, eventsLoaded, seconds: round(loadSeconds) },
  incidents: outcomes,
  falseAlerts: {
    note:
      'alerts (first firing of each alert id) published in the period, per simulated day; clean: the same traffic with nothing injected, every alert false; ' +
      'injectedUnattributed: alerts of the injected timeline not attributed to an incident (alsoInClean of them raised by the clean timeline too)',
    clean: cleanPages ? falseAlertSummary(cleanPages.pages.filter(inPeriod), DAYS) : null,
    injectedUnattributed: { alsoInClean: unattributed.filter(background).length, ...falseAlertSummary(unattributed, DAYS) },
    // The first runs warm every series up on the stored history and report what its last buckets (15 min, 2 h) hold.
    leadIn: (() => {
      const lead = (cleanPages ?? injectedPages).pages.filter((published) => !inPeriod(published));
      return { timeline: cleanPages ? 'clean' : 'injected', alerts: lead.length, byKindAndMetric: falseAlertSummary(lead, 1).byKindAndMetric };
    })(),
  },
  alertsPublished: {
    note: 'over all runs, lead-in included: alert ids opened, re-fired at a higher severity, resolved',
    clean: clean && cleanPages ? { opened: cleanPages.pages.length, escalated: cleanPages.escalations, resolved: clean.alerts.filter((published) => published.alert.state === 'resolved').length } : null,
    injected: { opened: injectedFiring.length, escalated: injectedPages.escalations, resolved: injected.alerts.filter((published) => published.alert.state === 'resolved').length },
  },
  runtime: { clean: clean ? runTimes(clean) : null, injected: runTimes(injected) },
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  wallSeconds: Math.round((performance.now() - wallStarted) / 1000),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

const pad = (text: string, width: number) => text.padEnd(width).slice(0, width);
const table = [
  `${pad('incident', 17)}${pad('start', 8)}${pad('detected', 9)}${pad('delay', 8)}${pad('first alert', 44)}${pad('expected kind', 20)}alerts`,
  ...outcomes.map((o) =>
    [
      pad(o.incident, 17),
      pad(o.start.slice(11, 16), 8),
      pad(o.detected ? 'yes' : 'NO', 9),
      pad(o.delayMinutes === null ? '-' : `${o.delayMinutes}m`, 8),
      pad(o.firstAlert ? `${o.firstAlert.kind}/${o.firstAlert.metric} ${o.firstAlert.severity} ${o.firstAlert.scope}` : '-', 44),
      pad(o.expectedKindDetected ? `yes, ${o.expectedKindDelayMinutes}m` : 'no', 20),
      String(o.firingAlerts),
    ].join(''),
  ),
  '',
  ...(report.falseAlerts.clean ? [`false alerts/day (clean): ${report.falseAlerts.clean.perDay}  by kind ${JSON.stringify(report.falseAlerts.clean.byKind)}  by dimension ${JSON.stringify(report.falseAlerts.clean.byDimension)}`] : []),
  ...(report.falseAlerts.clean ? [`  by detector: ${JSON.stringify(report.falseAlerts.clean.byKindAndMetric)}`] : []),
  `unattributed alerts/day (injected): ${report.falseAlerts.injectedUnattributed.perDay} (${report.falseAlerts.injectedUnattributed.alsoInClean} also raised in the clean timeline); lead-in alerts: ${report.falseAlerts.leadIn.alerts}`,
  ...[clean, injected].flatMap((timeline) => Object.entries(timeline?.errors ?? {})).map(([message, seen]) => `FAILED ${seen.schedule} runs (${seen.runs}, from ${seen.first}): ${message}`),
  `runMinute mean/p95 ${report.runtime.injected.runMinute.meanMs}/${report.runtime.injected.runMinute.p95Ms} ms, runHourly mean/p95 ${report.runtime.injected.runHourly.meanMs}/${report.runtime.injected.runHourly.p95Ms} ms (injected timeline); wall ${report.wallSeconds} s`,
];
process.stderr.write(`\n${table.join('\n')}\n`);

await databases.clean?.close();
await databases.injected.close();
rmSync(dir, { recursive: true, force: true });
