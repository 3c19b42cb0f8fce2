import type { AlertContributor } from '../../alerts/alert-event.ts';
import { formatDecimal, shareOf } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { decimalText, figureText, percentText } from './figure-text.ts';
import { SIGNIFICANCE_Z, significantChange } from './homogeneity.ts';
import type { DetectionWindow, TokenDistribution } from './inputs.ts';
import { perHourEstimate, usdOf } from './per-hour.ts';
import { PSI_EPSILON, PSI_SIGNIFICANT, populationStabilityIndex } from './psi.ts';

/**
 * Token drift: the tokens per request of a scope value changed shape — a
 * prompt template that started pasting whole documents, retrieval returning
 * ten times the chunks, outputs no longer capped. Measured on the log₂ bins of
 * tokens per request as the PSI (the firing statistic) and the
 * Kolmogorov–Smirnov D (the largest gap between the two cumulative shares,
 * reported to say how much of the traffic moved). The bin counts must also
 * differ beyond chance (homogeneity.ts): with ten bins and 100 requests,
 * sampling noise alone puts the PSI past 0.2 about one hour in twenty. Fires
 * both ways; only a rise puts money at stake: the window's cost × the part of
 * its mean tokens above the baseline mean.
 */
export interface TokenDriftOptions {
  /** PSI above which the distribution has shifted; 0.2 is the usual "significant" line. */
  readonly threshold: number;
  /** Requests in the window needed to judge (with fewer, sampling noise alone moves the bins). */
  readonly minRequests: number;
  /** Requests in the baseline needed for its bins to be the usual shape. */
  readonly minBaselineRequests: number;
  /** Normal quantile the change of bin counts must be beyond (homogeneity.ts); −Infinity judges on the PSI alone. */
  readonly significanceZ: number;
  /** Share standing in for a bin empty on one side (see psi.ts). */
  readonly epsilon: number;
  /** Share of baseline requests left out at each end of the expected range (0.01: the 1st to 99th percentile). */
  readonly tail: number;
  /** Bins listed as contributors, the largest share changes first. */
  readonly maxContributors: number;
}

export const TOKEN_DRIFT_DEFAULTS: TokenDriftOptions = {
  threshold: PSI_SIGNIFICANT,
  minRequests: 100,
  minBaselineRequests: 500,
  significanceZ: SIGNIFICANCE_Z,
  epsilon: PSI_EPSILON,
  tail: 0.01,
  maxContributors: 3,
};

/**
 * Distributions that drifted. Scores are the PSI.
 *
 * `since` is the window's start, never later: one PSI over the window cannot
 * date the shift within it. An ongoing drift so reports a later `since` each
 * run; the incident book keeps the earliest one (incidents.ts).
 */
export function detectTokenDrift(distributions: readonly TokenDistribution[], window: DetectionWindow, options: TokenDriftOptions = TOKEN_DRIFT_DEFAULTS): Finding[] {
  const findings: Finding[] = [];
  for (const distribution of distributions) {
    const found = judge(distribution, window, options);
    if (found) findings.push(found);
  }
  return findings;
}

/** Largest gap between the cumulative shares of two distributions over the same ordered bins. */
export function kolmogorovSmirnov(baseline: readonly number[], current: readonly number[]): number {
  const baseTotal = baseline.reduce((sum, count) => sum + count, 0);
  const curTotal = current.reduce((sum, count) => sum + count, 0);
  if (baseTotal <= 0 || curTotal <= 0) return 0;
  let base = 0;
  let cur = 0;
  let gap = 0;
  for (let i = 0; i < baseline.length; i += 1) {
    base += baseline[i]! / baseTotal;
    cur += current[i]! / curTotal;
    gap = Math.max(gap, Math.abs(cur - base));
  }
  return gap;
}

function judge(distribution: TokenDistribution, window: DetectionWindow, options: TokenDriftOptions): Finding | null {
  const bins = [...distribution.bins].sort((a, b) => a.bin - b.bin);
  const baseline = bins.map((bin) => bin.baseline);
  const current = bins.map((bin) => bin.current);
  const baseTotal = baseline.reduce((sum, count) => sum + count, 0);
  const curTotal = current.reduce((sum, count) => sum + count, 0);
  if (distribution.currentRequests < options.minRequests || baseTotal < options.minBaselineRequests || curTotal <= 0) return null;
  const psi = populationStabilityIndex(baseline, current, options.epsilon);
  if (!(psi > options.threshold) || !significantChange(baseline, current, options.significanceZ)) return null;
  const ks = kolmogorovSmirnov(baseline, current);

  // Expected range: from the lower bound of the bin holding the `tail` quantile to the upper bound of the one holding 1 − tail.
  const low = 2 ** binAtShare(bins, baseTotal, options.tail) - 1;
  const high = 2 ** (binAtShare(bins, baseTotal, 1 - options.tail) + 1) - 1;

  const { baselineMeanTokens: baseMean, currentMeanTokens: curMean, direction } = distribution;
  const extra = curMean > 0 ? Math.max(0, 1 - baseMean / curMean) : 0;
  const contributors: AlertContributor[] = bins
    .map((bin) => ({ bin, change: Math.abs(bin.current / curTotal - bin.baseline / baseTotal) }))
    .filter(({ change }) => change > 0)
    .sort((a, b) => b.change - a.change)
    .slice(0, options.maxContributors)
    .map(({ bin }) => ({
      dimension: `${direction}_tokens_per_request`,
      value: `${2 ** bin.bin - 1}-${2 ** (bin.bin + 1) - 2}`,
      observed: shareOf(BigInt(bin.current), BigInt(curTotal)) ?? '0',
      expected: shareOf(BigInt(bin.baseline), BigInt(baseTotal)) ?? '0',
    }));
  const tokens = (value: number) => figureText(value, 0);
  return {
    kind: 'token_drift',
    metric: `${direction}_tokens_per_request`,
    scope: { [distribution.dimension]: distribution.value },
    windowStart: window.start,
    windowEnd: window.end,
    since: window.start,
    unit: 'tokens/request',
    observed: curMean,
    expected: baseMean,
    low,
    high,
    score: psi,
    atStakePerHour: perHourEstimate(usdOf(distribution.currentCostUnits) * extra, window.end - window.start),
    spent: formatDecimal(distribution.currentCostUnits),
    contributors,
    headline:
      `${direction} tokens per request of ${distribution.dimension} ${distribution.value} ${curMean >= baseMean ? 'rose' : 'fell'} ` +
      `from ${tokens(baseMean)} to ${tokens(curMean)} on average (PSI ${decimalText(psi, 2)}, KS D ${decimalText(ks, 2)}; ` +
      `${percentText(1 - 2 * options.tail)} of baseline requests within ${tokens(low)}–${tokens(high)})`,
  };
}

/** The first bin (in order) at which the baseline's cumulative share reaches `share`. */
function binAtShare(bins: TokenDistribution['bins'], baseTotal: number, share: number): number {
  let cumulative = 0;
  for (const bin of bins) {
    cumulative += bin.baseline / baseTotal;
    if (cumulative >= share - 1e-12) return bin.bin;
  }
  return bins.at(-1)!.bin;
}
