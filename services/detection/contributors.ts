import type { AlertContributor } from '../alerts/alert-event.ts';
import type { DetectionReader } from './detection-reader.ts';
import { moneyEstimate, type Finding } from './finding.ts';

/** Dimensions that usually explain a change, looked at for every series anomaly (except its own). */
const EXPLAINING = ['team', 'feature', 'model', 'user_id', 'api_key_id'] as const;
/** Hours before the incident that say what is usual. */
const BEFORE_MS = 6 * 3_600_000;

/**
 * A series anomaly with the values that drove it: per team, feature, model,
 * user and API key within the scope, spend (or requests, for request metrics)
 * per hour since the incident started against the hours before, the largest
 * increases first. Contributor figures are per hour (USD, or requests).
 */
export async function withContributors(reader: DetectionReader, finding: Finding): Promise<Finding> {
  const [scope] = Object.entries(finding.scope);
  if (!scope) return finding;
  const [dimension, value] = scope;
  const from = finding.since - BEFORE_MS;
  const figures = await reader.contributors(dimension, value, EXPLAINING.filter((d) => d !== dimension), from, finding.since, finding.windowEnd);
  const nowHours = Math.max(1, finding.windowEnd - finding.since) / 3_600_000;
  const beforeHours = BEFORE_MS / 3_600_000;
  const byRequests = finding.metric === 'requests' || finding.metric === 'error_rate';
  const increases = figures
    .map((f) => {
      const current = byRequests ? f.currentRequests / nowHours : Number(f.currentCostUnits) / 1e12 / nowHours;
      const before = byRequests ? f.baselineRequests / beforeHours : Number(f.baselineCostUnits) / 1e12 / beforeHours;
      return { f, current, before, increase: current - before };
    })
    .filter((entry) => entry.increase > 0);
  const largest = Math.max(0, ...increases.map((entry) => entry.increase));
  // What moved less than a twentieth of the largest driver is noise, not a driver.
  const ranked = increases
    .filter((entry) => entry.increase >= largest / 20)
    .sort((a, b) => b.increase - a.increase || a.f.dimension.localeCompare(b.f.dimension) || a.f.value.localeCompare(b.f.value))
    .slice(0, 5);
  const show = (x: number) => (byRequests ? x.toFixed(1) : moneyEstimate(x));
  const contributors: AlertContributor[] = ranked.map(({ f, current, before }) => ({ dimension: f.dimension, value: f.value, observed: show(current), expected: show(before) }));
  return { ...finding, contributors };
}
