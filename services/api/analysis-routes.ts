import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { forecastRunRate } from '../forecast/run-rate.ts';
import { decimalUnits, divideRoundHalfEven, formatDecimal, shareOf } from '../money/decimal.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { timeZoneName, utcOffsetMinutes, zonedDay, zonedDayStart, zonedMonthStart } from '../validation/time-zone.ts';
import { ANALYSIS_DIMENSIONS, buildDailyCostQuery, buildMoversQuery, buildUnitEconomicsQuery, type AnalysisDimension } from './analysis-queries.ts';
import { environmentParameter, scopeCondition, type ScopeCondition } from './environment-scope.ts';
import { HttpError, invalidRequest } from './http-errors.ts';
import { withAccess } from './row-access.ts';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const dimension = z.enum(ANALYSIS_DIMENSIONS, { message: `must be one of ${ANALYSIS_DIMENSIONS.join(', ')}` });
/** The analysis reports read the hourly rollup: their ranges are whole hours. */
const wholeHour = rfc3339Timestamp.refine((at) => at % HOUR_MS === 0, 'must be on a whole hour (these reports read hourly rollups), e.g. 2026-11-01T00:00:00Z');

const unitEconomicsQuery = z
  .object({ from: wholeHour, to: wholeHour, by: dimension.default('feature'), environment: environmentParameter })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const moversQuery = z
  .object({
    from: wholeHour,
    to: wholeHour,
    /** Start of the period compared against; it has the same length and ends where from starts unless given. */
    compare_from: wholeHour.optional(),
    by: dimension.default('team'),
    driver: dimension.default('model'),
    top: z.coerce.number().int().min(1).max(100).default(10),
    environment: environmentParameter,
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' })
  .refine((query) => query.by !== query.driver, { path: ['driver'], message: 'must differ from by' });

const forecastQuery = z.object({
  month: z.string({ message: 'is required: a calendar month such as 2026-11' }).regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a calendar month such as 2026-11'),
  by: dimension.optional(),
  timezone: timeZoneName.default('UTC'),
  /** The moment the forecast is made from (default now); the days before it in the month are actual. */
  as_of: rfc3339Timestamp.optional(),
  weeks: z.coerce.number().int().min(1).max(12).default(4),
  environment: environmentParameter,
});

const unitRow = z.object({ group_key: z.string(), total_cost: z.string(), total_events: z.coerce.number(), total_input_tokens: z.coerce.number(), total_output_tokens: z.coerce.number(), active_users: z.coerce.number() });
const moverRow = z.object({ group_key: z.string(), driver_key: z.string(), current_cost: z.string(), previous_cost: z.string(), current_events: z.coerce.number(), previous_events: z.coerce.number() });
const dailyRow = z.object({ group_key: z.string(), local_day: z.string(), day_cost: z.string() });

const orNull = (text: string) => (text === '' ? null : text);
/** cost / count as an exact amount rounded half-even to 12 decimals; null when nothing to divide by. */
const per = (cost: bigint, count: bigint, scale = 1n) => (count === 0n ? null : formatDecimal(divideRoundHalfEven(cost * scale, count)));

/**
 * The analysis reports (reader): unit economics, movers between two periods
 * with their drivers, and the month-end forecast from the run-rate. Each
 * takes `environment` and honours the caller's row access.
 */
export function registerAnalysisRoutes(app: FastifyInstance, deps: { clickhouse: ClickHouse; policy: PolicySource }): void {
  const scopeFor = (environment: Parameters<typeof scopeCondition>[0], dataScope: Parameters<typeof withAccess>[1]): ScopeCondition =>
    withAccess(scopeCondition(environment, deps.policy.current()), dataScope);

  app.get('/v1/reports/unit-economics', { config: { role: 'reader', csv: { rows: 'rows', name: 'unit-economics' }, docs: { tag: 'reports', summary: 'Cost per request, per 1k tokens and per active user, per group', query: unitEconomicsQuery } } }, async (request) => {
    const query = validate(unitEconomicsQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { from, to, by } = query.value;
    const scope = scopeFor(query.value.environment, request.dataScope);
    const built = buildUnitEconomicsQuery({ from, to, by, scope });
    const rows = await deps.clickhouse.query({ name: 'unit_economics', sql: built.sql, params: built.params, schema: unitRow });
    return {
      currency: 'USD',
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      by,
      environments: scope.description,
      rows: rows.map((row) => {
        const cost = decimalUnits(row.total_cost);
        const tokens = BigInt(row.total_input_tokens + row.total_output_tokens);
        return {
          [by]: orNull(row.group_key),
          cost: row.total_cost,
          requests: row.total_events,
          input_tokens: row.total_input_tokens,
          output_tokens: row.total_output_tokens,
          active_users: row.active_users,
          cost_per_request: per(cost, BigInt(row.total_events)),
          cost_per_1k_tokens: per(cost, tokens, 1000n),
          cost_per_active_user: per(cost, BigInt(row.active_users)),
        };
      }),
    };
  });

  app.get('/v1/reports/movers', { config: { role: 'reader', csv: { rows: ['increases', 'decreases'], name: 'movers' }, docs: { tag: 'reports', summary: 'Largest increases and decreases against the previous period, with the drivers', query: moversQuery } } }, async (request) => {
    const query = validate(moversQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { from, to, by, driver, top } = query.value;
    const previousFrom = query.value.compare_from ?? from - (to - from);
    const previous = { from: previousFrom, to: previousFrom + (to - from) };
    const scope = scopeFor(query.value.environment, request.dataScope);
    const built = buildMoversQuery({ current: { from, to }, previous, by, driver, scope });
    const rows = await deps.clickhouse.query({ name: 'movers', sql: built.sql, params: built.params, schema: moverRow });

    const groups = new Map<string, { current: bigint; previous: bigint; drivers: { key: string; change: bigint; current: bigint; previous: bigint }[] }>();
    for (const row of rows) {
      const current = decimalUnits(row.current_cost);
      const before = decimalUnits(row.previous_cost);
      const group = groups.get(row.group_key) ?? { current: 0n, previous: 0n, drivers: [] };
      group.current += current;
      group.previous += before;
      if (current !== before) group.drivers.push({ key: row.driver_key, change: current - before, current, previous: before });
      groups.set(row.group_key, group);
    }
    const movers = [...groups.entries()]
      .map(([key, group]) => ({ key, ...group, change: group.current - group.previous }))
      .filter((group) => group.change !== 0n);
    const abs = (value: bigint) => (value < 0n ? -value : value);
    const describe = (group: (typeof movers)[number]) => ({
      [by]: orNull(group.key),
      previous_cost: formatDecimal(group.previous),
      current_cost: formatDecimal(group.current),
      change: formatDecimal(group.change),
      // Relative change; null for a group that had no cost before (it is new).
      change_ratio: shareOf(group.change, group.previous),
      // The driver values that moved the same way as the group, largest first: what made the difference.
      drivers: group.drivers
        .filter((d) => d.change > 0n === group.change > 0n)
        .sort((a, b) => (abs(b.change) > abs(a.change) ? 1 : abs(b.change) < abs(a.change) ? -1 : a.key.localeCompare(b.key)))
        .slice(0, 3)
        .map((d) => ({ [driver]: orNull(d.key), previous_cost: formatDecimal(d.previous), current_cost: formatDecimal(d.current), change: formatDecimal(d.change) })),
    });
    const byChange = (direction: 1n | -1n) =>
      movers
        .filter((group) => (direction === 1n ? group.change > 0n : group.change < 0n))
        .sort((a, b) => (abs(b.change) > abs(a.change) ? 1 : abs(b.change) < abs(a.change) ? -1 : a.key.localeCompare(b.key)))
        .slice(0, top)
        .map(describe);
    return {
      currency: 'USD',
      current: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
      previous: { from: new Date(previous.from).toISOString(), to: new Date(previous.to).toISOString() },
      by,
      driver,
      environments: scope.description,
      increases: byChange(1n),
      decreases: byChange(-1n),
    };
  });

  app.get('/v1/reports/forecast', { config: { role: 'reader', csv: { rows: 'rows', name: 'forecast' }, docs: { tag: 'reports', summary: 'Month-end projection per scope from the run-rate with day-of-week seasonality, with a range', query: forecastQuery } } }, async (request) => {
    const query = validate(forecastQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { month, timezone, weeks } = query.value;
    const by: AnalysisDimension | null = query.value.by ?? null;
    const [year, monthNumber] = month.split('-').map(Number) as [number, number];
    const periodFrom = zonedMonthStart(year, monthNumber, timezone);
    const periodTo = zonedMonthStart(year, monthNumber + 1, timezone);
    if ([periodFrom, periodTo].some((at) => utcOffsetMinutes(timezone, at) % 60 !== 0)) {
      throw new HttpError(400, 'invalid_request', 'forecasts read hourly rollups; use a time zone a whole number of hours from UTC', { issues: [{ path: 'timezone', message: 'must be a whole number of hours from UTC' }] });
    }
    const localDay = (at: number) => zonedDay(at, timezone);
    const asOfInstant = Math.min(Math.max(query.value.as_of ?? Date.now(), periodFrom), periodTo);
    // Actual spend runs to the start of the as-of day; history reaches back `weeks` whole weeks before it.
    const asOfDay = localDay(asOfInstant);
    const asOfStart = zonedDayStart(asOfDay, timezone);
    const historyFrom = Math.min(periodFrom, asOfStart - weeks * 7 * DAY_MS);
    const scope = scopeFor(query.value.environment, request.dataScope);
    const built = buildDailyCostQuery({ from: historyFrom - (historyFrom % HOUR_MS), to: asOfStart, by, timezone, scope });
    const rows = await deps.clickhouse.query({ name: 'forecast_daily', sql: built.sql, params: built.params, schema: dailyRow });
    const perGroup = new Map<string, Map<string, bigint>>();
    for (const row of rows) {
      const days = perGroup.get(row.group_key) ?? new Map<string, bigint>();
      days.set(row.local_day, decimalUnits(row.day_cost));
      perGroup.set(row.group_key, days);
    }
    // A forecast of total spend has one row even before any spend.
    if (by === null && perGroup.size === 0) perGroup.set('', new Map());
    const periodStartDay = `${month}-01`;
    const periodEndDay = localDay(periodTo);
    return {
      currency: 'USD',
      month,
      timezone,
      as_of: asOfDay,
      method: `run-rate by day of week over the ${weeks} weeks before ${asOfDay}; range from the cheapest to the dearest of those weekdays`,
      ...(by ? { by } : {}),
      environments: scope.description,
      rows: [...perGroup.entries()].map(([key, daily]) => {
        const forecast = forecastRunRate({ daily, periodStart: periodStartDay, periodEnd: periodEndDay, asOf: asOfDay, weeks });
        return {
          ...(by ? { [by]: orNull(key) } : {}),
          actual_to_date: formatDecimal(forecast.actual),
          projected: formatDecimal(forecast.projected),
          low: formatDecimal(forecast.low),
          high: formatDecimal(forecast.high),
        };
      }),
    };
  });
}
