import { validate } from '@spendline/emitter/field-issues';
import { TAG_KEY_PATTERN } from '@spendline/emitter/usage-event';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { buildCostReportQuery, COST_DIMENSIONS, dimensionAlias, GRANULARITIES, isTagDimension, type ReportDimension } from './cost-report-query.ts';
import { timeZoneName, utcOffsetMinutes } from '../validation/time-zone.ts';
import { buildReconciliationQuery, RECONCILIATION_DIMENSIONS } from './reconciliation-query.ts';
import { environmentParameter, scopeCondition, type ScopeCondition } from './environment-scope.ts';
import { invalidRequest } from './http-errors.ts';
import { withAccess } from './row-access.ts';

const timestamp = rfc3339Timestamp;

/** A comma-separated list of dimensions, each from a closed list, none repeated. */
export const dimensionList = <const T extends readonly [string, ...string[]]>(allowed: T, fallback: string) =>
  z
    .string()
    .optional()
    .transform((text) => (text ?? fallback).split(',').map((item) => item.trim()).filter(Boolean))
    .pipe(
      z
        .array(z.enum(allowed, { message: `must be among ${allowed.join(', ')}` }))
        .refine((dimensions) => new Set(dimensions).size === dimensions.length, 'must not repeat a dimension'),
    );

/** A column dimension of the cost report, or a free tag as tag:<key>. */
const reportDimension = z.string().refine(
  (item) => (COST_DIMENSIONS as readonly string[]).includes(item) || (isTagDimension(item) && TAG_KEY_PATTERN.test(item.slice(4)) && item.length <= 68),
  `must be among ${COST_DIMENSIONS.join(', ')}, or tag:<key>`,
).transform((item) => item as ReportDimension);

const costReportQuery = z
  .object({
    from: timestamp,
    to: timestamp,
    group_by: z
      .string()
      .optional()
      .transform((text) => (text ?? '').split(',').map((item) => item.trim()).filter(Boolean))
      .pipe(z.array(reportDimension).max(10, 'must name at most 10 dimensions').refine((dimensions) => new Set(dimensions).size === dimensions.length, 'must not repeat a dimension')),
    environment: environmentParameter,
    granularity: z.enum(GRANULARITIES, { message: `must be one of ${GRANULARITIES.join(', ')}` }).optional(),
    timezone: timeZoneName.default('UTC'),
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const reconciliationQuery = z
  .object({
    from: timestamp,
    to: timestamp,
    group_by: dimensionList(RECONCILIATION_DIMENSIONS, 'provider,model'),
    environment: environmentParameter,
    tolerance: z
      .string()
      .regex(/^\d+(?:\.\d{1,12})?$/, 'must be a decimal amount in USD with at most 12 decimals')
      .default('0.000001'),
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const reconciliationRow = z
  .object({
    reporting_events: z.coerce.number(),
    total_reported: z.string(),
    total_list: z.string(),
    total_effective: z.string(),
    total_difference: z.string(),
    disagreeing_events: z.coerce.number(),
  })
  .catchall(z.string());

const costRow = z
  .object({
    total_cost: z.string(),
    total_list_cost: z.string(),
    total_events: z.coerce.number(),
    total_input_tokens: z.coerce.number(),
    total_output_tokens: z.coerce.number(),
    total_unpriced_events: z.coerce.number(),
  })
  .catchall(z.union([z.string(), z.number()]));

/** What every report answer starts with: its currency, range, grouping and environment scope. */
export function reportHeading(range: { from: number; to: number }, groupBy: readonly string[], scope: ScopeCondition) {
  return { currency: 'USD', from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), group_by: groupBy, environments: scope.description };
}

/** '' in storage means "not attributed": shown as null, never hidden. */
const nullIfEmpty = (value: unknown) => (value === '' ? null : value);

/** A row's dimension values, null where not attributed. */
export function dimensionCells(groupBy: readonly string[], row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(groupBy.map((dimension) => [dimension, nullIfEmpty(row[dimension])]));
}

/**
 * Filters of the cost report: any dimension but environment (the scope, see
 * environment-scope.ts) as a parameter, comma-separated values (team=search,ads;
 * tag:project=apollo). Other parameters are the report's own and are checked by its schema.
 */
const filterParameters = z.record(z.string(), z.unknown()).transform((query, ctx) => {
  const filters: Partial<Record<ReportDimension, string[]>> = {};
  for (const [key, value] of Object.entries(query)) {
    // environment is the report's scope parameter (normalized, 'all'), not a filter.
    if (key === 'environment' || (!(COST_DIMENSIONS as readonly string[]).includes(key) && !isTagDimension(key))) continue;
    if (isTagDimension(key) && !TAG_KEY_PATTERN.test(key.slice(4))) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'must be tag:<key>, the key starting with a letter' });
      continue;
    }
    const values = String(value).split(',').map((item) => item.trim()).filter(Boolean);
    if (values.length === 0 || values.length > 100) ctx.addIssue({ code: 'custom', path: [key], message: 'must list 1 to 100 comma-separated values' });
    else filters[key as ReportDimension] = values;
  }
  return filters;
});

