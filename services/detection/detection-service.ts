import cron, { type ScheduledTask } from 'node-cron';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SEVERITIES, type AlertEvent, type AlertSeverity } from '../alerts/alert-event.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { SERIES_DIMENSIONS, SERIES_METRICS, type DetectionSettings, type SeriesDimension, type SeriesMetric } from './detection-config.ts';
import type { DetectionReader, UsualActivity } from './detection-reader.ts';
import type { ActivityRow } from './named/inputs.ts';
import { incidentAlert, incidentResolution } from './detector-alerts.ts';
import type { DetectorStateStore } from './detector-state-store.ts';
import { findingKey, type Finding } from './finding.ts';
import { withContributors } from './contributors.ts';
import { IncidentBook, type Incident } from './incidents.ts';
import { detectModelMixDrift } from './named/model-mix.ts';
import { detectPriceDrift } from './named/price-drift.ts';
import { detectRunaways, RUNAWAY_DEFAULTS } from './named/runaway.ts';
import { detectSilence } from './named/silence.ts';
import { detectTokenDrift } from './named/token-drift.ts';
import { detectUnpricedUsage } from './named/unpriced.ts';
import { packSeriesState, unpackSeriesState, type PackedSeriesState, type SeriesDetectorState } from './series-detector.ts';
import { BUCKET_MS, measure, SeriesWatch, type Resolution, type SeriesBucket } from './series-watch.ts';

export interface DetectionServiceOptions {
  readonly reader: DetectionReader;
  readonly states: Pick<DetectorStateStore, 'load' | 'save'>;
  /** Hands alert state changes on (to alerts.v1, keyed by alert id); resolves once they are durable. */
  readonly publish: (alerts: readonly AlertEvent[]) => Promise<void>;
  readonly settings: DetectionSettings;
  /** node-cron expressions (with seconds) of the minute and hourly runs. */
  readonly minuteSchedule: string;
  readonly hourlySchedule: string;
  readonly log: Logger;
  readonly metrics?: Metrics;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** How much history a series is warmed up on when first seen, and at most caught up on after a stop. */
const WARM_UP: Readonly<Record<Resolution, number>> = { minute: 2 * DAY, hour: 14 * DAY };
/** Findings of buckets older than this (on a catch-up) join incidents but open none. */
const ALERT_HORIZON: Readonly<Record<Resolution, number>> = { minute: 15 * MINUTE, hour: 2 * HOUR };
/** A member of an incident not reported again for this long is gone: a few minute runs, or two hourly runs. */
const STALE_AFTER: Readonly<Record<Resolution, number>> = { minute: 5 * MINUTE, hour: 2 * HOUR };
/**
 * Series states (several kB each) are written every this many runs and on
 * stop; after a crash the buckets since are replayed from ClickHouse (an hour
 * of minutes, six hours), and what they find keeps incidents going but opens
 * none. Open incidents are written every run.
 */
const SAVE_EVERY: Readonly<Record<Resolution, number>> = { minute: 60, hour: 6 };
/** Closed incidents remembered, so a replay after a restart does not open them again. */
const REMEMBER_CLOSED = 2 * DAY;

const INCIDENTS_KEY = 'incidents';
/** Findings kept for the next run while Kafka refuses publications. */
const MAX_UNSENT = 10_000;
/** Calls in the last minute that make a run worth judging (a third of the runaway floor: its own usual rate may be lower). */
const CANDIDATE_CALLS = 10;
/** How often the usual rhythm of gateways and busy scopes (a week of events) is read again. */
const USUAL_TTL = HOUR;

export interface DetectorContext {
  readonly open: boolean;
  readonly members: readonly string[];
  readonly series: { readonly resolution: Resolution; readonly metric: SeriesMetric; readonly unit: string; readonly points: readonly { at: string; value: number | null; requests: number }[] } | null;
}

interface IncidentsState {
  readonly open: Incident[];
  readonly closed: Record<string, number>;
  readonly severities?: Record<string, AlertSeverity>;
}

/**
 * Anomaly and drift detection over stored usage, on two node-cron schedules:
 * every minute, the minute series (the freshest closed minute of each busy
 * team, feature, model, ...), runaway loops, unpriced usage and silence; every
 * hour, the hourly series and the drift detectors (model mix, tokens per
 * request, price per token). It reads ClickHouse, where every partition's
 * events already are exactly once (replicas of this service see the same
 * data and publish the same alert ids), turns findings into incidents and
 * publishes their openings and closings to alerts.v1 for the notifier, which
 * tells the channels once per state. Baselines and open incidents persist in
 * detector_state_v1.
 */
export class DetectionService {
  readonly #options: DetectionServiceOptions;
  readonly #log: Logger;
  readonly #tasks: ScheduledTask[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #loaded: Promise<void> | null = null;
  #watches!: Record<Resolution, SeriesWatch>;
  #book!: IncidentBook;
  #closed: Record<string, number> = {};
  /** Findings of runs whose publication failed, handed to the next run. */
  #unsent: Finding[] = [];
  /** Severity each open incident was last published with. */
  #severities: Record<string, AlertSeverity> = {};
  readonly #runs: Record<Resolution, number> = { minute: 0, hour: 0 };
  readonly #topValues = new Map<string, { at: number; values: string[] }>();
  #usual: { at: number; rows: UsualActivity[] } | null = null;

