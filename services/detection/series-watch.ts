import { formatDecimal } from '../money/decimal.ts';
import type { DetectionSettings, SeriesDimension, SeriesMetric } from './detection-config.ts';
import { moneyEstimate, type Finding } from './finding.ts';
import { HOURLY_SERIES, MINUTE_SERIES, SeriesDetector, type SeriesDetectorState, type SeriesObservation } from './series-detector.ts';

/**
 * Every watched series of one resolution (minute or hour): the bucket
 * aggregates of each busy scope value go in, in time order, and each metric's
 * detector judges them; what is part of an incident, above the volume and
 * money guards, comes out as findings. Pure: the detection service feeds it
 * from ClickHouse, the incident benchmark from synthetic traffic.
 */

export type Resolution = 'minute' | 'hour';
/** Errors a bucket needs before its error rate may open an incident. */
const MIN_ERRORS = 5;
export const BUCKET_MS: Readonly<Record<Resolution, number>> = { minute: 60_000, hour: 3_600_000 };

/** One bucket of one scope value. Money exact (units of 10⁻¹² USD). */
export interface SeriesBucket {
  readonly dimension: SeriesDimension;
  readonly value: string;
  readonly at: number;
  readonly requests: number;
  readonly errors: number;
  readonly costUnits: bigint;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly latencyP95: number | null;
}

const UNITS: Readonly<Record<SeriesMetric, (resolution: Resolution) => string>> = {
  cost: (r) => `USD/${r === 'minute' ? 'min' : 'h'}`,
  requests: (r) => `requests/${r === 'minute' ? 'min' : 'h'}`,
  error_rate: () => 'share of requests',
  input_tokens_per_request: () => 'tokens/request',
  output_tokens_per_request: () => 'tokens/request',
  latency_p95_ms: () => 'ms',
};

/** A metric's value in a bucket, or null when the bucket has too few requests to judge it. */
export function measure(metric: SeriesMetric, bucket: SeriesBucket, minRequests: number): number | null {
  switch (metric) {
    case 'cost':
      return Number(bucket.costUnits) / 1e12;
    case 'requests':
      return bucket.requests;
    case 'error_rate':
      return bucket.requests >= minRequests ? bucket.errors / bucket.requests : null;
    case 'input_tokens_per_request':
      return bucket.requests >= minRequests ? bucket.inputTokens / bucket.requests : null;
    case 'output_tokens_per_request':
      return bucket.requests >= minRequests ? bucket.outputTokens / bucket.requests : null;
    case 'latency_p95_ms':
      return bucket.requests >= minRequests && bucket.latencyP95 !== null ? bucket.latencyP95 : null;
  }
}

/** USD per hour the anomaly puts at stake: spend above the expected level, or the spend riding on the excess. */
function atStakePerHour(metric: SeriesMetric, observation: SeriesObservation, bucket: SeriesBucket, bucketsPerHour: number): number {
  const cost = Number(bucket.costUnits) / 1e12;
  const { value, expected } = observation;
  switch (metric) {
    case 'cost':
      return Math.max(0, value - expected) * bucketsPerHour;
    case 'requests':
    case 'input_tokens_per_request':
    case 'output_tokens_per_request':
      return value > 0 ? cost * Math.max(0, 1 - expected / value) * bucketsPerHour : 0;
    case 'error_rate':
      return cost * Math.max(0, value - expected) * bucketsPerHour;
    case 'latency_p95_ms':
      return 0;
  }
}

const EMPTY = (dimension: SeriesDimension, value: string, at: number): SeriesBucket => ({ dimension, value, at, requests: 0, errors: 0, costUnits: 0n, inputTokens: 0, outputTokens: 0, latencyP95: null });

export function seriesKey(resolution: Resolution, dimension: string, value: string, metric: string): string {
  return `${resolution}/anomaly/${dimension}=${value}/${metric}`;
}

export class SeriesWatch {
  readonly #resolution: Resolution;
  readonly #settings: DetectionSettings;
  readonly #detectors = new Map<string, SeriesDetector>();
  /** Last bucket fed per series (dimension=value), whatever its metrics made of it. */
  readonly #last = new Map<string, number>();

  constructor(resolution: Resolution, settings: DetectionSettings, states: ReadonlyMap<string, SeriesDetectorState> = new Map()) {
    this.#resolution = resolution;
    this.#settings = settings;
    const options = resolution === 'minute' ? MINUTE_SERIES : HOURLY_SERIES;
    for (const [key, state] of states) {
      if (!key.startsWith(`${resolution}/anomaly/`)) continue;
      const detector = new SeriesDetector(options, state);
      this.#detectors.set(key, detector);
      const series = key.slice(0, key.lastIndexOf('/')).slice(`${resolution}/anomaly/`.length);
      if (detector.last !== null) this.#last.set(series, Math.max(this.#last.get(series) ?? 0, detector.last));
    }
  }

