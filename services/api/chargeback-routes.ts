import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import { allocate, UNATTRIBUTED, type AllocatedPool } from '../chargeback/allocate.ts';
import { CHARGEBACK_DIMENSIONS, type AllocationSource, type ChargebackDimension } from '../chargeback/allocation-rules.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { DataScope } from '../config/config.ts';
import { formatDecimal, shareOf } from '../money/decimal.ts';
import { decimalUnits } from '../money/decimal.ts';
import { timeZoneName, zonedMonthStart } from '../validation/time-zone.ts';
import { buildChargebackQuery } from './chargeback-query.ts';
import { environmentParameter, scopeCondition } from './environment-scope.ts';
import { HttpError, invalidRequest } from './http-errors.ts';

const chargebackQuery = z.object({
  period: z
    .string({ message: 'is required: a calendar month such as 2026-10' })
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a calendar month such as 2026-10'),
  by: z.enum(Object.keys(CHARGEBACK_DIMENSIONS) as [ChargebackDimension, ...ChargebackDimension[]], { message: `must be one of ${Object.keys(CHARGEBACK_DIMENSIONS).join(', ')}` }).default('team'),
  environment: environmentParameter,
  timezone: timeZoneName.default('UTC'),
});

const directRow = z.object({
  owner_key: z.string(),
  direct_cost: z.string(),
  direct_list_cost: z.string(),
  total_events: z.coerce.number(),
  total_unpriced_events: z.coerce.number(),
});

/** The dimension a scoped token's owners are values of, per `by`. */
const SCOPE_OF: Partial<Record<ChargebackDimension, keyof DataScope>> = { team: 'teams', tenant: 'tenants' };

/**
 * GET /v1/reports/chargeback (reader): a calendar month's cost per owner —
 * direct cost, shared cost allocated to it by the allocation rules, total, and
 * share of the whole — with every pool explained line by line. Unattributed
 * spend and unpriced requests are always shown (as their own owner line, or as
 * the pool that spread them). A team- or tenant-scoped token sees its own
 * owners' lines of the same allocation, computed over all spend (a share of a
 * shared fee depends on everyone's spend).
 */
export function registerChargebackRoutes(app: FastifyInstance, deps: { clickhouse: ClickHouse; policy: PolicySource; allocation: AllocationSource }): void {
  app.get('/v1/reports/chargeback', { config: { role: 'reader', csv: { rows: 'owners', name: 'chargeback' }, docs: { tag: 'reports', summary: "A calendar month's cost per owner: direct, allocated shared cost, total and share, with every pool explained", query: chargebackQuery } } }, async (request) => {
    const query = validate(chargebackQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { period, by, timezone } = query.value;
    const visible = visibleOwners(request.dataScope, by);
    const [year, month] = period.split('-').map(Number) as [number, number];
    const from = zonedMonthStart(year, month, timezone);
    const to = zonedMonthStart(year, month + 1, timezone);
    const scope = scopeCondition(query.value.environment, deps.policy.current());
    const built = buildChargebackQuery({ from, to, by, scope });
    const rows = await deps.clickhouse.query({ name: 'chargeback_direct', sql: built.sql, params: built.params, schema: directRow });
    const rules = deps.allocation.current();
    const chargeback = allocate(new Map(rows.map((row) => [row.owner_key, decimalUnits(row.direct_cost)])), rules.pools.filter((pool) => pool.by === by));
    const facts = new Map(rows.map((row) => [row.owner_key, row]));
    const shown = (owner: string) => visible === null || visible.has(owner);
    const name = (owner: string) => (owner === UNATTRIBUTED ? null : owner);

    return {
      currency: 'USD',
      period,
      timezone,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      by,
      environments: scope.description,
      allocation_version: rules.version,
      // Whole-organisation figures only for tokens that see the whole organisation.
      ...(visible === null ? { grand_total: formatDecimal(chargeback.grandTotal) } : {}),
      owners: chargeback.owners
        .filter((charge) => shown(charge.owner))
        .map((charge) => ({
          [by]: name(charge.owner),
          direct_cost: formatDecimal(charge.direct),
          pooled_cost: formatDecimal(charge.pooled),
          allocated_cost: formatDecimal(charge.allocated),
          total_cost: formatDecimal(charge.total),
          ...(visible === null ? { share: shareOf(charge.total, chargeback.grandTotal) } : {}),
          list_cost: facts.get(charge.owner)?.direct_list_cost ?? '0',
          events: facts.get(charge.owner)?.total_events ?? 0,
          unpriced_events: facts.get(charge.owner)?.total_unpriced_events ?? 0,
          allocations: chargeback.pools.flatMap((pool) => pool.lines.filter((line) => line.owner === charge.owner).map((line) => ({ pool: pool.pool.id, amount: formatDecimal(line.amount) }))),
        })),
      ...(visible === null ? { unpriced_events: rows.reduce((sum, row) => sum + row.total_unpriced_events, 0) } : {}),
      pools: chargeback.pools.map((pool) => explainPool(pool, shown, name)),
    };
  });
}

function visibleOwners(scope: DataScope | null, by: ChargebackDimension): Set<string> | null {
  if (scope === null) return null;
  const key = SCOPE_OF[by];
  const owners = key ? scope[key] : undefined;
  // A token scoped to teams cannot run a chargeback by feature or tenant: those lines would mix in other teams.
  if (!owners || (key === 'teams' && scope.tenants) || (key === 'tenants' && scope.teams)) {
    throw new HttpError(403, 'forbidden', `this token sees only ${Object.entries(scope).filter(([, v]) => v).map(([k]) => k).join(' and ')}; ask for a chargeback by ${scope.teams ? 'team' : 'tenant'}`);
  }
  return new Set(owners);
}

/** A pool as the response explains it: what it took, how much, how it was spread, to whom and why. */
function explainPool(pool: AllocatedPool, shown: (owner: string) => boolean, name: (owner: string) => string | null) {
  const source = pool.pool.source;
  const what = 'unattributed' in source ? 'unattributed spend' : 'owners' in source ? `the direct cost of ${source.owners.join(', ')}` : `a fixed monthly fee of ${source.fixed_monthly}`;
  const totalWeight = pool.lines.reduce((sum, line) => sum + line.weight, 0n);
  const method = pool.pool.spread.method;
  const basis = (weight: bigint) =>
    method === 'proportional'
      ? `direct cost ${formatDecimal(weight)} of ${formatDecimal(totalWeight)}`
      : method === 'even'
        ? `an even part of ${pool.lines.length}`
        : `${formatDecimal(weight)}% fixed`;
  return {
    id: pool.pool.id,
    description: pool.pool.description ?? null,
    source: 'unattributed' in source ? 'unattributed' : 'owners' in source ? 'owners' : 'fixed_monthly',
    amount: formatDecimal(pool.amount),
    method,
    explanation: `${what}, ${formatDecimal(pool.amount)} USD, spread ${method === 'proportional' ? 'in proportion to direct cost' : method === 'even' ? 'evenly' : 'by fixed percentages'} over ${pool.lines.length} owner${pool.lines.length === 1 ? '' : 's'}`,
    taken_from: pool.takenFrom.filter(shown).map(name),
    lines: pool.lines.filter((line) => shown(line.owner)).map((line) => ({ owner: name(line.owner), amount: formatDecimal(line.amount), basis: basis(line.weight) })),
    unallocated: formatDecimal(pool.unallocated),
  };
}
