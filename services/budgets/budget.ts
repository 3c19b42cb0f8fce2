import { TAG_KEY_PATTERN } from '@spendline/emitter/usage-event';
import { z } from 'zod';
import { COST_DIMENSIONS, isTagDimension, type ReportDimension } from '../api/cost-report-query.ts';
import { parseDecimal } from '../money/decimal.ts';
import { rfc3339Timestamp } from '../validation/timestamp.ts';
import { timeZoneName, zonedDay, zonedDayStart } from '../validation/time-zone.ts';

/**
 * A budget: an amount of spend allowed to a scope (any filter over the
 * attribution dimensions and tags) per calendar period in a stated time zone,
 * with thresholds that warn on actual or forecasted spend and an action the
 * gateway takes on breach.
 */

const amount = z.string().superRefine((text, ctx) => {
  const parsed = parseDecimal(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  else if (parsed.units <= 0n) ctx.addIssue({ code: 'custom', message: 'must be more than 0' });
});

/** Scope keys: the report dimensions (team, feature, environment, api_key_id, ...) and tag:<key>. */
const scopeKey = z.string().refine(
  (key) => (COST_DIMENSIONS as readonly string[]).includes(key) || (isTagDimension(key) && TAG_KEY_PATTERN.test(key.slice(4))),
  `must be one of ${COST_DIMENSIONS.join(', ')}, or tag:<key>`,
);

export const BUDGET_PERIODS = ['daily', 'weekly', 'monthly', 'quarterly', 'custom'] as const;

export const budgetDefinition = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, ".", "_" or "-"'),
    name: z.string().min(1).max(200),
    /** Every listed dimension must have one of its values; absent dimensions do not restrict. */
    scope: z.record(scopeKey, z.array(z.string().min(1)).min(1, 'must list at least one value').max(100)).default({}),
    period: z.enum(BUDGET_PERIODS, { message: `must be one of ${BUDGET_PERIODS.join(', ')}` }),
    /** For period custom: the one range the budget covers. */
    custom_range: z.strictObject({ from: rfc3339Timestamp, to: rfc3339Timestamp }).optional(),
    timezone: timeZoneName.default('UTC'),
    amount,
    currency: z.literal('USD', { message: 'must be USD (costs are priced in USD)' }).default('USD'),
    /** effective: after contracts (what is paid); list: at catalog prices. */
    basis: z.enum(['effective', 'list']).default('effective'),
    thresholds: z
      .array(
        z.strictObject({
          percent: z.number().int('must be a whole percentage').min(1).max(1000),
          type: z.enum(['actual', 'forecasted']).default('actual'),
        }),
      )
      .max(20)
      .default([{ percent: 80, type: 'actual' }, { percent: 100, type: 'actual' }]),
    /** Names of notification channels to alert. */
    channels: z.array(z.string().min(1).max(64)).max(20).default([]),
    action: z
      .discriminatedUnion('type', [
        z.strictObject({ type: z.literal('none') }),
        z.strictObject({ type: z.literal('warn') }),
        z.strictObject({ type: z.literal('block') }),
        z.strictObject({ type: z.literal('downgrade'), model: z.string().min(1).max(256) }),
      ])
      .default({ type: 'warn' }),
  })
  .superRefine((budget, ctx) => {
    if (budget.period === 'custom' && !budget.custom_range) ctx.addIssue({ code: 'custom', path: ['custom_range'], message: 'is required when period is custom' });
    if (budget.period !== 'custom' && budget.custom_range) ctx.addIssue({ code: 'custom', path: ['custom_range'], message: 'is only used when period is custom' });
    if (budget.custom_range && budget.custom_range.to <= budget.custom_range.from) ctx.addIssue({ code: 'custom', path: ['custom_range', 'to'], message: 'must be after from' });
    const seen = new Set<string>();
    budget.thresholds.forEach((threshold, index) => {
      const key = `${threshold.type}:${threshold.percent}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['thresholds', index], message: `repeats the ${threshold.type} ${threshold.percent}% threshold` });
      seen.add(key);
    });
  });

export type Budget = z.output<typeof budgetDefinition>;

export interface PeriodBounds {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Local calendar days of the start and of the end (exclusive), in the budget's zone. */
  readonly firstDay: string;
  readonly endDay: string;
  /** Names the period: "2026-11", "2026-W47", "2026-11-23", "2026-Q4" or the custom range. */
  readonly label: string;
}

/** The budget period holding `at`, calendar-aligned in the budget's zone (weeks start on Monday). */
export function periodAt(budget: Pick<Budget, 'period' | 'timezone' | 'custom_range'>, at: number): PeriodBounds {
  const zone = budget.timezone;
  const today = zonedDay(at, zone);
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  const bounds = (firstDay: string, endDay: string, label: string): PeriodBounds => ({ from: zonedDayStart(firstDay, zone), to: zonedDayStart(endDay, zone), firstDay, endDay, label });
  const dayName = (utc: number) => new Date(utc).toISOString().slice(0, 10);
  switch (budget.period) {
    case 'daily':
      return bounds(today, dayName(Date.UTC(year, month - 1, day + 1)), today);
    case 'weekly': {
      const weekday = (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
      const monday = Date.UTC(year, month - 1, day - weekday);
      return bounds(dayName(monday), dayName(monday + 7 * 86_400_000), `week of ${dayName(monday)}`);
    }
    case 'monthly':
      return bounds(dayName(Date.UTC(year, month - 1, 1)), dayName(Date.UTC(year, month, 1)), today.slice(0, 7));
    case 'quarterly': {
      const first = Math.floor((month - 1) / 3) * 3;
      return bounds(dayName(Date.UTC(year, first, 1)), dayName(Date.UTC(year, first + 3, 1)), `${year}-Q${first / 3 + 1}`);
    }
    case 'custom': {
      const range = budget.custom_range!;
      return { from: range.from, to: range.to, firstDay: zonedDay(range.from, zone), endDay: zonedDay(range.to, zone), label: `${new Date(range.from).toISOString()}/${new Date(range.to).toISOString()}` };
    }
  }
}

/** The scope as cost report filters. */
export function scopeFilters(budget: Pick<Budget, 'scope'>): Partial<Record<ReportDimension, string[]>> {
  return budget.scope as Partial<Record<ReportDimension, string[]>>;
}
