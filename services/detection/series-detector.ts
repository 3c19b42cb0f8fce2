import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DEFAULT_DETECTOR, StreamingDetector, type DetectorOptions, type StreamingDetectorState } from './streaming-detector.ts';

/**
 * The live detector of one metric of one scope (cost per minute of team
 * search, say): a seasonal baseline says what the bucket should hold, and the
 * streaming detector `spendline detect` runs scores how unusual the distance
 * from it is.
 *
 * Baseline: exponentially weighted mean and mean absolute deviation per hour of
 * the week, per hour of the day and overall. The most specific of them that has
 * seen enough buckets is used, so a new series starts on its overall level and
 * becomes seasonal as the days and weeks come (warm-up). Each bucket is scored
 * against the baseline before it is learnt (no look-ahead), and learnt clipped
 * to a few spreads (one outlier does not move it); while an incident lasts it
 * is learnt ten times slower, so an incident does not become the new normal
 * within the hour, but a lasting change does in a few days.
 *
 * An incident starts when a bucket lies above the expected range (or below,
 * for metrics watched both ways) and the streaming score is high; it lasts
 * while buckets stay above half the range, and ends after `resolveAfter`
 * buckets back in range.
 */
export interface SeriesDetectorOptions {
  /** Streaming core over the residuals. */
  readonly core: DetectorOptions;
  /** Buckets per hour: 60 for minute series, 1 for hourly ones. */
  readonly bucketsPerHour: number;
  /** Weight of a new bucket in its baselines. */
  readonly alpha: number;
  /** Half-width of the expected range, in spreads. */
  readonly band: number;
  /** Buckets back in range that end an incident. */
  readonly resolveAfter: number;
  /** Whether a drop is an anomaly too (a rise always is). */
  readonly both: boolean;
}

/** Core options for live series: shorter memory than the NAB configuration, so state stays small. */
const LIVE_CORE: DetectorOptions = { window: 120, warmUp: 30, recent: 2, likelihoodWindow: 720, quietAfter: 30, alertAt: 0.7 };

export const MINUTE_SERIES: SeriesDetectorOptions = { core: LIVE_CORE, bucketsPerHour: 60, alpha: 0.05, band: 4, resolveAfter: 5, both: false };
export const HOURLY_SERIES: SeriesDetectorOptions = { core: { ...LIVE_CORE, warmUp: 24, quietAfter: 6 }, bucketsPerHour: 1, alpha: 0.2, band: 4, resolveAfter: 2, both: false };

/**
 * `spendline detect`: one series of any cadence, read once, rises and drops
 * alike, with the NAB configuration of the streaming core. Chosen on the NAB
 * corpus as a whole (never per file); `bucketsPerHour` comes from the data.
 */
export function offlineSeries(bucketsPerHour: number): SeriesDetectorOptions {
  return { core: DEFAULT_DETECTOR, bucketsPerHour, alpha: 0.1, band: 4, resolveAfter: 5, both: true };
}

/** What one bucket looked like against its baseline. */
export interface SeriesObservation {
  readonly at: number;
  readonly value: number;
  readonly expected: number;
  readonly low: number;
  readonly high: number;
  /** Distance from the expected value in spreads, signed. */
  readonly residual: number;
  readonly score: number;
  /** The bucket is part of an incident (it started with this bucket or earlier). */
  readonly firing: boolean;
  /** When the incident started, if one is going on. */
  readonly since: number | null;
  /** Part of an incident and still off its range (not one of the calm buckets that end it). */
  readonly elevated: boolean;
}

export interface SeriesDetectorState {
  readonly core: StreamingDetectorState;
  /** [n, mean, deviation] per baseline: 168 hours of the week, 24 hours of the day, overall. */
  readonly baselines: number[];
  readonly since: number | null;
  readonly calm: number;
  /** Start of the last bucket learnt. */
  readonly last: number | null;
}

const WEEK_SLOTS = 168;
const DAY_SLOTS = 24;
const OVERALL = WEEK_SLOTS + DAY_SLOTS;
const SLOTS = OVERALL + 1;

export class SeriesDetector {
  readonly #options: SeriesDetectorOptions;
  readonly #core: StreamingDetector;
  readonly #baselines: Float64Array;
  #since: number | null;
  #calm: number;
  #last: number | null;

  constructor(options: SeriesDetectorOptions, state?: SeriesDetectorState) {
    this.#options = options;
    this.#core = new StreamingDetector(options.core, state?.core);
    this.#baselines = state && state.baselines.length === SLOTS * 3 ? Float64Array.from(state.baselines) : new Float64Array(SLOTS * 3);
    this.#since = state?.since ?? null;
    this.#calm = state?.calm ?? 0;
    this.#last = state?.last ?? null;
  }

  /** Start of the last bucket learnt, or null before the first. */
  get last(): number | null {
    return this.#last;
  }

  get firingSince(): number | null {
    return this.#since;
  }

