import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import {
  buildAttributionQualityQuery,
  buildUnattributedSourcesQuery,
  QUALITY_DIMENSIONS,
  type QualityDimension,
} from '../../../services/api/attribution-quality-query.ts';
import { scopeCondition, type ScopeCondition } from '../../../services/api/environment-scope.ts';
import { SQL_DIR } from '../../../services/project-paths.ts';

const FROM = Date.UTC(2026, 10, 1);
const TO = Date.UTC(2026, 10, 23, 10, 15, 0, 123);
const ALL: ScopeCondition = { sql: '1', params: {}, description: { scope: 'all' } };
const DEFAULT_SCOPE = scopeCondition({ kind: 'default' }, AttributionPolicy.builtIn);

const AGGREGATES = [
  'sum(sign) AS total_events',
  'toString(sum(cost * sign)) AS total_cost_all',
  "sumIf(sign, attribution_status = 'complete') AS events_complete",
  "toString(sumIf(cost * sign, attribution_status = 'complete')) AS cost_complete",
  "sumIf(sign, attribution_status = 'fixed_by_rule') AS events_fixed_by_rule",
  "toString(sumIf(cost * sign, attribution_status = 'fixed_by_rule')) AS cost_fixed_by_rule",
  "sumIf(sign, attribution_status = 'defaulted') AS events_defaulted",
  "toString(sumIf(cost * sign, attribution_status = 'defaulted')) AS cost_defaulted",
  "sumIf(sign, attribution_status = 'unattributed') AS events_unattributed",
  "toString(sumIf(cost * sign, attribution_status = 'unattributed')) AS cost_unattributed",
  "sumIf(sign, attribution_status = '') AS events_unassessed",
  "toString(sumIf(cost * sign, attribution_status = '')) AS cost_unassessed",
].join(', ');

const fromWhere = (scopeSql: string) =>
  ['FROM {db:Identifier}.usage_costs_v1', "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}", `  AND ${scopeSql}`].join('\n');

const placeholders = (sql: string) => new Set([...sql.matchAll(/\{(\w+):[^}]+\}/g)].map((match) => match[1]));

describe('buildAttributionQualityQuery', () => {
  it('totals the period per status without GROUP BY when there are no dimensions', () => {
    const built = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy: [], scope: ALL });
    expect(built.sql).toBe(`SELECT ${AGGREGATES}\n${fromWhere('1')}`);
  });

  it.each<[readonly QualityDimension[], string]>([
    [['gateway_id', 'team', 'environment'], 'gateway_id, team, environment'],
    [['model', 'team'], 'model, team'],
    [['api_key_id'], 'api_key_id'],
    [['cost_center', 'tenant_id', 'feature', 'provider'], 'cost_center, tenant_id, feature, provider'],
  ])('groups and orders by %j in the order asked', (groupBy, columns) => {
    const built = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy, scope: ALL });
    expect(built.sql).toBe(
      `SELECT ${columns}, ${AGGREGATES}\n${fromWhere('1')}\nGROUP BY ${columns}\nHAVING sum(sign) != 0\nORDER BY sum(cost * sign) DESC, ${columns}`,
    );
  });

  it('drops anything that is not a whitelisted dimension', () => {
    const hostile = ['team', 'sign); DROP TABLE usage_events_v1; --', 'tags', 'attribution_status', 'event_id', 'user_id'] as unknown as QualityDimension[];
    const built = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy: hostile, scope: ALL });
    expect(built.sql).toBe(`SELECT team, ${AGGREGATES}\n${fromWhere('1')}\nGROUP BY team\nHAVING sum(sign) != 0\nORDER BY sum(cost * sign) DESC, team`);
    expect(built.sql).not.toContain('DROP');
  });

  it('binds the period and the scope as parameters, never as SQL text', () => {
    const built = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy: ['team'], scope: DEFAULT_SCOPE });
    expect(built.sql).toContain('\n  AND environment NOT IN {scope_excluded:Array(String)}\n');
    expect(built.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-23 10:15:00.123', scope_excluded: ['dev', 'staging', 'test'] });
    expect(built.sql).not.toMatch(/2026|'dev'|'staging'/);
    expect(placeholders(built.sql)).toEqual(new Set(['db', 'from', 'to', 'scope_excluded']));
  });

  it('binds an "only" scope under its own parameter', () => {
    const only = scopeCondition({ kind: 'only', environments: ['Production'] }, AttributionPolicy.builtIn);
    const built = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy: [], scope: only });
    expect(built.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-23 10:15:00.123', scope_environments: ['prod'] });
    expect(placeholders(built.sql)).toEqual(new Set(['db', 'from', 'to', 'scope_environments']));
  });
});

