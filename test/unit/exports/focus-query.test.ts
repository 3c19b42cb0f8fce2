import { describe, expect, it } from 'vitest';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';
import { focusGroupsPerRead, SKU_CLASSES } from '../../../services/exports/focus-groups.ts';
import { buildFocusQuery } from '../../../services/exports/focus-query.ts';
import { COST_CLASSES } from '../../../services/pricing/cost-calculation.ts';

const FROM = Date.UTC(2026, 10, 1);
const TO = Date.UTC(2026, 10, 3);
const SCOPE: ScopeCondition = {
  sql: 'environment IN {scope_environments:Array(String)} AND tenant_id IN {access_tenants:Array(String)}',
  params: { scope_environments: ['prod'], access_tenants: ['acme'] },
  description: { scope: 'only', included: ['prod'] },
};
const KEYS = 'period_epoch, provider, model, tenant_id, cost_center, team, feature, environment, user_id, cost_status, sku_class';

describe('buildFocusQuery', () => {
  const built = buildFocusQuery({ from: FROM, to: TO, scope: SCOPE });

  it('has one SKU per class the pricing engine prices apart, in its order', () => {
    expect(SKU_CLASSES).toEqual(COST_CLASSES);
    for (const cls of SKU_CLASSES) expect(built.sql).toContain(`tuple('${cls}', `);
  });

  it('sums tokens and money with the sign over rows in force, exactly, per day, owner, model and SKU', () => {
    expect(built.sql).toContain('FROM {db:Identifier}.usage_costs_v1\nARRAY JOIN lines AS line\n');
    expect(built.sql).toContain('  toUnixTimestamp(toStartOfDay(occurred_at)) AS period_epoch,\n');
    expect(built.sql).toContain('  toString(sum(line.2 * sign)) AS consumed_total,\n  toString(sum(line.3 * sign)) AS effective_total,\n  toString(sum(line.4 * sign)) AS list_total\n');
    expect(built.sql).toContain(`GROUP BY ${KEYS}\nHAVING sum(line.2 * sign) != 0 OR sum(line.3 * sign) != 0 OR sum(line.4 * sign) != 0\nORDER BY ${KEYS}`);
  });

  it('carves a class out of its parent only where the row priced it apart, as the engine does', () => {
    expect(built.sql).toContain(
      "if((cost_status != 'priced' OR mapContains(cost_breakdown, 'input')), toInt64(input_tokens) - t_cache_read - t_cache_write - t_input_audio - t_cache_audio_read, 0) AS t_input",
    );
    expect(built.sql).toContain("if((cost_status != 'priced' OR mapContains(cost_breakdown, 'cache_read')), toInt64(cache_read_tokens) - t_cache_audio_read, 0) AS t_cache_read");
    expect(built.sql).toContain("if((cost_status != 'priced' OR mapContains(cost_breakdown, 'output')), toInt64(output_tokens) - t_output_audio, 0) AS t_output");
  });

  it('keeps each event whole: its lines carry the rounding left over, list cost shared by effective cost under a contract', () => {
    expect(built.sql).toContain("cost - arraySum(arrayMap(l -> l.3, class_lines)) AS cost_left");
    expect(built.sql).toContain('list_cost - arraySum(list_shares) AS list_left');
    expect(built.sql).toContain('if(list_cost = cost, l.3, if(cost = 0, toDecimal128(0, 12), toDecimal128(toDecimal256(l.3, 12) * toDecimal256(list_cost, 12) / toDecimal256(cost, 12), 12)))');
    expect(built.sql).toContain('tuple(l.1, l.2, l.3 + cost_left * (i = 1), share + list_left * (i = 1))');
  });

  it('applies the range and the scope with bound values only', () => {
    expect(built.sql).toContain(
      "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}\n  AND environment IN {scope_environments:Array(String)} AND tenant_id IN {access_tenants:Array(String)}\nGROUP BY",
    );
    expect(built.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-03 00:00:00.000', scope_environments: ['prod'], access_tenants: ['acme'] });
    expect(built.sql).not.toContain('acme');
  });

  it('holds as many groups per read as leaves room for every SKU of each', () => {
    expect(focusGroupsPerRead(10_000)).toBe(1250);
    expect(focusGroupsPerRead(3)).toBe(1);
  });

  it('reads one part of a heavy day by a hash of the row key, so no FOCUS row spans two parts', () => {
    const part = buildFocusQuery({ from: FROM, to: TO, scope: SCOPE, bucket: { index: 2, count: 5 } });
    expect(part.sql).toContain(
      '  AND cityHash64(provider, model, tenant_id, cost_center, team, feature, environment, user_id, cost_status) % {bucket_count:UInt64} = {bucket_index:UInt64}\nGROUP BY',
    );
    expect(part.params).toMatchObject({ bucket_count: 5, bucket_index: 2 });
    expect(built.sql).not.toContain('cityHash64');
  });
});
