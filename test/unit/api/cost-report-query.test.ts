import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCostReportQuery, COST_DIMENSIONS, ROLLUP_DIMENSIONS, type CostDimension } from '../../../services/api/cost-report-query.ts';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';
import { SQL_DIR } from '../../../services/project-paths.ts';

const FROM = Date.UTC(2026, 10, 1);
const TO = Date.UTC(2026, 10, 23, 10, 15, 0, 123);

const AGGREGATES =
  "toString(sum(cost * sign)) AS total_cost, toString(sum(list_cost * sign)) AS total_list_cost, sum(sign) AS total_events, sum(input_tokens * sign) AS total_input_tokens, sum(output_tokens * sign) AS total_output_tokens, sumIf(sign, cost_status = 'unpriced') AS total_unpriced_events";
const ROLLUP_AGGREGATES =
  'toString(sum(cost)) AS total_cost, toString(sum(list_cost)) AS total_list_cost, sum(events) AS total_events, sum(input_tokens) AS total_input_tokens, sum(output_tokens) AS total_output_tokens, sum(unpriced_events) AS total_unpriced_events';
const FROM_WHERE = [
  'FROM {db:Identifier}.usage_costs_v1',
  "WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')}",
  '  AND 1',
].join('\n');
const ALL: ScopeCondition = { sql: '1', params: {}, description: { scope: 'all' } };