/**
 * Reports over stored usage (role reader), counting only rows in force, in
 * the environment scope asked for (production by default, see
 * environment-scope.ts). Money is returned as exact decimal strings.
 */
export function registerReportRoutes(app: FastifyInstance, deps: { clickhouse: ClickHouse; policy: PolicySource }): void {
  app.get('/v1/reports/cost', { config: { role: 'reader', csv: { rows: 'rows', name: 'cost' }, docs: { tag: 'reports', summary: 'Cost, tokens and requests over a range, grouped by any dimension or tag, filtered, optionally as a time series', description: 'Filters: any dimension as a parameter with comma-separated values (team=search,ads; tag:project=apollo). format=csv for CSV.', query: costReportQuery } } }, async (request) => {
    const query = validate(costReportQuery, request.query);
    const filters = validate(filterParameters, request.query);
    if (!query.ok || !filters.ok) throw invalidRequest([...(query.ok ? [] : query.issues), ...(filters.ok ? [] : filters.issues)], 'invalid report parameters');
    const { from, to, group_by: groupBy, granularity, timezone } = query.value;
    const scope = withAccess(scopeCondition(query.value.environment, deps.policy.current()), request.dataScope);
    const wholeHourZone = [from, to].every((at) => utcOffsetMinutes(timezone, at) % 60 === 0);
    const built = buildCostReportQuery({ from, to, groupBy, filters: filters.value, scope, granularity, timezone, wholeHourZone });
    const rows = await deps.clickhouse.query({ name: 'cost_report', sql: built.sql, params: built.params, schema: costRow });
    return {
      ...reportHeading({ from, to }, groupBy, scope),
      ...(granularity ? { granularity, timezone } : {}),
      rows: rows.map((row) => ({
        // A period is named by the UTC instant its local start falls on (midnight in the zone for days).
        ...(granularity ? { period_start: new Date(Number(row['period_epoch']) * 1000).toISOString() } : {}),
        ...Object.fromEntries(groupBy.map((dimension, index) => [dimension, nullIfEmpty(row[dimensionAlias(dimension, index)])])),
        cost: row.total_cost,
        list_cost: row.total_list_cost,
        events: row.total_events,
        input_tokens: row.total_input_tokens,
        output_tokens: row.total_output_tokens,
        unpriced_events: row.total_unpriced_events,
      })),
    };
  });

  app.get('/v1/reports/reconciliation', { config: { role: 'reader', csv: { rows: 'rows', name: 'reconciliation' }, docs: { tag: 'reports', summary: 'What gateways reported against Spendline list cost, with disagreeing events', query: reconciliationQuery } } }, async (request) => {
    const query = validate(reconciliationQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { from, to, group_by: groupBy, tolerance } = query.value;
    const scope = withAccess(scopeCondition(query.value.environment, deps.policy.current()), request.dataScope);
    const built = buildReconciliationQuery({ from, to, groupBy, tolerance, scope });
    const rows = await deps.clickhouse.query({ name: 'reconciliation_report', sql: built.sql, params: built.params, schema: reconciliationRow });
    return {
      ...reportHeading({ from, to }, groupBy, scope),
      tolerance,
      rows: rows.map((row) => ({
        ...dimensionCells(groupBy, row),
        events: row.reporting_events,
        reported_cost: row.total_reported,
        list_cost: row.total_list,
        effective_cost: row.total_effective,
        difference: row.total_difference,
        disagreeing_events: row.disagreeing_events,
      })),
    };
  });
}
