import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import { reattribute } from '../attribution/reattribution.ts';
import { clickHouseTimeToIso, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import { reprice } from '../pricing/repricing.ts';
import { RestatementBusyError } from '../restatement/restatement-run.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { HttpError, invalidRequest } from './http-errors.ts';
import { accessCondition } from './row-access.ts';

const filter = z.string().min(1).optional();

const repriceBody = z
  .strictObject({ from: rfc3339Timestamp, to: rfc3339Timestamp, provider: filter, model: filter, dry_run: z.boolean().default(false) })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const reattributeBody = z
  .strictObject({
    from: rfc3339Timestamp,
    to: rfc3339Timestamp,
    gateway_id: filter,
    team: filter,
    environment: filter,
    api_key_id: filter,
    provider: filter,
    model: filter,
    dry_run: z.boolean().default(false),
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const runRow = z.object({
  run_id: z.coerce.number(),
  kind: z.string(),
  status: z.string(),
  range_from: z.string(),
  range_to: z.string(),
  filters: z.string(),
  price_version: z.string(),
  policy_version: z.string(),
  events_examined: z.coerce.number(),
  events_changed: z.coerce.number(),
  updated_at: z.string(),
});

const historyRow = z.object({
  pricing_run: z.coerce.number(),
  kind: z.string(),
  sign: z.coerce.number(),
  cost: z.string(),
  list_cost: z.string(),
  cost_status: z.string(),
  price_version: z.string(),
  catalog_model: z.string(),
  contract_id: z.string(),
  priced_at: z.string(),
  tenant_id: z.string(),
  cost_center: z.string(),
  team: z.string(),
  feature: z.string(),
  environment: z.string(),
  attribution_status: z.string(),
  attribution_policy: z.string(),
  attribution_lineage: z.string(),
});

const orNull = (text: string) => (text === '' ? null : text);

/**
 * Restating stored events (admin): repricing with the prices in force,
 * re-attribution with the policy in force, and the history of both — the
 * list of runs (admin), and each event's versions (reader).
 */
export function registerRestatementRoutes(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouse; pricing: PricingSource; policy: PolicySource; log: Logger },
): void {
  const { clickhouse } = deps;
  const busy = (err: unknown) => (err instanceof RestatementBusyError ? new HttpError(409, 'restatement_running', err.message) : err);

  app.post('/v1/admin/reprice', { config: { role: 'admin', docs: { tag: 'restatement', summary: 'Reprice stored events with the prices in force (idempotent; history kept)', body: repriceBody, errors: { 409: 'Another restatement run is in progress' } } } }, async (request) => {
    const body = validate(repriceBody, request.body);
    if (!body.ok) throw invalidRequest(body.issues, 'invalid repricing request');
    const { from, to, provider, model, dry_run: dryRun } = body.value;
    return reprice(clickhouse, deps.pricing.refresh(), { from, to, provider, model, dryRun }, deps.log).catch((err: unknown) => Promise.reject(busy(err)));
  });

  app.post('/v1/admin/reattribute', { config: { role: 'admin', docs: { tag: 'restatement', summary: 'Apply the attribution policy in force to stored events (idempotent; history kept)', body: reattributeBody, errors: { 409: 'Another restatement run is in progress, or the policy file does not load' } } } }, async (request) => {
    const body = validate(reattributeBody, request.body);
    if (!body.ok) throw invalidRequest(body.issues, 'invalid re-attribution request');
    const { from, to, dry_run: dryRun, ...given } = body.value;
    const policy = deps.policy.refresh();
    const failure = deps.policy.lastFailure;
    if (failure) {
      // The operator changed the policy to restate with it; restating with the previous one instead would mislead.
      throw new HttpError(409, 'policy_not_loaded', `the attribution policy on disk does not load (${failure.message}); fix it, or the re-attribution would use the previous version ${policy.version}`);
    }
    // Filters compare with stored values, which the policy normalized (environment=production finds prod).
    const filters = { ...given, team: given.team && (policy.normalize('team', given.team) ?? given.team), environment: given.environment && (policy.normalize('environment', given.environment) ?? given.environment) };
    const summary = await reattribute(clickhouse, policy, deps.pricing.refresh(), { from, to, filters, dryRun }, deps.log).catch((err: unknown) => Promise.reject(busy(err)));
    return { ...summary, policy_version: policy.version };
  });

  app.get('/v1/admin/restatements', { config: { role: 'admin', docs: { tag: 'restatement', summary: 'Every repricing and re-attribution run, latest first' } } }, async () => {
    const runs = await clickhouse.query({
      name: 'restatement_runs',
      sql: [
        'SELECT run_id, kind, status, toString(range_from) AS range_from, toString(range_to) AS range_to, filters,',
        '  price_version, policy_version, events_examined, events_changed, toString(updated_at) AS updated_at',
        'FROM {db:Identifier}.pricing_runs_v1 FINAL ORDER BY run_id DESC LIMIT 1000',
      ].join('\n'),
      schema: runRow,
    });
    return {
      runs: runs.map((run) => ({
        ...run,
        range_from: clickHouseTimeToIso(run.range_from),
        range_to: clickHouseTimeToIso(run.range_to),
        updated_at: clickHouseTimeToIso(run.updated_at),
        filters: JSON.parse(run.filters) as unknown,
        policy_version: orNull(run.policy_version),
      })),
    };
  });

  // /costs is the older name of the same history.
  for (const path of ['/v1/events/:event_id/history', '/v1/events/:event_id/costs']) {
    app.get<{ Params: { event_id: string } }>(path, { config: { role: 'reader', docs: { tag: 'restatement', summary: 'Every version of a stored event (ingest, each restatement) with its cost, owner and attribution lineage', errors: { 404: 'No stored event with this id (or not one the token may see)' } } } }, async (request) => {
      const access = accessCondition(request.dataScope);
      const rows = await clickhouse.query({
        name: 'event_history',
        sql: [
          "SELECT pricing_run, if(pricing_run = 0, 'ingest', r.kind) AS kind, sign, toString(cost) AS cost, toString(list_cost) AS list_cost,",
          '  cost_status, u.price_version AS price_version, catalog_model, contract_id, toString(priced_at) AS priced_at,',
          '  tenant_id, cost_center, team, feature, environment, attribution_status, attribution_policy, attribution_lineage',
          'FROM {db:Identifier}.usage_costs_v1 AS u',
          'LEFT JOIN (SELECT run_id, kind FROM {db:Identifier}.pricing_runs_v1 FINAL) AS r ON r.run_id = u.pricing_run',
          `WHERE event_id = {event_id:String} AND ${access.sql}`,
          'ORDER BY pricing_run, sign',
        ].join('\n'),
        params: { event_id: request.params.event_id, ...access.params },
        schema: historyRow,
      });
      if (rows.length === 0) throw new HttpError(404, 'not_found', `no stored event ${request.params.event_id}`);
      // Each +1 row is a version of the event; the last one is in force.
      const versions = rows.filter((row) => row.sign === 1).map((row) => ({
        pricing_run: row.pricing_run,
        kind: row.kind,
        priced_at: clickHouseTimeToIso(row.priced_at),
        cost: row.cost,
        list_cost: row.list_cost,
        cost_status: row.cost_status,
        price_version: row.price_version,
        catalog_model: orNull(row.catalog_model),
        contract_id: orNull(row.contract_id),
        attribution: {
          tenant_id: orNull(row.tenant_id),
          cost_center: orNull(row.cost_center),
          team: orNull(row.team),
          feature: orNull(row.feature),
          environment: orNull(row.environment),
          status: orNull(row.attribution_status),
          policy_version: orNull(row.attribution_policy),
          lineage: JSON.parse(row.attribution_lineage) as unknown,
        },
      }));
      return { event_id: request.params.event_id, currency: 'USD', current: versions.at(-1), history: versions };
    });
  }
}