  /** Scores a bucket against what came before, then learns it. Buckets must come in time order. */
  observe(at: number, value: number): SeriesObservation {
    const { band, alpha, resolveAfter, both } = this.#options;
    const slots = slotsOf(at);
    const chosen = this.#chosen(slots);
    const mean = this.#baselines[chosen * 3 + 1]!;
    const spread = this.#spread(chosen);
    const residual = (value - mean) / spread;
    const score = this.#core.score(residual);
    const warm = this.#core.seen > this.#options.core.warmUp;
    const outside = residual >= band || (both && residual <= -band);
    const stillOff = residual >= band / 2 || (both && residual <= -band / 2);

    if (this.#since === null) {
      // Unusual for this series (the streaming score), or so far out that one bucket is enough (an hourly series cannot wait for a second).
      const extreme = residual >= 2 * band || (both && residual <= -2 * band);
      if (warm && outside && (score >= this.#options.core.alertAt || extreme)) {
        this.#since = at;
        this.#calm = 0;
      }
    } else if (stillOff) this.#calm = 0;
    else if (++this.#calm >= resolveAfter) this.#since = null;

    const observation: SeriesObservation = {
      at,
      value,
      expected: mean,
      low: Math.max(0, mean - band * spread),
      high: mean + band * spread,
      residual,
      score,
      firing: this.#since !== null,
      since: this.#since,
      elevated: this.#since !== null && this.#calm === 0,
    };
    // The hour of the week adapts at `alpha`; the hour of the day and the overall level average over about a week.
    const slow = this.#since === null ? 1 : 0.1;
    const [week, day, overall] = slots;
    this.#learn(week, value, alpha * slow);
    // Capped at 1: a series slower than a bucket every seven hours (daily rows) takes each bucket whole.
    this.#learn(day, value, slow * Math.min(1, 1 / (7 * this.#options.bucketsPerHour)));
    this.#learn(overall, value, slow * Math.min(1, 1 / (7 * 24 * this.#options.bucketsPerHour)));
    this.#last = at;
    return observation;
  }

  state(): SeriesDetectorState {
    return { core: this.#core.state(), baselines: [...this.#baselines], since: this.#since, calm: this.#calm, last: this.#last };
  }

  /** The hour-of-week baseline once that hour was seen in two weeks, else the hour-of-day one after two days, else the overall one. */
  #chosen([week, day, overall]: readonly [number, number, number]): number {
    const hour = this.#options.bucketsPerHour;
    if (this.#baselines[week * 3]! >= 2 * hour) return week;
    if (this.#baselines[day * 3]! >= 2 * hour) return day;
    return overall;
  }

  #spread(slot: number): number {
    const mean = this.#baselines[slot * 3 + 1]!;
    const overall = this.#baselines[OVERALL * 3 + 1]!;
    // Mean absolute deviation × 1.25 estimates a standard deviation; floors keep a flat (or mostly empty) hour from paging on a wobble.
    return Math.max(1.25 * this.#baselines[slot * 3 + 2]!, 0.1 * Math.abs(mean), 0.05 * Math.abs(overall), 1e-9);
  }

  #learn(slot: number, value: number, rate: number): void {
    const at = slot * 3;
    const n = this.#baselines[at]!;
    if (n === 0) {
      this.#baselines[at] = 1;
      this.#baselines[at + 1] = value;
      return;
    }
    const mean = this.#baselines[at + 1]!;
    const spread = this.#spread(slot);
    // A young baseline takes values as they come; a settled one clips outliers to a few spreads.
    const clipped = n < 10 ? value : Math.min(mean + 3 * spread, Math.max(mean - 3 * spread, value));
    // A young baseline learns fast (a plain average), then settles at the configured rate.
    const weight = Math.max(rate, 1 / (n + 1));
    this.#baselines[at] = n + 1;
    this.#baselines[at + 1] = mean + weight * (clipped - mean);
    this.#baselines[at + 2] = this.#baselines[at + 2]! + weight * (Math.abs(clipped - mean) - this.#baselines[at + 2]!);
  }
}

function slotsOf(at: number): [number, number, number] {
  const date = new Date(at);
  const hour = date.getUTCHours();
  return [date.getUTCDay() * 24 + hour, WEEK_SLOTS + hour, WEEK_SLOTS + DAY_SLOTS];
}

/** A state as stored: its JSON deflated and in base64 (exact; mostly-empty baselines and long histories shrink several-fold). */
export interface PackedSeriesState {
  readonly deflated: string;
}

export function packSeriesState(state: SeriesDetectorState): PackedSeriesState {
  return { deflated: deflateRawSync(JSON.stringify(state)).toString('base64') };
}

export function unpackSeriesState(stored: PackedSeriesState | SeriesDetectorState): SeriesDetectorState {
  return 'deflated' in stored ? (JSON.parse(inflateRawSync(Buffer.from(stored.deflated, 'base64')).toString()) as SeriesDetectorState) : stored;
}
