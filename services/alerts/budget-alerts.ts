import type { Budget, PeriodBounds } from '../budgets/budget.ts';
import type { BudgetEvaluation } from '../budgets/budget-evaluation.ts';
import { decimalUnits, formatDecimal } from '../money/decimal.ts';
import { NO_DETECTOR_FIELDS, resolved, type AlertEvent } from './alert-event.ts';

/** One threshold of one budget in one period: the unit that fires once. */
export function budgetAlertId(budgetId: string, period: string, threshold: { percent: number; type: string }): string {
  return `budget/${budgetId}/${period}/${threshold.type}-${threshold.percent}`;
}

/**
 * The state changes a budget's evaluation calls for, given the latest known
 * state of its alerts: a reached threshold not yet firing fires; a firing
 * alert whose threshold is no longer reached in the current period (the
 * period ended, the budget was raised) is resolved. Alerts already in the
 * state they should be in produce nothing, so evaluating again changes nothing.
 */
export function budgetAlertChanges(budget: Budget, evaluation: BudgetEvaluation, period: PeriodBounds, known: readonly AlertEvent[], now: number): AlertEvent[] {
  const latest = new Map(known.map((alert) => [alert.alert_id, alert]));
  const reachedIds = new Set<string>();
  const changes: AlertEvent[] = [];
  for (const threshold of evaluation.reached) {
    const alertId = budgetAlertId(budget.id, period.label, threshold);
    reachedIds.add(alertId);
    if (latest.get(alertId)?.state === 'firing') continue;
    const critical = threshold.type === 'actual' && threshold.percent >= 100;
    changes.push({
      alert_id: alertId,
      kind: 'budget',
      state: 'firing',
      severity: critical ? 'critical' : 'warning',
      source_id: budget.id,
      title: `Budget "${budget.name}" ${threshold.type === 'actual' ? 'has used' : 'is projected to use'} ${threshold.percent}% or more of ${budget.amount} USD`,
      summary: summarize(budget, evaluation),
      scope: Object.fromEntries(Object.entries(budget.scope).map(([key, values]) => [key, values.join(',')])),
      period: period.label,
      period_start: period.from,
      period_end: period.to,
      threshold_percent: threshold.percent,
      threshold_type: threshold.type,
      amount: budget.amount,
      spent: evaluation.spent,
      used: evaluation.used,
      projected: evaluation.forecast.projected,
      runs_out_on: evaluation.forecast.runs_out_on,
      report_url: reportUrl(budget, period),
      channels: budget.channels,
      occurred_at: now,
      ...NO_DETECTOR_FIELDS,
    });
  }
  for (const alert of latest.values()) {
    if (alert.state !== 'firing' || reachedIds.has(alert.alert_id)) continue;
    changes.push(resolved(alert, alert.period === period.label ? `no longer reached: ${summarize(budget, evaluation)}` : `period ${alert.period} ended`, now));
  }
  return changes;
}

function summarize(budget: Budget, evaluation: BudgetEvaluation): string {
  const percent = (fraction: string) => `${formatDecimal(decimalUnits(fraction) * 100n)}%`;
  const runsOut = evaluation.forecast.runs_out_on ? `, running out on ${evaluation.forecast.runs_out_on}` : '';
  return `${budget.id} spent ${evaluation.spent} of ${budget.amount} USD (${percent(evaluation.used)}) in ${evaluation.period.label}; projected ${evaluation.forecast.projected} USD by the period's end${runsOut}.`;
}

/** The cost report over the period, filtered to the budget's scope and split by what usually explains spend. */
function reportUrl(budget: Budget, period: PeriodBounds): string {
  const query = new URLSearchParams({ from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString(), group_by: 'team,feature,model', environment: 'all' });
  for (const [key, values] of Object.entries(budget.scope)) if (key !== 'environment') query.set(key, values.join(','));
  if (budget.scope['environment']) query.set('environment', budget.scope['environment'].join(','));
  return `/v1/reports/cost?${query}`;
}
