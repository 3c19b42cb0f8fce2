import type { AlertContributor } from '../../alerts/alert-event.ts';
import { decimalUnits, formatDecimal } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { decimalText, figureText, usdEstimateText, usdText } from './figure-text.ts';
import type { DetectionWindow, FeatureRunBaseline, RunActivity } from './inputs.ts';
import { usdOf } from './per-hour.ts';

/**
 * Runaway loops: an agent run (or session) calling the models, or spending,
 * far faster per minute than its feature's runs do — the kill-switch case,
 * where one stuck loop burns money until someone stops it. Judged on the
 * window's last closed minute, [end − 1 min, end).
 *
 * A minute is runaway when it reaches the largest of: an absolute floor (a few
 * calls a minute is never a runaway); `featureFactor` × the feature's p99 per
 * run-minute, once the baseline has enough run-minutes for a p99 to mean
 * something; and `ownFactor` × the median of the run's own earlier minutes
 * below those two bounds, once it has a few (a run that is usually busy is
 * judged against itself too). The own median leaves out minutes above the
 * first two bounds: a loop spinning for ten minutes, or pausing a minute on a
 * slow tool and resuming, would otherwise become its own baseline, and the
 * alert would resolve while the money still burns.
 *
 * Calls are judged first; a run under the calls threshold can still be a
 * runaway by cost (a loop re-sending a huge context). One finding per run.
 */
export interface RunawayOptions {
  /** Calls in one minute below which a run is never runaway, calls/min. */
  readonly minCalls: number;
  /** Spend in one minute below which a run is never runaway, USD decimal text ("0.5" a minute is $30 an hour). */
  readonly minCostPerMinute: string;
  /** Multiple of the run's own median minute (of its earlier minutes below the floor and feature bounds) a runaway minute reaches. */
  readonly ownFactor: number;
  /** Own minutes needed for the own median to count (fewer is not a usual level). */
  readonly ownMinMinutes: number;
  /** Multiple of the feature's p99 per run-minute a runaway minute reaches. */
  readonly featureFactor: number;
  /** Baseline run-minutes needed for the feature's p99 to count (below 100 the "p99" is just the maximum). */
  readonly featureMinRunMinutes: number;
}

export const RUNAWAY_DEFAULTS: RunawayOptions = {
  minCalls: 30,
  minCostPerMinute: '0.5',
  ownFactor: 5,
  ownMinMinutes: 3,
  featureFactor: 3,
  featureMinRunMinutes: 100,
};

const MINUTE_MS = 60_000;

type Minute = RunActivity['minutes'][number];

/** How one measure of a minute compares with its bounds. */
interface Measure {
  readonly metric: 'calls_per_minute' | 'cost_per_minute';
  readonly unit: string;
  readonly of: (minute: Minute) => number;
  readonly floor: number;
  /** The feature's p99 when trusted. */
  readonly featureP99: number | null;
  readonly text: (value: number) => string;
}

interface Verdict {
  readonly threshold: number;
  readonly ownMedian: number | null;
  readonly since: number;
}

/** Runs whose last closed minute is runaway by calls or by cost. Scores are strengths in [0, 1): 1 − threshold / observed. */
export function detectRunaways(
  runs: readonly RunActivity[],
  baselines: ReadonlyMap<string, FeatureRunBaseline>,
  window: DetectionWindow,
  options: RunawayOptions = RUNAWAY_DEFAULTS,
): Finding[] {
  const last = window.end - MINUTE_MS;
  const findings: Finding[] = [];
  for (const run of runs) {
    const minutes = run.minutes.filter((minute) => minute.at >= window.start && minute.at < window.end).sort((a, b) => a.at - b.at);
    const lastMinute = minutes.at(-1);
    if (lastMinute === undefined || lastMinute.at !== last) continue;
    const baseline = baselines.get(run.feature);
    const trusted = baseline !== undefined && baseline.runMinutes >= options.featureMinRunMinutes ? baseline : null;
    const measures: Measure[] = [
      { metric: 'calls_per_minute', unit: 'calls/min', of: (minute) => minute.calls, floor: options.minCalls, featureP99: trusted?.callsPerMinuteP99 ?? null, text: (value) => `${figureText(value)} calls/min` },
      {
        metric: 'cost_per_minute',
        unit: 'USD/min',
        of: (minute) => usdOf(minute.costUnits),
        floor: usdOf(decimalUnits(options.minCostPerMinute)),
        featureP99: trusted === null ? null : usdOf(trusted.costPerMinuteP99Units),
        text: (value) => `${usdEstimateText(value)}/min`,
      },
    ];
    for (const measure of measures) {
      const verdict = judge(minutes, measure, options);
      if (verdict === null) continue;
      findings.push(finding(run, minutes, lastMinute, measure, verdict, window));
      break;
    }
  }
  return findings;
}