  /** The first bucket not yet fed of a series, or null if it was never fed. */
  resumeFrom(dimension: SeriesDimension, value: string): number | null {
    const last = this.#last.get(`${dimension}=${value}`);
    return last === undefined ? null : last + BUCKET_MS[this.#resolution];
  }

  /**
   * Feeds the buckets of the given scope values up to `until` (exclusive; empty
   * buckets count as zero), each series from where it stopped (or its first
   * bucket here) but not before `from` (a long stop is not zero-filled), and
   * returns the findings of its incidents. Buckets that end before `alertFrom`
   * (a catch-up) and buckets under the volume or money guards give findings
   * that keep an open incident going but open none.
   */
  advance(dimension: SeriesDimension, values: readonly string[], buckets: readonly SeriesBucket[], until: number, alertFrom: number, from = -Infinity): Finding[] {
    const step = BUCKET_MS[this.#resolution];
    const byValue = new Map<string, Map<number, SeriesBucket>>();
    for (const bucket of buckets) {
      if (bucket.dimension !== dimension) continue;
      let series = byValue.get(bucket.value);
      if (!series) byValue.set(bucket.value, (series = new Map()));
      series.set(bucket.at, bucket);
    }
    const findings: Finding[] = [];
    for (const value of values) {
      const series = `${dimension}=${value}`;
      const seen = byValue.get(value);
      const last = this.#last.get(series);
      const resume = last !== undefined ? last + step : seen && seen.size > 0 ? Math.min(...seen.keys()) : null;
      if (resume === null) continue;
      const first = Math.max(resume, Math.ceil(from / step) * step);
      for (let at = first; at + step <= until; at += step) {
        const bucket = seen?.get(at) ?? EMPTY(dimension, value, at);
        for (const metric of (this.#resolution === 'minute' ? this.#settings.minute : this.#settings.hourly).metrics) {
          const finding = this.#observe(metric, bucket, at + step >= alertFrom);
          if (finding) findings.push(finding);
        }
        this.#last.set(series, at);
      }
    }
    return findings;
  }

  /** Learnt state of every series, by detector key. */
  states(): Map<string, SeriesDetectorState> {
    return new Map([...this.#detectors].map(([key, detector]) => [key, detector.state()]));
  }

  #observe(metric: SeriesMetric, bucket: SeriesBucket, report: boolean): Finding | null {
    const { min_requests: minRequests } = this.#settings;
    const measured = measure(metric, bucket, minRequests);
    if (measured === null) return null;
    const key = seriesKey(this.#resolution, bucket.dimension, bucket.value, metric);
    let detector = this.#detectors.get(key);
    if (!detector) this.#detectors.set(key, (detector = new SeriesDetector(this.#resolution === 'minute' ? MINUTE_SERIES : HOURLY_SERIES)));
    const observation = detector.observe(bucket.at, measured);
    // The calm buckets that end an incident report nothing: its members go stale and it resolves.
    if (!observation.elevated || observation.since === null) return null;
    const bucketsPerHour = 3_600_000 / BUCKET_MS[this.#resolution];
    const atStake = atStakePerHour(metric, observation, bucket, bucketsPerHour);
    // Reliability metrics page on volume alone; the others also need money at stake.
    const reliability = metric === 'error_rate' || metric === 'latency_p95_ms';
    // An error rate needs errors to speak of: a few failures in a quiet bucket are not an incident.
    const guarded = (bucket.requests < minRequests && !reliability) || (!reliability && atStake < Number(this.#settings.min_at_stake_per_hour)) || (metric === 'error_rate' && bucket.errors < MIN_ERRORS);
    const unit = UNITS[metric](this.#resolution);
    const show = (x: number) => formatFigure(metric, x);
    return {
      kind: 'anomaly',
      metric,
      scope: { [bucket.dimension]: bucket.value },
      windowStart: bucket.at,
      windowEnd: bucket.at + BUCKET_MS[this.#resolution],
      since: observation.since,
      unit,
      observed: observation.value,
      expected: observation.expected,
      low: observation.low,
      high: observation.high,
      score: observation.score,
      atStakePerHour: moneyEstimate(atStake),
      spent: formatDecimal(bucket.costUnits),
      contributors: [],
      headline: `${metric.replaceAll('_', ' ')} of ${bucket.dimension}=${bucket.value} is ${show(observation.value)} ${unit}, expected ${show(observation.expected)} (${show(observation.low)}–${show(observation.high)})`,
      opens: report && !guarded,
    };
  }
}

function formatFigure(metric: SeriesMetric, value: number): string {
  if (metric === 'error_rate') return `${(value * 100).toFixed(1)}%`;
  if (metric === 'cost') return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(2);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}
