import { validate } from '@spendline/emitter/field-issues';
import { usageEventJson } from '@spendline/emitter/usage-event';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { attributeEvent } from '../attribution/attribute-event.ts';
import { AttributionPolicy } from '../attribution/attribution-policy.ts';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { decimalUnits, shareOf } from '../money/decimal.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { buildAttributionQualityQuery, buildUnattributedSourcesQuery, QUALITY_DIMENSIONS, QUALITY_STATUSES, type QualityStatus } from './attribution-quality-query.ts';
import { environmentParameter, scopeCondition } from './environment-scope.ts';
import { invalidRequest } from './http-errors.ts';
import { withAccess } from './row-access.ts';
import { dimensionCells, dimensionList, reportHeading } from './report-routes.ts';

/** Most sample events POST /v1/admin/attribution/policy/validate attributes. */
const MAX_SAMPLE_EVENTS = 100;

const qualityQuery = z
  .object({
    from: rfc3339Timestamp,
    to: rfc3339Timestamp,
    group_by: dimensionList(QUALITY_DIMENSIONS, 'gateway_id,team,environment'),
    environment: environmentParameter,
    top: z.coerce.number().int().min(0).max(100).default(10),
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const qualityRow = z.record(z.string(), z.union([z.string(), z.number()]));
const sourceRow = z.object({ gateway_id: z.string(), api_key_id: z.string(), missing_dimensions: z.string(), source_events: z.coerce.number(), source_cost: z.string() });

const validateBody = z.strictObject({
  policy: z.unknown().refine((value) => value !== undefined, 'is required: the candidate policy, as its JSON file holds it'),
  events: z.array(z.unknown()).max(MAX_SAMPLE_EVENTS, `must hold at most ${MAX_SAMPLE_EVENTS} sample events`).default([]),
});

/**
 * Attribution over HTTP: the quality report (reader) and the policy (admin):
 * the one in force, and a check of a candidate before it is committed,
 * optionally showing how it would attribute sample events.
 */
export function registerAttributionRoutes(app: FastifyInstance, deps: { policy: PolicySource; clickhouse: ClickHouse | null }): void {
  app.get('/v1/admin/attribution/policy', { config: { role: 'admin', docs: { tag: 'attribution', summary: 'The attribution policy in force, its version, when it loaded, and the last failed reload' } } }, async () => {
    const policy = deps.policy.current();
    const failure = deps.policy.lastFailure;
    return {
      version: policy.version,
      file: deps.policy.file,
      loaded_at: new Date(deps.policy.loadedAt).toISOString(),
      // A broken edit on disk is not in force; say so, or the operator would think it is.
      last_failed_reload: failure ? { at: new Date(failure.at).toISOString(), message: failure.message } : null,
      policy: policy.source,
    };
  });

  app.post('/v1/admin/attribution/policy/validate', { config: { role: 'admin', docs: { tag: 'attribution', summary: 'Check a candidate policy and show how it would attribute sample events', body: validateBody, errors: { 422: 'The candidate policy is invalid: every issue listed' } } } }, async (request, reply) => {
    const body = validate(validateBody, request.body);
    if (!body.ok) throw invalidRequest(body.issues, 'invalid validation request');
    const checked = AttributionPolicy.check(body.value.policy, 'candidate');
    if (!checked.ok) {
      return reply.status(422).send({ valid: false, error: { code: 'invalid_policy', message: 'the policy is invalid', issues: checked.issues.map((issue) => ({ ...issue, path: `policy${issue.path ? `.${issue.path}` : ''}` })) } });
    }
    const policy = checked.policy;
    return {
      valid: true,
      version: policy.version,
      rules: policy.rules.length,
      requirements: policy.requirements.length,
      samples: body.value.events.map((raw, index) => {
        const event = validate(usageEventJson, raw, ['events', index]);
        if (!event.ok) return { index, valid: false, issues: event.issues };
        const attributed = attributeEvent(policy, event.value);
        return {
          index,
          valid: true,
          event_id: event.value.event_id,
          outcome: attributed.rejection ? 'rejected' : 'accepted',
          ...(attributed.rejection ? { issues: attributed.rejection } : {}),
          attribution: attributed.attribution,
          resolved: Object.fromEntries([...(['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id'] as const).map((field) => [field, attributed.event[field]]), ['tags', attributed.event.tags]]),
        };
      }),
    };
  });

  const clickhouse = deps.clickhouse;
  if (!clickhouse) return;

  app.get('/v1/reports/attribution-quality', { config: { role: 'reader', csv: { rows: 'rows', name: 'attribution-quality' }, docs: { tag: 'attribution', summary: 'Share of events and cost fully attributed, fixed by a rule, defaulted or unattributed, and the top unattributed sources', query: qualityQuery } } }, async (request) => {
    const query = validate(qualityQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid report parameters');
    const { from, to, group_by: groupBy, top } = query.value;
    const scope = withAccess(scopeCondition(query.value.environment, deps.policy.current()), request.dataScope);
    const built = buildAttributionQualityQuery({ from, to, groupBy, scope });
    const sources = buildUnattributedSourcesQuery({ from, to, groupBy, scope }, top);
    const [rows, topSources] = await Promise.all([
      clickhouse.query({ name: 'attribution_quality', sql: built.sql, params: built.params, schema: qualityRow }),
      top > 0 ? clickhouse.query({ name: 'unattributed_sources', sql: sources.sql, params: sources.params, schema: sourceRow }) : Promise.resolve([]),
    ]);
    return {
      ...reportHeading({ from, to }, groupBy, scope),
      rows: rows.map((row) => {
        const events = Number(row['total_events']);
        const cost = String(row['total_cost_all']);
        return {
          ...dimensionCells(groupBy, row),
          events,
          cost,
          ...Object.fromEntries(
            (Object.keys(QUALITY_STATUSES) as QualityStatus[]).map((status) => {
              const statusEvents = Number(row[`events_${status}`]);
              const statusCost = String(row[`cost_${status}`]);
              return [status, { events: statusEvents, cost: statusCost, event_share: shareOf(BigInt(statusEvents), BigInt(events)), cost_share: shareOf(decimalUnits(statusCost), decimalUnits(cost)) }];
            }),
          ),
        };
      }),
      top_unattributed_sources: topSources.map((source) => ({
        gateway_id: source.gateway_id || null,
        api_key_id: source.api_key_id || null,
        missing_dimensions: source.missing_dimensions === '' ? [] : source.missing_dimensions.split(','),
        events: source.source_events,
        cost: source.source_cost,
      })),
    };
  });
}
