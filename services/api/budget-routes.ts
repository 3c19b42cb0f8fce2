import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import { budgetDefinition } from '../budgets/budget.ts';
import type { BudgetEvaluator, EvaluatedBudget } from '../budgets/budget-evaluator.ts';
import { BudgetVersionConflict, type BudgetStore } from '../budgets/budget-store.ts';
import type { AlertStore } from '../alerts/alert-store.ts';
import { COST_DIMENSIONS, isTagDimension } from './cost-report-query.ts';
import { HttpError, invalidRequest } from './http-errors.ts';
import { actorOf } from './request-actor.ts';

const ifMatch = z.coerce.number({ message: 'must be the version number you read' }).int().min(0).optional();
/** A gateway's call: any dimension (team, feature, environment, api_key_id, ...) or tag:<key> as a parameter. */
const statusQuery = z.record(z.string(), z.unknown()).transform((query) =>
  Object.fromEntries(
    Object.entries(query).filter(([key, value]) => ((COST_DIMENSIONS as readonly string[]).includes(key) || isTagDimension(key)) && typeof value === 'string' && value !== ''),
  ) as Record<string, string>,
);

/**
 * Budgets over HTTP: create, change and delete (admin; every version kept with
 * who made it), read with where each stands (reader), and the enforcement
 * decision a gateway asks for before a call (ingest role: the gateway's token).
 */
export function registerBudgetRoutes(app: FastifyInstance, deps: { store: BudgetStore; evaluator: BudgetEvaluator; alerts: AlertStore; policy: PolicySource }): void {
  const { store, evaluator } = deps;
  const describe = ({ version, budget, evaluation }: EvaluatedBudget) => ({ ...budget, version: version.version, changed_at: version.changed_at, changed_by: version.actor, status: evaluation });

  const write = async (request: FastifyRequest, id: string, body: unknown | null) => {
    const expected = validate(ifMatch, request.headers['if-match']);
    if (!expected.ok) throw invalidRequest(expected.issues.map((issue) => ({ ...issue, path: 'if-match' })), 'invalid If-Match header');
    let definition = null;
    if (body !== null) {
      const checked = validate(budgetDefinition, body);
      if (!checked.ok) throw invalidRequest(checked.issues, 'invalid budget');
      if (checked.value.id !== id) throw invalidRequest([{ path: 'id', message: `must be ${id}, the id in the path` }], 'invalid budget');
      definition = checked.value;
    }
    try {
      const version = await store.write(id, definition, actorOf(request), expected.value);
      evaluator.invalidate();
      return version;
    } catch (err) {
      if (err instanceof BudgetVersionConflict) throw new HttpError(409, 'version_conflict', err.message);
      throw err;
    }
  };

  app.post('/v1/budgets', { config: { role: 'admin', docs: { tag: 'budgets', summary: 'Create a budget', body: budgetDefinition, responses: { 201: 'Created: the budget at version 1' }, errors: { 409: 'A budget with this id exists (change it with PUT)' } } } }, async (request, reply) => {
    const checked = validate(budgetDefinition, request.body);
    if (!checked.ok) throw invalidRequest(checked.issues, 'invalid budget');
    const { id } = checked.value;
    if (await store.get(id)) throw new HttpError(409, 'exists', `budget ${id} exists; change it with PUT /v1/budgets/${id}`);
    const version = await write(request, id, request.body);
    return reply.status(201).send(version);
  });

  app.put<{ Params: { id: string } }>('/v1/budgets/:id', { config: { role: 'admin', docs: { tag: 'budgets', summary: 'Create or change a budget (If-Match: the version read, to refuse a concurrent change)', body: budgetDefinition, errors: { 409: 'The budget changed since the version in If-Match' } } } }, async (request) =>
    write(request, request.params.id, request.body),
  );

  app.delete<{ Params: { id: string } }>('/v1/budgets/:id', { config: { role: 'admin', docs: { tag: 'budgets', summary: 'Delete a budget (its history stays)', errors: { 404: 'No such budget' } } } }, async (request) => {
    if (!(await store.get(request.params.id))) throw new HttpError(404, 'not_found', `no budget ${request.params.id}`);
    return write(request, request.params.id, null);
  });

  app.get('/v1/budgets', { config: { role: 'reader', docs: { tag: 'budgets', summary: 'Every budget with its spend, share used, forecast and state in the current period' } } }, async () => ({
    budgets: (await evaluator.all()).map(describe),
  }));

  app.get('/v1/budgets/status', { config: { role: 'ingest', docs: { tag: 'budgets', summary: 'For a call with these attributes (team, feature, environment, api_key_id, tag:<key>, ...): allow, block, or downgrade to which model', query: statusQuery } } }, async (request) => {
    const attributes = validate(statusQuery, request.query);
    if (!attributes.ok) throw invalidRequest(attributes.issues, 'invalid status request');
    return evaluator.decide(attributes.value, deps.policy.current());
  });

  app.get<{ Params: { id: string } }>('/v1/budgets/:id', { config: { role: 'reader', docs: { tag: 'budgets', summary: 'One budget with where it stands', errors: { 404: 'No such budget' } } } }, async (request) => {
    const found = (await evaluator.all()).find(({ budget }) => budget.id === request.params.id);
    if (!found) throw new HttpError(404, 'not_found', `no budget ${request.params.id}`);
    return describe(found);
  });

  app.get<{ Params: { id: string } }>('/v1/budgets/:id/alerts', { config: { role: 'reader', docs: { tag: 'budgets', summary: "A budget's alert history (firing, resolved), latest first, with each channel's delivery" } } }, async (request) => {
    const alerts = await deps.alerts.history(request.params.id);
    const deliveries = await deps.alerts.deliveries([...new Set(alerts.map((alert) => alert.alert_id))]);
    return {
      budget_id: request.params.id,
      alerts: alerts.map((alert) => ({ ...alert, occurred_at: new Date(alert.occurred_at).toISOString(), deliveries: deliveries.filter((d) => d.alert_id === alert.alert_id && d.state === alert.state) })),
    };
  });

  app.get<{ Params: { id: string } }>('/v1/budgets/:id/history', { config: { role: 'reader', docs: { tag: 'budgets', summary: 'Every version of a budget: what changed, who changed it, when', errors: { 404: 'No such budget, ever' } } } }, async (request) => {
    const versions = await store.history(request.params.id);
    if (versions.length === 0) throw new HttpError(404, 'not_found', `no budget ${request.params.id}`);
    return { budget_id: request.params.id, versions };
  });
}
