import { resolved, type AlertEvent, type AlertSeverity } from '../alerts/alert-event.ts';
import { findingKey, severityOf, type Finding, type SeverityThresholds } from './finding.ts';
import type { Incident } from './incidents.ts';

/**
 * An incident as the alert on-call receives: what changed, by how much
 * against the expected range, since when, what drove it, what is at stake per
 * hour (which sets the severity) and the report that shows it.
 */

const TITLES: Readonly<Record<Finding['kind'], string>> = {
  anomaly: 'Anomaly',
  runaway: 'Runaway loop',
  model_mix_drift: 'Model mix drift',
  token_drift: 'Token drift',
  price_drift: 'Price drift',
  unpriced_usage: 'Unpriced usage',
  silence: 'Silence',
};

/** Kinds that hide spend rather than add to it: never quieter than a warning. */
const FLOORS: Partial<Readonly<Record<Finding['kind'], AlertSeverity>>> = { unpriced_usage: 'warning', silence: 'warning', runaway: 'warning' };

export interface DetectorAlertOptions {
  readonly severity: SeverityThresholds;
  readonly channels: readonly string[];
}

export function incidentAlert(incident: Incident, options: DetectorAlertOptions, now: number): AlertEvent {
  const finding = incident.lead;
  const related = Object.keys(incident.members)
    .filter((key) => key !== findingKey(finding))
    .sort();
  const figure = (x: number) => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : '0');
  const drivers = finding.contributors
    .slice(0, 3)
    .map((c) => `${c.dimension}=${c.value} ${c.observed} (was ${c.expected})`)
    .join('; ');
  const summary = [
    `${finding.headline}.`,
    `Since ${new Date(finding.since).toISOString()}; ${finding.atStakePerHour} USD/h at stake; ${finding.spent} USD spent in the last window.`,
    drivers ? `Driven by (per hour now, and before): ${drivers}.` : '',
    related.length > 0 ? `Also changed: ${related.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    alert_id: incident.alertId,
    kind: finding.kind,
    state: 'firing',
    severity: severityOf(finding.atStakePerHour, options.severity, FLOORS[finding.kind]),
    source_id: findingKey(finding),
    title: `${TITLES[finding.kind]}: ${finding.headline}`.slice(0, 300),
    summary,
    scope: finding.scope,
    period: `${new Date(finding.windowStart).toISOString().slice(0, 16)}Z/PT${Math.max(1, Math.round((finding.windowEnd - finding.windowStart) / 60_000))}M`,
    period_start: finding.windowStart,
    period_end: finding.windowEnd,
    threshold_percent: null,
    threshold_type: null,
    amount: '0',
    spent: finding.spent,
    used: '0',
    projected: null,
    runs_out_on: null,
    report_url: reportUrl(finding),
    channels: options.channels,
    occurred_at: now,
    metric: finding.metric,
    unit: finding.unit,
    observed: figure(finding.observed),
    expected: figure(finding.expected),
    expected_low: figure(finding.low),
    expected_high: figure(finding.high),
    since: finding.since,
    at_stake_per_hour: finding.atStakePerHour,
    score: Number(finding.score.toFixed(4)),
    contributors: finding.contributors,
    related,
  };
}

export function incidentResolution(incident: Incident, options: DetectorAlertOptions, now: number): AlertEvent {
  return resolved(incidentAlert(incident, options, now), `back within the expected range since ${new Date(Math.max(...Object.values(incident.members))).toISOString()}`, now);
}

/** Cost report around the incident: from six hours before it started, filtered to its scope, split by what usually drives spend. */
function reportUrl(finding: Finding): string {
  const filters = Object.entries(finding.scope).filter(([key]) => REPORT_FILTERS.has(key));
  const groupBy = ['team', 'feature', 'model', 'user_id'].filter((dimension) => !filters.some(([key]) => key === dimension)).slice(0, 3);
  const query = new URLSearchParams({
    from: new Date(Math.floor((finding.since - 6 * 3_600_000) / 3_600_000) * 3_600_000).toISOString(),
    to: new Date(Math.ceil(finding.windowEnd / 3_600_000) * 3_600_000).toISOString(),
    group_by: groupBy.join(','),
    granularity: 'hour',
    environment: 'all',
    ...Object.fromEntries(filters),
  });
  return `/v1/reports/cost?${query}`;
}

const REPORT_FILTERS = new Set(['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'model', 'provider', 'user_id', 'api_key_id', 'gateway_id']);