describe('buildCostReportQuery', () => {
  it('totals the whole period without GROUP BY or ORDER BY when there are no dimensions', () => {
    const built = buildCostReportQuery({ from: FROM, to: TO, groupBy: [], scope: ALL });
    expect(built.sql).toBe(`SELECT ${AGGREGATES}\n${FROM_WHERE}`);
    expect(built.sql).not.toMatch(/GROUP BY|ORDER BY/);
  });

  it.each<[readonly CostDimension[], string]>([
    [['team'], 'team'],
    [['team', 'model'], 'team, model'],
    [['user_id', 'provider', 'environment', 'feature'], 'user_id, provider, environment, feature'],
  ])('groups and orders by %j in the order asked', (groupBy, columns) => {
    const built = buildCostReportQuery({ from: FROM, to: TO, groupBy, scope: ALL });
    expect(built.sql).toBe(`SELECT ${columns}, ${AGGREGATES}\n${FROM_WHERE}\nGROUP BY ${columns}\nHAVING sum(sign) != 0\nORDER BY sum(cost * sign) DESC, ${columns}`);
  });

  it('binds the period as DateTime64 parameters in UTC and never writes values into the SQL', () => {
    const built = buildCostReportQuery({ from: FROM, to: TO, groupBy: ['team'], scope: ALL });
    expect(built.params).toEqual({ from: '2026-11-01 00:00:00.000', to: '2026-11-23 10:15:00.123' });
    expect(built.sql).not.toContain('2026');
    // Every placeholder is bound here, except {db:Identifier}, which the ClickHouse wrapper binds for all statements.
    const placeholders = [...built.sql.matchAll(/\{(\w+):[^}]+\}/g)].map((match) => match[1]);
    expect(new Set(placeholders)).toEqual(new Set(['db', 'from', 'to']));
    expect(Object.keys(built.params).sort()).toEqual(['from', 'to']);
  });

  it('drops anything that is not a whitelisted dimension, so no request text reaches the SQL', () => {
    const hostile = ['team', 'cost); DROP TABLE usage_events_v1; --', 'tags', 'event_id'] as unknown as CostDimension[];
    const built = buildCostReportQuery({ from: FROM, to: TO, groupBy: hostile, scope: ALL });
    expect(built.sql).toBe(`SELECT team, ${AGGREGATES}\n${FROM_WHERE}\nGROUP BY team\nHAVING sum(sign) != 0\nORDER BY sum(cost * sign) DESC, team`);
    expect(built.sql).not.toContain('DROP');
  });

  it('treats a list of only unknown dimensions like no dimensions at all', () => {
    const built = buildCostReportQuery({ from: FROM, to: TO, groupBy: ['1=1'] as unknown as CostDimension[], scope: ALL });
    expect(built.sql).toBe(`SELECT ${AGGREGATES}\n${FROM_WHERE}`);
  });

  it('whitelists only real column names of usage_events_v1, none of them an aggregate alias', () => {
    const ddl = ['001_usage_events_v1.sql', '003_attribution.sql'].map((file) => readFileSync(join(SQL_DIR, file), 'utf8')).join('\n');
    for (const dimension of COST_DIMENSIONS) expect(ddl).toMatch(new RegExp(`^\\s+(?:ADD COLUMN IF NOT EXISTS )?${dimension}\\s+(?:LowCardinality\\()?String\\b`, 'm'));
    const aliases = [...AGGREGATES.matchAll(/ AS (\w+)/g)].map((match) => match[1]);
    expect(aliases.filter((alias) => (COST_DIMENSIONS as readonly string[]).includes(alias!))).toEqual([]);
  });

  describe('reading the hourly rollup', () => {
    const WHOLE_HOURS = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 23, 10) };
    const ROLLUP_FROM_WHERE = ['FROM {db:Identifier}.usage_hourly_owner_costs_v1', "WHERE hour >= {from:DateTime64(3, 'UTC')} AND hour < {to:DateTime64(3, 'UTC')}", '  AND 1'].join('\n');

    it('reads the rollup with users only when a user is asked about', () => {
      expect(buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['user_id'], scope: ALL }).sql).toContain('FROM {db:Identifier}.usage_hourly_costs_v1\n');
      expect(buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['team'], filters: { user_id: ['u1'] }, scope: ALL }).sql).toContain('FROM {db:Identifier}.usage_hourly_costs_v1\n');
    });

    it('reads the owner rollup, which already holds signed sums, for whole hours and owner dimensions', () => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['team', 'model'], scope: ALL });
      expect(built.sql).toBe(`SELECT team, model, ${ROLLUP_AGGREGATES}\n${ROLLUP_FROM_WHERE}\nGROUP BY team, model\nHAVING sum(events) != 0\nORDER BY sum(cost) DESC, team, model`);
    });

    it.each<[string, { from: number; to: number }, readonly CostDimension[]]>([
      ['a range starting inside an hour', { from: Date.UTC(2026, 10, 1, 0, 30), to: Date.UTC(2026, 10, 2) }, ['team']],
      ['a range ending inside an hour', { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 2, 0, 0, 0, 1) }, ['team']],
      ['a dimension the rollup does not keep', { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 2) }, ['team', 'gateway_id']],
    ])('reads the events for %s', (_what, range, groupBy) => {
      expect(buildCostReportQuery({ ...range, groupBy, scope: ALL }).sql).toContain('FROM {db:Identifier}.usage_costs_v1');
    });

    it('keeps only dimensions that are columns of sql/004_usage_hourly_rollup.sql, none an aggregate alias', () => {
      const ddl = readFileSync(join(SQL_DIR, '004_usage_hourly_rollup.sql'), 'utf8');
      for (const dimension of ROLLUP_DIMENSIONS) expect(ddl).toMatch(new RegExp(`^\\s+${dimension}\\s+(?:LowCardinality\\()?String\\b`, 'm'));
      const aliases = [...ROLLUP_AGGREGATES.matchAll(/ AS (\w+)/g)].map((match) => match[1]!);
      expect(aliases.filter((alias) => new RegExp(`^\\s+${alias}\\s`, 'm').test(ddl))).toEqual([]);
    });
  });

  describe('as a time series', () => {
    const WHOLE_HOURS = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

    it.each([
      ['hour', 'toStartOfHour(hour, {tz:String})'],
      ['day', 'toStartOfDay(hour, {tz:String})'],
      ['week', 'toDateTime(toStartOfWeek(hour, 1, {tz:String}), {tz:String})'],
      ['month', 'toDateTime(toStartOfMonth(hour, {tz:String}), {tz:String})'],
    ] as const)('buckets by %s in the bound time zone, in time order', (granularity, period) => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['team'], scope: ALL, granularity, timezone: 'Europe/Berlin', wholeHourZone: true });
      expect(built.sql.split('\n')[0]).toBe(`SELECT toUnixTimestamp(${period}) AS period_epoch, team, ${ROLLUP_AGGREGATES}`);
      expect(built.sql).toContain('\nGROUP BY period_epoch, team\nHAVING sum(events) != 0\nORDER BY period_epoch, sum(cost) DESC, team');
      expect(built.params).toMatchObject({ tz: 'Europe/Berlin' });
    });

    it('reads the events when the zone is not a whole number of hours from UTC (its days do not start on a UTC hour)', () => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: [], scope: ALL, granularity: 'day', timezone: 'Asia/Kolkata', wholeHourZone: false });
      expect(built.sql).toContain('toUnixTimestamp(toStartOfDay(occurred_at, {tz:String})) AS period_epoch');
      expect(built.sql).toContain('FROM {db:Identifier}.usage_costs_v1');
      // Hourly periods still fit the rollup in any zone: an hour is an hour.
      expect(buildCostReportQuery({ ...WHOLE_HOURS, groupBy: [], scope: ALL, granularity: 'hour', timezone: 'Asia/Kolkata', wholeHourZone: false }).sql).toContain('usage_hourly_owner_costs_v1');
    });

    it('binds no time zone for totals', () => {
      expect(buildCostReportQuery({ ...WHOLE_HOURS, groupBy: [], scope: ALL }).params).not.toHaveProperty('tz');
    });
  });

  describe('with tags and filters', () => {
    const WHOLE_HOURS = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

    it('groups by a tag through a bound key and an alias unlike any column, reading the events', () => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['team', 'tag:project'], scope: ALL });
      expect(built.sql.split('\n')[0]).toBe(`SELECT team, tags[{tag_key_1:String}] AS tag_1, ${AGGREGATES}`);
      expect(built.sql).toContain('FROM {db:Identifier}.usage_costs_v1');
      expect(built.sql).toContain('GROUP BY team, tag_1');
      expect(built.params).toMatchObject({ tag_key_1: 'project' });
    });

    it('filters with bound value lists, on the rollup when every filter is a rollup dimension', () => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ['model'], filters: { team: ['search', 'ads'], environment: ['prod'] }, scope: ALL });
      // A whole UTC month: the daily owner rollup.
      expect(built.sql).toContain('FROM {db:Identifier}.usage_daily_owner_costs_v1');
      expect(built.sql).toContain('  AND team IN {filter_values_0:Array(String)}\n  AND environment IN {filter_values_1:Array(String)}');
      expect(built.params).toMatchObject({ filter_values_0: ['search', 'ads'], filter_values_1: ['prod'] });
    });

    it('reads the events for a filter on a tag or a dimension the rollup lacks', () => {
      for (const filters of [{ 'tag:project': ['apollo'] }, { gateway_id: ['gw-1'] }] as const) {
        const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: [], filters, scope: ALL });
        expect(built.sql).toContain('FROM {db:Identifier}.usage_costs_v1');
      }
      const tagged = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: [], filters: { 'tag:project': ['apollo'] }, scope: ALL });
      expect(tagged.sql).toContain('  AND tags[{filter_key_0:String}] IN {filter_values_0:Array(String)}');
      expect(tagged.params).toMatchObject({ filter_key_0: 'project', filter_values_0: ['apollo'] });
    });

    it('never writes a tag key into the SQL', () => {
      const built = buildCostReportQuery({ ...WHOLE_HOURS, groupBy: ["tag:x'] OR 1=1 --"], scope: ALL });
      expect(built.sql).not.toContain('OR 1=1');
    });
  });

  describe('choosing the daily rollup', () => {
    const DAYS = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
    it.each<[string, Parameters<typeof buildCostReportQuery>[0], string]>([
      ['whole UTC days, totals', { ...DAYS, groupBy: ['team'], scope: ALL }, 'usage_daily_owner_costs_v1'],
      ['whole UTC days, per UTC day', { ...DAYS, groupBy: [], scope: ALL, granularity: 'day', timezone: 'UTC' }, 'usage_daily_owner_costs_v1'],
      ['whole UTC days, per UTC month', { ...DAYS, groupBy: [], scope: ALL, granularity: 'month', timezone: 'UTC' }, 'usage_daily_owner_costs_v1'],
      ['whole UTC days, per hour', { ...DAYS, groupBy: [], scope: ALL, granularity: 'hour', timezone: 'UTC' }, 'usage_hourly_owner_costs_v1'],
      ['whole UTC days, per Berlin day', { ...DAYS, groupBy: [], scope: ALL, granularity: 'day', timezone: 'Europe/Berlin', wholeHourZone: true }, 'usage_hourly_owner_costs_v1'],
      ['whole UTC days, by user', { ...DAYS, groupBy: ['user_id'], scope: ALL }, 'usage_hourly_costs_v1'],
      ['hours that are not whole days', { from: Date.UTC(2026, 10, 1, 5), to: Date.UTC(2026, 11, 1), groupBy: [], scope: ALL }, 'usage_hourly_owner_costs_v1'],
    ])('%s → %s', (_what, request, view) => {
      expect(buildCostReportQuery(request).sql).toContain(`FROM {db:Identifier}.${view}\n`);
    });
  });
});
