import { describe, expect, it } from 'vitest';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';
import { buildPlanQuery, planSlices } from '../../../services/exports/export-plan.ts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 2);
const SCOPE: ScopeCondition = {
  sql: 'environment NOT IN {scope_excluded:Array(String)} AND team IN {access_teams:Array(String)}',
  params: { scope_excluded: ['dev'], access_teams: ['alpha'] },
  description: { scope: 'default', excluded: ['dev'] },
};

describe('buildPlanQuery', () => {
  it('counts stored rows per UTC hour in the range, the scope and access applied, values bound', () => {
    const built = buildPlanQuery({ from: T0, to: T0 + DAY, scope: SCOPE }, 'hour');
    expect(built.sql).toBe(
      [
        'SELECT toUnixTimestamp(toStartOfHour(occurred_at)) AS period_epoch, count() AS row_count',
        'FROM {db:Identifier}.usage_costs_v1',
        "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
        '  AND environment NOT IN {scope_excluded:Array(String)} AND team IN {access_teams:Array(String)}',
        'GROUP BY period_epoch',
        'ORDER BY period_epoch',
      ].join('\n'),
    );
    expect(built.params).toEqual({ from: '2026-11-02 00:00:00.000', to: '2026-11-03 00:00:00.000', scope_excluded: ['dev'], access_teams: ['alpha'] });
  });

  it('counts owner-and-model groups per UTC day for FOCUS', () => {
    expect(buildPlanQuery({ from: T0, to: T0 + DAY, scope: SCOPE }, 'day').sql).toContain(
      'SELECT toUnixTimestamp(toStartOfDay(occurred_at)) AS period_epoch, uniq(provider, model, tenant_id, cost_center, team, feature, environment, user_id, cost_status) AS row_count\n',
    );
  });
});

describe('planSlices', () => {
  const range = { from: T0, to: T0 + 10 * DAY };

  it('packs consecutive periods up to the row limit, skipping empty ones', () => {
    const counts = [
      { start: T0, rows: 40 },
      { start: T0 + HOUR, rows: 50 },
      { start: T0 + 5 * HOUR, rows: 10 },
      { start: T0 + 6 * HOUR, rows: 1 },
      { start: T0 + 9 * HOUR, rows: 30 },
    ];
    expect(planSlices(counts, 'hour', range, 100)).toEqual([
      { from: T0, to: T0 + 6 * HOUR, rows: 100 },
      { from: T0 + 6 * HOUR, to: T0 + 10 * HOUR, rows: 31 },
    ]);
  });

  it('gives a period holding more than the limit a slice of its own', () => {
    const counts = [
      { start: T0, rows: 10 },
      { start: T0 + DAY, rows: 250 },
      { start: T0 + 2 * DAY, rows: 10 },
    ];
    expect(planSlices(counts, 'day', range, 100)).toEqual([
      { from: T0, to: T0 + DAY, rows: 10 },
      { from: T0 + DAY, to: T0 + 2 * DAY, rows: 250 },
      { from: T0 + 2 * DAY, to: T0 + 3 * DAY, rows: 10 },
    ]);
  });

  it('clips the first and last slice to the range', () => {
    const partial = { from: T0 + 30 * 60 * 1000, to: T0 + DAY + 15 * 60 * 1000 };
    expect(planSlices([{ start: T0, rows: 1 }, { start: T0 + DAY, rows: 1 }], 'day', partial, 1)).toEqual([
      { from: partial.from, to: T0 + DAY, rows: 1 },
      { from: T0 + DAY, to: partial.to, rows: 1 },
    ]);
  });

  it('plans nothing for a range without usage', () => {
    expect(planSlices([], 'hour', range, 100)).toEqual([]);
  });
});
