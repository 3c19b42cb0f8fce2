/**
 * An alert state change as it travels on alerts.v1 (mirrors
 * schemas/alert-v1.avsc): budget alerts and detector alerts share it, so one
 * notifier, one store and one API serve both. Timestamps are epoch ms; money
 * is exact decimal text.
 */
export interface AlertEvent {
  readonly alert_id: string;
  readonly kind: string;
  readonly state: 'firing' | 'resolved';
  readonly severity: AlertSeverity;
  readonly source_id: string;
  readonly title: string;
  readonly summary: string;
  readonly scope: Readonly<Record<string, string>>;
  readonly period: string;
  readonly period_start: number;
  readonly period_end: number;
  readonly threshold_percent: number | null;
  readonly threshold_type: string | null;
  readonly amount: string;
  readonly spent: string;
  readonly used: string;
  readonly projected: string | null;
  readonly runs_out_on: string | null;
  readonly report_url: string;
  readonly channels: readonly string[];
  readonly occurred_at: number;
  // Detector alerts (empty or null for budgets):
  readonly metric: string;
  readonly unit: string;
  readonly observed: string | null;
  readonly expected: string | null;
  readonly expected_low: string | null;
  readonly expected_high: string | null;
  readonly since: number | null;
  readonly at_stake_per_hour: string | null;
  readonly score: number | null;
  readonly contributors: readonly AlertContributor[];
  readonly related: readonly string[];
}

export type AlertSeverity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly AlertSeverity[] = ['info', 'warning', 'critical'];

/** What drove a detector's alert: one dimension value, its part now and in the baseline. */
export interface AlertContributor {
  readonly dimension: string;
  readonly value: string;
  readonly observed: string;
  readonly expected: string;
}

/** The detector fields of a budget alert. */
export const NO_DETECTOR_FIELDS = {
  metric: '',
  unit: '',
  observed: null,
  expected: null,
  expected_low: null,
  expected_high: null,
  since: null,
  at_stake_per_hour: null,
  score: null,
  contributors: [],
  related: [],
} as const satisfies Partial<AlertEvent>;

/** The resolution of a firing alert, carrying its last figures. */
export function resolved(alert: AlertEvent, why: string, now: number): AlertEvent {
  return { ...alert, state: 'resolved', severity: 'info', title: `Resolved: ${alert.title}`, summary: `Resolved (${why}).`, occurred_at: now };
}
