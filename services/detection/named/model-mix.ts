import type { AlertContributor } from '../../alerts/alert-event.ts';
import { divideRoundHalfEven, formatDecimal, shareOf } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { decimalText, percentText, usdText } from './figure-text.ts';
import { SIGNIFICANCE_Z, significantChange } from './homogeneity.ts';
import type { DetectionWindow, ModelMixRow } from './inputs.ts';
import { perHourUnits } from './per-hour.ts';
import { PSI_EPSILON, PSI_SIGNIFICANT, populationStabilityIndex } from './psi.ts';

/**
 * Model-mix drift: a scope value (a feature, say) moved its traffic between
 * models — a fallback stuck on the expensive model, a routing rule changed.
 * Measured as the PSI of the models' shares of spend, window against
 * baseline; when either side has no spend (unpriced traffic) the shares of
 * requests stand in. It fires when the PSI is above the threshold (a large
 * shift) and the requests per model differ from the baseline's beyond chance
 * (homogeneity.ts): an expensive model with a few percent of the requests
 * carries much of the spend, so in a 50-request window its few requests swing
 * the shares of spend past 0.2 by chance about one hour in ten. A change of
 * cost per request with the same requests per model is not a change of mix
 * (token or price drift say so). The money at stake is what the window cost
 * above the baseline's cost per request.
 */
export interface ModelMixOptions {
  /** PSI above which the mix has shifted; 0.2 is the usual "significant" line. */
  readonly threshold: number;
  /** Requests in the window needed to judge (fewer and a handful of calls swing the shares). */
  readonly minRequests: number;
  /** Requests in the baseline needed for its shares to be the usual mix. */
  readonly minBaselineRequests: number;
  /** Normal quantile the change of requests per model must be beyond (homogeneity.ts); −Infinity judges on the PSI alone. */
  readonly significanceZ: number;
  /** Share standing in for a model absent on one side (see psi.ts). */
  readonly epsilon: number;
  /** Models listed as contributors, the largest share changes first. */
  readonly maxContributors: number;
}

export const MODEL_MIX_DEFAULTS: ModelMixOptions = {
  threshold: PSI_SIGNIFICANT,
  minRequests: 50,
  minBaselineRequests: 200,
  significanceZ: SIGNIFICANCE_Z,
  epsilon: PSI_EPSILON,
  maxContributors: 5,
};

/**
 * Scope values whose model mix drifted. Scores are the PSI.
 *
 * `since` is the window's start, never later: one PSI over the window cannot
 * date the shift within it. An ongoing shift so reports a later `since` each
 * run; the incident book keeps the earliest one (incidents.ts).
 */
export function detectModelMixDrift(rows: readonly ModelMixRow[], window: DetectionWindow, options: ModelMixOptions = MODEL_MIX_DEFAULTS): Finding[] {
  const groups = new Map<string, ModelMixRow[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.dimension, row.value]);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    const found = judge(group, window, options);
    if (found) findings.push(found);
  }
  return findings;
}

function judge(rows: readonly ModelMixRow[], window: DetectionWindow, options: ModelMixOptions): Finding | null {
  const { dimension, value } = rows[0]!;
  const baselineRequests = rows.reduce((sum, row) => sum + row.baselineRequests, 0);
  const currentRequests = rows.reduce((sum, row) => sum + row.currentRequests, 0);
  if (currentRequests < options.minRequests || baselineRequests < options.minBaselineRequests) return null;
  const baselineCost = rows.reduce((sum, row) => sum + row.baselineCostUnits, 0n);
  const currentCost = rows.reduce((sum, row) => sum + row.currentCostUnits, 0n);
  const bySpend = baselineCost > 0n && currentCost > 0n;
  const baseOf = (row: ModelMixRow) => (bySpend ? row.baselineCostUnits : BigInt(row.baselineRequests));
  const curOf = (row: ModelMixRow) => (bySpend ? row.currentCostUnits : BigInt(row.currentRequests));
  const psi = populationStabilityIndex(rows.map((row) => Number(baseOf(row))), rows.map((row) => Number(curOf(row))), options.epsilon);
  if (!(psi > options.threshold)) return null;
  if (!significantChange(rows.map((row) => row.baselineRequests), rows.map((row) => row.currentRequests), options.significanceZ)) return null;

  const baseTotal = bySpend ? baselineCost : BigInt(baselineRequests);
  const curTotal = bySpend ? currentCost : BigInt(currentRequests);
  const shares = rows
    .map((row) => ({ model: row.model, base: shareOf(baseOf(row), baseTotal) ?? '0', cur: shareOf(curOf(row), curTotal) ?? '0', change: Number(curOf(row)) / Number(curTotal) - Number(baseOf(row)) / Number(baseTotal) }))
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change));
  const contributors: AlertContributor[] = shares.slice(0, options.maxContributors).map((share) => ({ dimension: 'model', value: share.model, observed: share.cur, expected: share.base }));

  // Spend above the baseline's cost per request, exactly: (current cost × Rb − Rc × baseline cost) / Rb.
  const excess = divideRoundHalfEven(currentCost * BigInt(baselineRequests) - BigInt(currentRequests) * baselineCost, BigInt(baselineRequests));
  const top = shares[0]!;
  const basis = bySpend ? 'spend' : 'requests';
  const perRequest = (cost: bigint, requests: number) => usdText(divideRoundHalfEven(cost, BigInt(Math.max(1, requests))));
  return {
    kind: 'model_mix_drift',
    metric: bySpend ? 'share_of_spend' : 'share_of_requests',
    scope: { [dimension]: value },
    windowStart: window.start,
    windowEnd: window.end,
    since: window.start,
    unit: 'PSI',
    observed: psi,
    expected: 0,
    low: 0,
    high: options.threshold,
    score: psi,
    atStakePerHour: excess > 0n ? formatDecimal(perHourUnits(excess, window.end - window.start)) : '0',
    spent: formatDecimal(currentCost),
    contributors,
    headline:
      `${dimension} ${value} moved its model mix (PSI ${decimalText(psi, 2)}, above ${options.threshold}): ` +
      `${top.model} ${percentText(Number(top.base))} → ${percentText(Number(top.cur))} of ${basis}; ` +
      `cost per request ${perRequest(baselineCost, baselineRequests)} → ${perRequest(currentCost, currentRequests)}`,
  };
}
