import type { AlertContributor, AlertSeverity } from '../alerts/alert-event.ts';
import { decimalUnits, formatDecimal } from '../money/decimal.ts';

/**
 * What a detector found in one window: the common shape every detector —
 * series anomalies and the named failures — reports, and the incident
 * grouping and alert building read. Figures are statistics for people
 * (expected ranges, drift measures); money is exact decimal text.
 */
export type DetectorKind = 'anomaly' | 'runaway' | 'model_mix_drift' | 'token_drift' | 'price_drift' | 'unpriced_usage' | 'silence';

export const DETECTOR_KINDS: readonly DetectorKind[] = ['anomaly', 'runaway', 'model_mix_drift', 'token_drift', 'price_drift', 'unpriced_usage', 'silence'];

export interface Finding {
  readonly kind: DetectorKind;
  /** What was measured: cost, requests, error_rate, share_of_spend, input_tokens_per_request, ... */
  readonly metric: string;
  /** The scope it is about, e.g. { team: 'search' } or { agent_run_id: 'run-7', feature: 'agent' }. */
  readonly scope: Readonly<Record<string, string>>;
  /** The window examined: [start, end) in epoch ms. */
  readonly windowStart: number;
  readonly windowEnd: number;
  /** When the change started (the first anomalous window). */
  readonly since: number;
  readonly unit: string;
  readonly observed: number;
  readonly expected: number;
  readonly low: number;
  readonly high: number;
  /** Anomaly score in [0, 1], or the drift statistic (PSI, relative change). */
  readonly score: number;
  /** Spend above the expected level per hour (or the usual spend of a silent scope), USD exact decimal text. */
  readonly atStakePerHour: string;
  /** Spend of the scope in the window, USD exact decimal text. */
  readonly spent: string;
  /** What drove it, largest first. */
  readonly contributors: readonly AlertContributor[];
  /** One line: what changed, by how much against the expected range. */
  readonly headline: string;
  /**
   * False when the finding may keep an open incident of its series going but
   * not open one: the series is still out of range but under the volume or
   * money guard, or the bucket is older than the alerting horizon (a replay).
   */
  readonly opens?: boolean;
}

/** A finding's identity across windows: one series or one named subject (a run, a model, a gateway). */
export function findingKey(finding: Pick<Finding, 'kind' | 'metric' | 'scope'>): string {
  const scope = Object.entries(finding.scope)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  return `${finding.kind}/${scope}/${finding.metric}`;
}

export interface SeverityThresholds {
  /** USD per hour at stake from which an alert is a warning. */
  readonly warningPerHour: string;
  /** USD per hour at stake from which an alert is critical. */
  readonly criticalPerHour: string;
}
export type { AlertSeverity };

/** Severity from the money at stake per hour, compared exactly; some kinds are never below a floor (unpriced usage and silence hide spend). */
export function severityOf(atStakePerHour: string, thresholds: SeverityThresholds, floor: AlertSeverity = 'info'): AlertSeverity {
  const units = decimalUnits(atStakePerHour);
  const bySpend: AlertSeverity = units >= decimalUnits(thresholds.criticalPerHour) ? 'critical' : units >= decimalUnits(thresholds.warningPerHour) ? 'warning' : 'info';
  const order: readonly AlertSeverity[] = ['info', 'warning', 'critical'];
  return order.indexOf(bySpend) >= order.indexOf(floor) ? bySpend : floor;
}

/** A money estimate (a statistic, e.g. expected spend) as exact decimal text, rounded to the micro-dollar and never negative. */
export function moneyEstimate(usd: number): string {
  if (!Number.isFinite(usd) || usd <= 0) return '0';
  return formatDecimal(BigInt(Math.round(usd * 1e6)) * 1_000_000n);
}