describe('buildUnattributedSourcesQuery', () => {
  it('lists unattributed spend by gateway, key and missing dimensions, largest first, limited', () => {
    const built = buildUnattributedSourcesQuery({ from: FROM, to: TO, groupBy: ['team'], scope: DEFAULT_SCOPE }, 25);
    expect(built.sql).toBe(
      [
        "SELECT gateway_id, api_key_id, arrayStringConcat(arraySort(attribution_missing), ',') AS missing_dimensions,",
        '  sum(sign) AS source_events, toString(sum(cost * sign)) AS source_cost',
        'FROM {db:Identifier}.usage_costs_v1',
        "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
        "  AND environment NOT IN {scope_excluded:Array(String)} AND attribution_status = 'unattributed'",
        'GROUP BY gateway_id, api_key_id, missing_dimensions',
        'HAVING sum(sign) != 0',
        'ORDER BY sum(cost * sign) DESC, source_events DESC, gateway_id, api_key_id',
        'LIMIT {limit:UInt32}',
      ].join('\n'),
    );
    expect(built.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-23 10:15:00.123', scope_excluded: ['dev', 'staging', 'test'], limit: 25 });
    expect(placeholders(built.sql)).toEqual(new Set(['db', 'from', 'to', 'scope_excluded', 'limit']));
  });

  it('filters on the unattributed status whatever the scope, and does not depend on groupBy', () => {
    const a = buildUnattributedSourcesQuery({ from: FROM, to: TO, groupBy: [], scope: ALL }, 5);
    const b = buildUnattributedSourcesQuery({ from: FROM, to: TO, groupBy: ['model', 'team'], scope: ALL }, 5);
    expect(a).toEqual(b);
    expect(a.sql).toContain("\n  AND 1 AND attribution_status = 'unattributed'\n");
    expect(a.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-23 10:15:00.123', limit: 5 });
  });
});

describe('column names', () => {
  /** Columns of usage_events_v1 (which the usage_costs_v1 view selects with *), from its CREATE TABLE and ALTER TABLE statements. */
  function usageEventColumns(): Set<string> {
    const ddl = ['001_usage_events_v1.sql', '002_pricing_and_cost_ledger.sql', '003_attribution.sql'].map((file) => readFileSync(join(SQL_DIR, file), 'utf8')).join('\n');
    // Statements start unindented; column definitions are the lines indented by four spaces under them.
    const columns = new Set<string>();
    let inUsageEvents = false;
    for (const line of ddl.split('\n')) {
      if (/^(CREATE|ALTER) /.test(line)) inUsageEvents = /^(CREATE TABLE IF NOT EXISTS|ALTER TABLE) \{db:Identifier\}\.usage_events_v1$/.test(line.trim());
      const column = /^ {4}(?:ADD COLUMN IF NOT EXISTS )?([a-z_][a-z0-9_]*)\s+[A-Z]/.exec(line);
      if (inUsageEvents && column) columns.add(column[1]!);
    }
    return columns;
  }

  it('reads the column list of usage_events_v1 from the migrations', () => {
    const columns = usageEventColumns();
    for (const column of ['event_id', 'occurred_at', 'team', 'cost', 'cost_center', 'cost_status', 'sign', 'pricing_run', 'attribution_status', 'attribution_missing', 'tenant_id', 'list_cost']) {
      expect(columns, column).toContain(column);
    }
    expect(columns).not.toContain('run_id');
    expect(columns.size).toBeGreaterThan(45);
  });

  it('groups only by real columns', () => {
    const columns = usageEventColumns();
    expect(QUALITY_DIMENSIONS.filter((dimension) => !columns.has(dimension))).toEqual([]);
  });

  it('names no aggregate after a column: a ClickHouse alias would shadow it in WHERE, GROUP BY and ORDER BY', () => {
    const columns = usageEventColumns();
    const quality = buildAttributionQualityQuery({ from: FROM, to: TO, groupBy: [...QUALITY_DIMENSIONS], scope: DEFAULT_SCOPE });
    const sources = buildUnattributedSourcesQuery({ from: FROM, to: TO, groupBy: [], scope: DEFAULT_SCOPE }, 10);
    const aliases = [...`${quality.sql}\n${sources.sql}`.matchAll(/ AS (\w+)/g)].map((match) => match[1]!);
    expect(aliases).toEqual([
      'total_events',
      'total_cost_all',
      'events_complete',
      'cost_complete',
      'events_fixed_by_rule',
      'cost_fixed_by_rule',
      'events_defaulted',
      'cost_defaulted',
      'events_unattributed',
      'cost_unattributed',
      'events_unassessed',
      'cost_unassessed',
      'missing_dimensions',
      'source_events',
      'source_cost',
    ]);
    expect(aliases.filter((alias) => columns.has(alias))).toEqual([]);
  });
});
