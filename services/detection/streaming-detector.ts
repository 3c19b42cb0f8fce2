/**
 * A streaming anomaly score for one series, one point at a time, with no
 * look-ahead: the score of a point depends only on it and the points before.
 * It is the core the live detectors and `spendline detect` share.
 *
 * Two stages:
 *  1. Surprise: how far the point lies from its recent past, robustly — the
 *     distance to the median of the last `window` points in units of their
 *     median absolute deviation (earlier outliers do not widen the normal
 *     range), or how far past the highest or lowest value seen so far.
 *  2. Likelihood: whether the last few surprises are unusual for this series
 *     (a noisy series is always a little surprising): the mean of the last
 *     `recent` surprises against the mean and spread of the last
 *     `likelihoodWindow` ones, as a Gaussian tail probability, on a log scale
 *     so that 0.5 means "one in a hundred thousand".
 * A series needs `warmUp` points before it scores anything, and after an
 * alert the detector stays quiet for `quietAfter` points: one incident, one alert.
 */

export interface DetectorOptions {
  readonly window: number;
  readonly warmUp: number;
  readonly recent: number;
  readonly likelihoodWindow: number;
  readonly quietAfter: number;
  /** Score at and above which an alert is raised (and the quiet period starts). */
  readonly alertAt: number;
}

/** One configuration for every series (chosen on the NAB corpus as a whole, never per file). */
export const DEFAULT_DETECTOR: DetectorOptions = { window: 1000, warmUp: 50, recent: 2, likelihoodWindow: 2000, quietAfter: 120, alertAt: 0.7 };

/** Everything a detector has learnt, as plain data: what a restart restores. */
export interface StreamingDetectorState {
  readonly history: number[];
  readonly surprises: number[];
  readonly sum: number;
  readonly squares: number;
  readonly seen: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly quietUntil: number;
}

export class StreamingDetector {
  readonly #options: DetectorOptions;
  readonly #history: number[] = [];
  readonly #surprises: number[] = [];
  /** Running sum and sum of squares of #surprises, so the likelihood costs O(1) a point. */
  #sum = 0;
  #squares = 0;
  #seen = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;
  #quietUntil = -1;

  constructor(options: DetectorOptions = DEFAULT_DETECTOR, state?: StreamingDetectorState) {
    this.#options = options;
    if (state) {
      this.#history.push(...state.history);
      this.#surprises.push(...state.surprises);
      this.#sum = state.sum;
      this.#squares = state.squares;
      this.#seen = state.seen;
      this.#min = state.min ?? Number.POSITIVE_INFINITY;
      this.#max = state.max ?? Number.NEGATIVE_INFINITY;
      this.#quietUntil = state.quietUntil;
    }
  }

  /** Points scored so far. */
  get seen(): number {
    return this.#seen;
  }

  /** The learnt state; `new StreamingDetector(options, state)` continues exactly where this one is. */
  state(): StreamingDetectorState {
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    return { history: [...this.#history], surprises: [...this.#surprises], sum: this.#sum, squares: this.#squares, seen: this.#seen, min: finite(this.#min), max: finite(this.#max), quietUntil: this.#quietUntil };
  }

  /** Scores the next point, then learns it. */
  score(value: number): number {
    const { window, warmUp, recent, likelihoodWindow, quietAfter, alertAt } = this.#options;
    const index = this.#seen;
    let score = 0;
    if (this.#history.length > 0) {
      const surprise = this.#surprise(value);
      this.#surprises.push(surprise);
      this.#sum += surprise;
      this.#squares += surprise * surprise;
      if (this.#surprises.length > likelihoodWindow) {
        const gone = this.#surprises.shift()!;
        this.#sum -= gone;
        this.#squares -= gone * gone;
      }
      if (index >= warmUp) {
        score = this.#likelihood(recent);
        if (index <= this.#quietUntil) score = Math.min(score, alertAt * 0.5);
        else if (score >= alertAt) this.#quietUntil = index + quietAfter;
      }
    }
    this.#history.push(value);
    if (this.#history.length > window) this.#history.shift();
    this.#min = Math.min(this.#min, value);
    this.#max = Math.max(this.#max, value);
    this.#seen += 1;
    return score;
  }

  /** log-scaled tail probability that the mean of the last `recent` surprises is this high. */
  #likelihood(recent: number): number {
    const surprises = this.#surprises;
    if (surprises.length < recent * 4) return 0;
    const mean = this.#sum / surprises.length;
    const std = Math.max(Math.sqrt(Math.max(0, this.#squares / surprises.length - mean * mean)), 0.05);
    let shortSum = 0;
    for (let at = surprises.length - recent; at < surprises.length; at += 1) shortSum += surprises[at]!;
    const likelihood = 1 - 0.5 * erfc((shortSum / recent - mean) / std / Math.SQRT2);
    // Numenta's log transform: 0.99999 → 1.
    return Math.min(1, Math.max(0, Math.log(1.0000000001 - likelihood) / Math.log(1 - 0.99999)));
  }

  #surprise(value: number): number {
    const sorted = [...this.#history].sort((a, b) => a - b);
    const median = quantile(sorted, 0.5);
    const deviations = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
    // A floor on the spread: a flat series must not make every wobble infinitely surprising.
    const spread = Math.max(1.4826 * quantile(deviations, 0.5), 1e-9 + 0.001 * Math.abs(median), (quantile(sorted, 0.95) - quantile(sorted, 0.05)) / 20);
    const z = Math.abs(value - median) / spread;
    const range = this.#max - this.#min;
    const beyond = value > this.#max ? value - this.#max : value < this.#min ? this.#min - value : 0;
    const novelty = range > 0 ? (beyond / range) * 10 : 0;
    return Math.min(20, Math.max(z, novelty));
  }
}


function erfc(x: number): number {
  // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7: plenty for a probability on a log scale.
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return x >= 0 ? y : 2 - y;
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}
