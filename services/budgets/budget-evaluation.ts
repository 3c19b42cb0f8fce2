import { z } from 'zod';
import { buildCostReportQuery } from '../api/cost-report-query.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { forecastRunRate } from '../forecast/run-rate.ts';
import { decimalUnits, formatDecimal, shareOf } from '../money/decimal.ts';
import { utcOffsetMinutes, zonedDay } from '../validation/time-zone.ts';
import { periodAt, scopeFilters, type Budget, type PeriodBounds } from './budget.ts';

/** Where a budget stands in its current period. Amounts are exact decimal strings in USD. */
export interface BudgetEvaluation {
  readonly budget_id: string;
  readonly period: { readonly label: string; readonly from: string; readonly to: string };
  readonly amount: string;
  readonly spent: string;
  /** spent / amount as a fraction ("0.8125"). */
  readonly used: string;
  readonly forecast: { readonly projected: string; readonly low: string; readonly high: string; readonly used: string; readonly runs_out_on: string | null };
  /** Thresholds reached now, by actual spend or by forecast. */
  readonly reached: readonly { readonly percent: number; readonly type: 'actual' | 'forecasted' }[];
  /** ok, warning (a threshold reached), or breached (actual spend at or over the amount). */
  readonly state: 'ok' | 'warning' | 'breached';
  readonly evaluated_at: string;
}

const seriesRow = z.object({ period_epoch: z.coerce.number(), total_cost: z.string(), total_list_cost: z.string() }).catchall(z.unknown());
const HOUR_MS = 60 * 60 * 1000;
/** History a forecast learns each weekday from. */
const FORECAST_WEEKS = 4;

/**
 * Spend of the budget's scope in its period containing `now`, from the hourly
 * rollups or the events (whichever the scope allows: tags and API keys need
 * the events), with the run-rate forecast to the period's end.
 */
export async function evaluateBudget(clickhouse: ClickHouse, budget: Budget, now: number): Promise<BudgetEvaluation> {
  const period = periodAt(budget, now);
  const asOfDay = zonedDay(Math.min(Math.max(now, period.from), period.to), budget.timezone);
  const historyFrom = Math.min(period.from, Date.parse(`${asOfDay}T00:00:00Z`) - (FORECAST_WEEKS * 7 + 1) * 24 * HOUR_MS);
  const from = historyFrom - (historyFrom % HOUR_MS);
  const to = Math.min(period.to, now + HOUR_MS - (now % HOUR_MS));
  const built = buildCostReportQuery({
    from,
    to,
    groupBy: [],
    filters: scopeFilters(budget),
    scope: { sql: '1', params: {}, description: { scope: 'all' } },
    granularity: 'day',
    timezone: budget.timezone,
    wholeHourZone: [from, to].every((at) => utcOffsetMinutes(budget.timezone, at) % 60 === 0),
  });
  const rows = await clickhouse.query({ name: 'budget_spend', sql: built.sql, params: built.params, schema: seriesRow });
  const daily = new Map<string, bigint>();
  let spent = 0n;
  for (const row of rows) {
    const dayStart = row.period_epoch * 1000;
    const cost = decimalUnits(budget.basis === 'list' ? row.total_list_cost : row.total_cost);
    daily.set(zonedDay(dayStart, budget.timezone), cost);
    if (dayStart >= period.from && dayStart < period.to) spent += cost;
  }
  return judge(budget, period, spent, daily, asOfDay, now);
}

/** The pure part: percentages, forecast, thresholds and state from the figures. */
export function judge(budget: Budget, period: PeriodBounds, spent: bigint, daily: ReadonlyMap<string, bigint>, asOfDay: string, now: number): BudgetEvaluation {
  const amount = decimalUnits(budget.amount);
  // The forecast learns each weekday from whole days before today. Today counts as what it
  // has cost so far or what the weekday usually costs, whichever is more; later days as usual.
  const forecast = forecastRunRate({ daily, periodStart: period.firstDay, periodEnd: period.endDay, asOf: asOfDay, weeks: FORECAST_WEEKS });
  const todaySoFar = spent - forecast.actual;
  const today = forecast.days.find((day) => day.day === asOfDay);
  const later = forecast.days.filter((day) => day.day !== asOfDay);
  const atLeast = (expected: bigint | undefined) => (expected !== undefined && expected > todaySoFar ? expected : todaySoFar);
  const sum = (pick: (day: (typeof later)[number]) => bigint) => later.reduce((total, day) => total + pick(day), 0n);
  const projected = forecast.actual + atLeast(today?.expected) + sum((day) => day.expected);
  const low = forecast.actual + atLeast(today?.low) + sum((day) => day.low);
  const high = forecast.actual + atLeast(today?.high) + sum((day) => day.high);
  // The day spend is projected to reach the amount: today if today's expected rest gets there.
  let running = spent + (atLeast(today?.expected) - todaySoFar);
  let runsOutOn: string | null = running >= amount ? asOfDay : null;
  for (const day of later) {
    if (runsOutOn !== null) break;
    running += day.expected;
    if (running >= amount) runsOutOn = day.day;
  }
  const reached = budget.thresholds.filter((threshold) => (threshold.type === 'actual' ? spent : projected) * 100n >= BigInt(threshold.percent) * amount);
  return {
    budget_id: budget.id,
    period: { label: period.label, from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() },
    amount: budget.amount,
    spent: formatDecimal(spent),
    used: shareOf(spent, amount) ?? '0',
    forecast: {
      projected: formatDecimal(projected),
      low: formatDecimal(low),
      high: formatDecimal(high),
      used: shareOf(projected, amount) ?? '0',
      runs_out_on: runsOutOn,
    },
    reached: reached.map(({ percent, type }) => ({ percent, type })),
    state: spent >= amount ? 'breached' : reached.length > 0 ? 'warning' : 'ok',
    evaluated_at: new Date(now).toISOString(),
  };
}
