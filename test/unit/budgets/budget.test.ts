import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { budgetDefinition, periodAt, type Budget } from '../../../services/budgets/budget.ts';
import { judge } from '../../../services/budgets/budget-evaluation.ts';
import { decimalUnits } from '../../../services/money/decimal.ts';

const base = { id: 'search-prod', name: 'Search in production', scope: { team: ['search'], environment: ['prod'] }, period: 'monthly', amount: '1000' };
const budget = (overrides: Record<string, unknown> = {}): Budget => budgetDefinition.parse({ ...base, ...overrides });

describe('budget definition', () => {
  it('fills the defaults: UTC, USD, effective cost, 80 % and 100 % actual thresholds, warn', () => {
    expect(budget()).toMatchObject({ timezone: 'UTC', currency: 'USD', basis: 'effective', thresholds: [{ percent: 80, type: 'actual' }, { percent: 100, type: 'actual' }], action: { type: 'warn' } });
  });

  it('names every invalid field', () => {
    const checked = validate(budgetDefinition, {
      id: 'Search Prod',
      name: '',
      scope: { team: [], nonsense: ['x'] },
      period: 'fortnightly',
      amount: '-5',
      currency: 'EUR',
      thresholds: [{ percent: 80 }, { percent: 80 }],
      action: { type: 'downgrade' },
    });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.issues.map((issue) => issue.path)).toEqual(
      expect.arrayContaining(['id', 'name', 'scope.team', 'scope.nonsense', 'period', 'amount', 'currency', 'action.model']),
    );
    expect(checked.issues.find((issue) => issue.path === 'amount')?.message).toBe('must be more than 0');
  });

  it('asks for a custom range exactly when the period is custom, and a repeated threshold is refused', () => {
    const custom = validate(budgetDefinition, { ...base, period: 'custom' });
    expect(custom.ok ? [] : custom.issues).toEqual([{ path: 'custom_range', message: 'is required when period is custom' }]);
    const repeated = validate(budgetDefinition, { ...base, thresholds: [{ percent: 90, type: 'forecasted' }, { percent: 90, type: 'forecasted' }] });
    expect(repeated.ok ? [] : repeated.issues).toEqual([{ path: 'thresholds[1]', message: 'repeats the forecasted 90% threshold' }]);
  });
});

describe('periodAt', () => {
  const at = Date.UTC(2026, 10, 23, 23, 30); // Monday 23 November 2026, 23:30 UTC; already Tuesday in Berlin.
  it.each([
    ['daily', 'UTC', '2026-11-23T00:00:00.000Z', '2026-11-24T00:00:00.000Z', '2026-11-23'],
    ['daily', 'Europe/Berlin', '2026-11-23T23:00:00.000Z', '2026-11-24T23:00:00.000Z', '2026-11-24'],
    ['weekly', 'UTC', '2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z', 'week of 2026-11-23'],
    ['monthly', 'Europe/Berlin', '2026-10-31T23:00:00.000Z', '2026-11-30T23:00:00.000Z', '2026-11'],
    ['quarterly', 'UTC', '2026-10-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', '2026-Q4'],
  ] as const)('%s in %s', (period, timezone, from, to, label) => {
    const bounds = periodAt({ period, timezone, custom_range: undefined }, at);
    expect([new Date(bounds.from).toISOString(), new Date(bounds.to).toISOString(), bounds.label]).toEqual([from, to, label]);
  });

  it('rolls over to a fresh period at local midnight, not UTC midnight', () => {
    const beforeMidnight = periodAt({ period: 'monthly', timezone: 'Europe/Berlin', custom_range: undefined }, Date.UTC(2026, 10, 30, 22, 59));
    const afterMidnight = periodAt({ period: 'monthly', timezone: 'Europe/Berlin', custom_range: undefined }, Date.UTC(2026, 10, 30, 23, 0));
    expect([beforeMidnight.label, afterMidnight.label]).toEqual(['2026-11', '2026-12']);
  });
});

describe('judge', () => {
  const daily = (entries: Record<string, string>) => new Map(Object.entries(entries).map(([day, cost]) => [day, decimalUnits(cost)]));
  const month = periodAt({ period: 'monthly', timezone: 'UTC', custom_range: undefined }, Date.UTC(2026, 10, 15, 12));

  it('is ok under every threshold, and says when a steady run-rate runs the budget out', () => {
    // 10 a day for 4 weeks before 15 November and on the 1st-14th: 140 spent; 16 more days at 10 → 300 projected,
    // 200 reached on the 20th (150 by the end of the 15th, +10 a day).
    const history: Record<string, string> = {};
    for (let at = Date.UTC(2026, 9, 1); at < Date.UTC(2026, 10, 15); at += 86_400_000) history[new Date(at).toISOString().slice(0, 10)] = '10';
    const result = judge(budget({ amount: '200', thresholds: [{ percent: 100, type: 'forecasted' }, { percent: 90, type: 'actual' }] }), month, decimalUnits('140'), daily(history), '2026-11-15', Date.UTC(2026, 10, 15, 12));
    expect(result).toMatchObject({ spent: '140', used: '0.7', state: 'warning', forecast: { projected: '300', used: '1.5', runs_out_on: '2026-11-20' }, reached: [{ percent: 100, type: 'forecasted' }] });
  });

  it('is breached once actual spend reaches the amount, and both actual thresholds are reached', () => {
    const result = judge(budget({ amount: '100' }), month, decimalUnits('100'), new Map(), '2026-11-15', Date.UTC(2026, 10, 15, 12));
    expect(result).toMatchObject({ state: 'breached', used: '1', reached: [{ percent: 80, type: 'actual' }, { percent: 100, type: 'actual' }], forecast: { runs_out_on: '2026-11-15' } });
  });
});
