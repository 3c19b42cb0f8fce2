import { describe, expect, it } from 'vitest';
import { buildChargebackQuery } from '../../../services/api/chargeback-query.ts';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';

const ALL: ScopeCondition = { sql: '1', params: {}, description: { scope: 'all' } };

describe('buildChargebackQuery', () => {
  it('reads the hourly rollup for a month on whole hours, grouped by the owner column', () => {
    const built = buildChargebackQuery({ from: Date.UTC(2026, 8, 30, 22), to: Date.UTC(2026, 9, 31, 23), by: 'tenant', scope: ALL });
    expect(built.sql).toBe(
      [
        'SELECT tenant_id AS owner_key, toString(sum(cost)) AS direct_cost, toString(sum(list_cost)) AS direct_list_cost,',
        '  sum(events) AS total_events, sum(unpriced_events) AS total_unpriced_events',
        'FROM {db:Identifier}.usage_hourly_owner_costs_v1',
        "WHERE hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}",
        '  AND 1',
        'GROUP BY owner_key',
        'HAVING sum(events) != 0',
        'ORDER BY owner_key',
      ].join('\n'),
    );
    expect(built.params).toEqual({ from: '2026-09-30 22:00:00.000', to: '2026-10-31 23:00:00.000' });
  });

  it('reads the events, with their sign, for a month starting off the hour (a half-hour zone)', () => {
    const built = buildChargebackQuery({ from: Date.UTC(2026, 8, 30, 18, 30), to: Date.UTC(2026, 9, 31, 18, 30), by: 'team', scope: ALL });
    expect(built.sql).toContain('toString(sum(cost * sign)) AS direct_cost');
    expect(built.sql).toContain("sumIf(sign, cost_status = 'unpriced') AS total_unpriced_events");
    expect(built.sql).toContain('FROM {db:Identifier}.usage_costs_v1');
    expect(built.sql.startsWith('SELECT team AS owner_key')).toBe(true);
  });

  it('reads the daily owner rollup for a month in UTC', () => {
    const built = buildChargebackQuery({ from: Date.UTC(2026, 9, 1), to: Date.UTC(2026, 10, 1), by: 'team', scope: ALL });
    expect(built.sql).toContain('FROM {db:Identifier}.usage_daily_owner_costs_v1\n');
  });
});