function judge(minutes: readonly Minute[], measure: Measure, options: RunawayOptions): Verdict | null {
  const bound = Math.max(measure.floor, measure.featureP99 === null ? 0 : options.featureFactor * measure.featureP99);
  if (measure.of(minutes.at(-1)!) < bound) return null;
  const before = minutes.slice(0, -1).map(measure.of).filter((value) => value < bound);
  const ownMedian = before.length >= options.ownMinMinutes ? median(before) : null;
  const threshold = Math.max(bound, ownMedian === null ? 0 : options.ownFactor * ownMedian);
  const since = streakStart(minutes, measure.of, threshold);
  return since === minutes.length ? null : { threshold, ownMedian, since: minutes[since]!.at };
}

/** Index of the first minute of the unbroken streak of consecutive minutes at or above `bound` that ends with the last one; the length when the last is below. */
function streakStart(minutes: readonly Minute[], of: (minute: Minute) => number, bound: number): number {
  let start = minutes.length;
  while (start > 0 && of(minutes[start - 1]!) >= bound && (start === minutes.length || minutes[start]!.at - minutes[start - 1]!.at === MINUTE_MS)) start -= 1;
  return start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function finding(run: RunActivity, minutes: readonly Minute[], lastMinute: Minute, measure: Measure, verdict: Verdict, window: DetectionWindow): Finding {
  const observed = measure.of(lastMinute);
  const expected = Math.max(verdict.ownMedian ?? 0, measure.featureP99 ?? 0);
  const observedText = measure.metric === 'calls_per_minute' ? String(lastMinute.calls) : formatDecimal(lastMinute.costUnits);
  const expectedText = decimalText(expected, measure.metric === 'calls_per_minute' ? 2 : 6);
  const contributors: AlertContributor[] = [
    { dimension: 'feature', value: run.feature, observed: observedText, expected: expectedText },
    { dimension: 'team', value: run.team, observed: observedText, expected: expectedText },
    { dimension: 'user_id', value: run.user, observed: observedText, expected: expectedText },
  ];
  const spent = minutes.reduce((sum, minute) => sum + minute.costUnits, 0n);
  return {
    kind: 'runaway',
    metric: measure.metric,
    scope: { [run.dimension]: run.run },
    windowStart: window.start,
    windowEnd: window.end,
    since: verdict.since,
    unit: measure.unit,
    observed,
    expected,
    low: 0,
    high: verdict.threshold,
    score: observed > 0 ? Math.max(0, 1 - verdict.threshold / observed) : 0,
    // The whole run is at stake: at this minute's pace for an hour, until someone stops it.
    atStakePerHour: formatDecimal(lastMinute.costUnits * 60n),
    spent: formatDecimal(spent),
    contributors,
    headline: headline(run, lastMinute, measure, verdict, observed),
  };
}

function headline(run: RunActivity, lastMinute: Minute, measure: Measure, verdict: Verdict, observed: number): string {
  const subject = `${run.dimension === 'agent_run_id' ? 'agent run' : 'session'} ${run.run}`;
  const did = measure.metric === 'calls_per_minute' ? `made ${measure.text(observed)}` : `spent ${usdText(lastMinute.costUnits)} in a minute`;
  const against =
    measure.featureP99 !== null && measure.featureP99 > 0
      ? `${times(observed / measure.featureP99)} its feature's busiest runs (p99 ${measure.text(measure.featureP99)})`
      : verdict.ownMedian !== null && verdict.ownMedian > 0
        ? `${times(observed / verdict.ownMedian)} its own usual minute (median ${measure.text(verdict.ownMedian)})`
        : `over the floor of ${measure.text(measure.floor)} with no baseline to compare`;
  const minutes = Math.round((lastMinute.at - verdict.since) / MINUTE_MS) + 1;
  return `${subject} ${did}, ${against}${minutes > 1 ? `, for ${minutes} min` : ''}`;
}

function times(ratio: number): string {
  return `${figureText(ratio, ratio < 10 ? 1 : 0)}×`;
}