  constructor(options: DetectionServiceOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'detection' });
  }

  start(): void {
    const busy = new Set<string>();
    const schedule = (expression: string, run: () => Promise<unknown>, name: string) =>
      this.#tasks.push(
        cron.schedule(expression, () => {
          // A run still going at the next tick (a long warm-up, a slow ClickHouse) is not queued behind: the next run catches up.
          if (busy.has(name)) return this.#log.warn({ schedule: name }, 'detection run still going; skipping this tick');
          busy.add(name);
          void run()
            .catch((err: unknown) => this.#log.error({ err, schedule: name }, 'detection run failed; retrying at the next run'))
            .finally(() => busy.delete(name));
        }),
      );
    schedule(this.#options.minuteSchedule, () => this.runMinute(), 'minute');
    schedule(this.#options.hourlySchedule, () => this.runHourly(), 'hour');
  }

  async stop(): Promise<void> {
    for (const task of this.#tasks) await task.stop();
    await this.#queue.catch(() => undefined);
    if (this.#loaded) await this.#save(['minute', 'hour']).catch((err: unknown) => this.#log.error({ err }, 'could not save detector state on stop'));
  }

  /** One minute run at `now`: returns the alert state changes published. Runs never overlap. */
  runMinute(now = Date.now()): Promise<AlertEvent[]> {
    return this.#serial(() => this.#run('minute', now));
  }

  runHourly(now = Date.now()): Promise<AlertEvent[]> {
    return this.#serial(() => this.#run('hour', now));
  }

  /** Findings seen on the stream (a runaway caught mid-minute): into the incidents now, as a minute run would take them. */
  report(findings: readonly Finding[], now: number): Promise<AlertEvent[]> {
    return this.#serial(async () => {
      await this.#load();
      const published = await this.#publish(findings, now, 'minute');
      if (published.length > 0) await this.#saveIncidents();
      return published;
    });
  }

  /** Incidents going on now. */
  async openIncidents(): Promise<Incident[]> {
    await this.#load();
    return this.#book.open;
  }

  /**
   * What an alert's detail shows beside it: whether its incident is still
   * open and what it grew to, and for a series anomaly the series around it
   * (hours before it started to after it ended), bucket by bucket.
   */
  async context(alert: AlertEvent): Promise<DetectorContext | null> {
    if (alert.kind === 'budget') return null;
    const incident = (await this.openIncidents()).find((open) => open.alertId === alert.alert_id) ?? null;
    const [scope] = Object.entries(alert.scope);
    let series: DetectorContext['series'] = null;
    if (alert.kind === 'anomaly' && scope && (SERIES_DIMENSIONS as readonly string[]).includes(scope[0]) && (SERIES_METRICS as readonly string[]).includes(alert.metric)) {
      const resolution: Resolution = alert.period_end - alert.period_start <= MINUTE ? 'minute' : 'hour';
      const margin = resolution === 'minute' ? 2 * HOUR : DAY;
      const from = Math.floor(((alert.since ?? alert.period_start) - margin) / BUCKET_MS[resolution]) * BUCKET_MS[resolution];
      const to = Math.min(Date.now(), alert.period_end + margin / 4);
      const buckets = await this.#options.reader.buckets(resolution, scope[0] as SeriesDimension, [scope[1]], from, to);
      const metric = alert.metric as SeriesMetric;
      series = { resolution, metric, unit: alert.unit, points: buckets.map((bucket) => ({ at: new Date(bucket.at).toISOString(), value: measure(metric, bucket, this.#options.settings.min_requests), requests: bucket.requests })) };
    }
    return { open: incident !== null, members: incident ? Object.keys(incident.members).sort() : [], series };
  }

  #serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.catch(() => undefined).then(run);
    this.#queue = next;
    return next;
  }

  async #run(resolution: Resolution, now: number): Promise<AlertEvent[]> {
    const started = performance.now();
    await this.#load();
    const { settings } = this.#options;
    const end = Math.floor((now - settings.lateness_seconds * 1000) / BUCKET_MS[resolution]) * BUCKET_MS[resolution];
    const findings = [...(await this.#series(resolution, end)), ...(await (resolution === 'minute' ? this.#minuteDetectors(end, now) : this.#hourlyDetectors(end)))];
    for (const finding of findings) this.#options.metrics?.detectorFindings.inc({ kind: finding.kind });
    const published = await this.#publish(findings, end, resolution);
    this.#runs[resolution] += 1;
    if (this.#runs[resolution] % SAVE_EVERY[resolution] === 0) await this.#save([resolution]);
    else await this.#saveIncidents();
    this.#options.metrics?.detectorRunSeconds.observe({ schedule: resolution }, (performance.now() - started) / 1000);
    return published;
  }

  async #series(resolution: Resolution, end: number): Promise<Finding[]> {
    const { reader, settings } = this.#options;
    const watch = this.#watches[resolution];
    const findings: Finding[] = [];
    const earliest = end - WARM_UP[resolution];
    for (const dimension of (resolution === 'minute' ? settings.minute : settings.hourly).scopes) {
      const values = await this.#busiest(dimension, end);
      // Series seen before go on from where they stopped; new ones warm up on the stored history.
      const resumes = values.map((value) => watch.resumeFrom(dimension, value));
      const known = values.filter((_, i) => resumes[i] !== null);
      const fresh = values.filter((_, i) => resumes[i] === null);
      const from = Math.max(earliest, Math.min(end, ...resumes.filter((at): at is number => at !== null)));
      const buckets = [...(await reader.buckets(resolution, dimension, known, from, end)), ...(await reader.buckets(resolution, dimension, fresh, earliest, end))];
      const byValue = new Map<string, SeriesBucket[]>();
      for (const bucket of buckets) byValue.set(bucket.value, [...(byValue.get(bucket.value) ?? []), bucket]);
      for (const value of values) {
        findings.push(...watch.advance(dimension, [value], byValue.get(value) ?? [], end, end - ALERT_HORIZON[resolution], earliest));
        // A warm-up feeds thousands of buckets a series: let the API and the consumers breathe between series.
        await yieldToLoop();
      }
    }
    return findings;
  }

  async #minuteDetectors(end: number, now: number): Promise<Finding[]> {
    const { reader, settings } = this.#options;
    const findings: Finding[] = [];
    if (settings.runaway.enabled) {
      // Runs busy in the last closed minute, judged on their last hour against their feature's runs over the day before.
      const window = { start: end - HOUR, end, baselineStart: end - DAY - HOUR, baselineEnd: end - HOUR };
      const { runs, baselines } = await reader.runs(window.baselineStart, window.start, end - MINUTE, end, CANDIDATE_CALLS, RUNAWAY_DEFAULTS.minCostPerMinute);
      findings.push(...detectRunaways(runs, baselines, window));
    }
    if (settings.unpriced_usage.enabled) {
      const window = { start: end - 15 * MINUTE, end, baselineStart: end - DAY, baselineEnd: end - 15 * MINUTE };
      findings.push(...detectUnpricedUsage(await reader.unpriced(window.baselineStart, window.start, end), window));
    }
    if (settings.silence.enabled) {
      findings.push(...detectSilence(await this.#activity(now), now));
    }
    return findings;
  }

  async #hourlyDetectors(end: number): Promise<Finding[]> {
    const { reader, settings } = this.#options;
    const window = { start: end - HOUR, end, baselineStart: end - 7 * DAY - HOUR, baselineEnd: end - HOUR };
    const findings: Finding[] = [];
    if (settings.model_mix_drift.enabled) findings.push(...detectModelMixDrift(await reader.modelMix(window.baselineStart, window.start, end), window));
    if (settings.token_drift.enabled) findings.push(...detectTokenDrift(await reader.tokenDistributions(window.baselineStart, window.start, end), window));
    if (settings.price_drift.enabled) {
      const hours = await reader.modelPriceHours(window.baselineStart, end);
      findings.push(...detectPriceDrift(hours.filter((hour) => hour.hour < window.start), hours.filter((hour) => hour.hour >= window.start), window));
    }
    return findings;
  }

  /**
   * Silence's input: when each gateway and busy scope value was last heard
   * from (within the last day; silent longer counts from a day ago) and its
   * usual rhythm by hour of the day over the previous week (read hourly).
   */
  async #activity(now: number): Promise<ActivityRow[]> {
    const { reader, settings } = this.#options;
    const dimensions = settings.silence.scopes;
    const dayStart = Math.floor(now / DAY) * DAY;
    if (!this.#usual || now - this.#usual.at >= USUAL_TTL) this.#usual = { at: now, rows: await reader.usualActivity(dimensions, 7, dayStart) };
    const lastSeen = await reader.lastSeen(dimensions, now - DAY, now);
    const hour = new Date(now).getUTCHours();
    return this.#usual.rows.map((usual) => ({
      dimension: usual.dimension,
      value: usual.value,
      lastSeen: lastSeen.get(`${usual.dimension}\u0000${usual.value}`) ?? now - DAY,
      usualEventsPerMinuteByHour: usual.eventsPerMinuteByHour,
      usualCostPerHourUnits: usual.costPerHourUnitsByHour[hour] ?? 0n,
    }));
  }

  /** The busiest values of a dimension over the last week, refreshed hourly. */
  async #busiest(dimension: SeriesDimension, end: number): Promise<string[]> {
    const cached = this.#topValues.get(dimension);
    if (cached && end - cached.at < HOUR) return cached.values;
    const values = await this.#options.reader.topValues(dimension, end - 7 * DAY, end, this.#options.settings.max_series_per_scope);
    this.#topValues.set(dimension, { at: end, values });
    return values;
  }

  async #publish(findings: readonly Finding[], end: number, resolution: Resolution): Promise<AlertEvent[]> {
    const { settings, reader } = this.#options;
    // What an earlier run found but could not publish comes first: its series have moved on and will not report it again.
    const fresh: Finding[] = [...this.#unsent];
    for (const finding of findings) {
      // Contributors are looked up once per new series in an incident: they decide its grouping and tell on-call what drove it.
      fresh.push(this.#book.memberOf(findingKey(finding)) || finding.kind !== 'anomaly' || finding.opens === false ? finding : await withContributors(reader, finding));
    }
    // Worked out on copies and kept only once published: a publication that fails is made again by the next run.
    const book = new IncidentBook(settings.group_window_minutes * MINUTE, this.#book.open);
    const closed = Object.fromEntries(Object.entries(this.#closed).filter(([, closedAt]) => end - closedAt <= REMEMBER_CLOSED));
    const severities = { ...this.#severities };
    const changes = book.apply(fresh, end, STALE_AFTER[resolution], new Set(Object.keys(closed)));
    const options = { severity: { warningPerHour: settings.severity.warning_per_hour, criticalPerHour: settings.severity.critical_per_hour }, channels: settings.channels };
    const alerts: AlertEvent[] = [];
    for (const change of changes) {
      const alert = change.state === 'firing' ? incidentAlert(change.incident, options, end) : incidentResolution(change.incident, options, end);
      alerts.push(alert);
      if (change.state === 'firing') severities[alert.alert_id] = alert.severity;
      else {
        closed[alert.alert_id] = end;
        delete severities[alert.alert_id];
      }
    }
    // An incident that grew (more at stake, a runaway joining a cost anomaly) fires again under its id at the higher severity: the pager hears of it.
    const changed = new Set(changes.map((change) => change.incident.alertId));
    for (const incident of book.open) {
      if (changed.has(incident.alertId)) continue;
      const alert = incidentAlert(incident, options, end);
      const before = severities[incident.alertId];
      if (before === undefined || SEVERITIES.indexOf(alert.severity) <= SEVERITIES.indexOf(before)) continue;
      alerts.push(alert);
      severities[incident.alertId] = alert.severity;
    }
    if (alerts.length > 0) {
      try {
        await this.#options.publish(alerts);
      } catch (err) {
        this.#unsent = fresh.slice(-MAX_UNSENT);
        throw err;
      }
    }
    this.#unsent = [];
    this.#book = book;
    this.#closed = closed;
    this.#severities = severities;
    if (alerts.length === 0) return [];
    for (const alert of alerts) this.#options.metrics?.detectorAlerts.inc({ kind: alert.kind, state: alert.state });
    this.#log.info({ alerts: alerts.map((alert) => `${alert.alert_id}:${alert.state}:${alert.severity}`) }, 'published detector alerts');
    return alerts;
  }

  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const { states, settings } = this.#options;
      const stored = await states.load('');
      const series = new Map<string, SeriesDetectorState>();
      for (const [key, state] of stored) if (key !== INCIDENTS_KEY) series.set(key, unpackSeriesState(state as PackedSeriesState));
      this.#watches = { minute: new SeriesWatch('minute', settings, series), hour: new SeriesWatch('hour', settings, series) };
      const incidents = (stored.get(INCIDENTS_KEY) as IncidentsState | undefined) ?? { open: [], closed: {} };
      this.#book = new IncidentBook(settings.group_window_minutes * MINUTE, incidents.open);
      this.#closed = { ...incidents.closed };
      this.#severities = { ...incidents.severities };
      this.#log.info({ series: series.size, openIncidents: incidents.open.length }, 'detector state loaded');
    })().catch((err: unknown) => {
      this.#loaded = null;
      throw err;
    });
    return this.#loaded;
  }

  async #save(resolutions: readonly Resolution[]): Promise<void> {
    const entries = new Map<string, { state: unknown; last: number | null }>();
    for (const resolution of resolutions) for (const [key, state] of this.#watches[resolution].states()) entries.set(key, { state: packSeriesState(state), last: state.last });
    entries.set(INCIDENTS_KEY, { state: { open: this.#book.open, closed: this.#closed, severities: this.#severities } satisfies IncidentsState, last: null });
    await this.#options.states.save(entries);
  }

  #saveIncidents(): Promise<void> {
    return this.#options.states.save(new Map([[INCIDENTS_KEY, { state: { open: this.#book.open, closed: this.#closed, severities: this.#severities } satisfies IncidentsState, last: null }]]));
  }
}
