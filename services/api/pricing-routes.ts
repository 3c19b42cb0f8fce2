import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';
import { answerPriceRequest } from '../pricing/price-request.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import { reprice, RepriceBusyError } from '../pricing/repricing.ts';
import { validate } from '../validation/issues.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { HttpError, invalidRequest } from './http-errors.ts';

/** Most calls one POST /v1/price may carry. */
const MAX_PRICE_REQUESTS = 10_000;

const timestamp = rfc3339Timestamp;

const repriceBody = z
  .strictObject({
    from: timestamp,
    to: timestamp,
    provider: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    dry_run: z.boolean().default(false),
  })
  .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

const historyRow = z.object({
  pricing_run: z.coerce.number(),
  sign: z.coerce.number(),
  cost: z.string(),
  list_cost: z.string(),
  cost_status: z.string(),
  price_version: z.string(),
  catalog_model: z.string(),
  contract_id: z.string(),
  priced_at: z.string(),
});

/**
 * Pricing over HTTP: price calls like `spendline price` does (any role),
 * reprice stored events (admin), and read the cost history of an event (reader).
 */
export function registerPricingRoutes(app: FastifyInstance, deps: { pricing: PricingSource; clickhouse: ClickHouse | null; log: Logger }): void {
  app.post('/v1/price', { config: { role: 'reader' } }, async (request) => {
    const engine = deps.pricing.current();
    const now = Date.now();
    if (!Array.isArray(request.body)) return answerPriceRequest(engine, request.body, now);
    if (request.body.length > MAX_PRICE_REQUESTS) {
      throw new HttpError(413, 'batch_too_large', `at most ${MAX_PRICE_REQUESTS} calls per request; got ${request.body.length}`);
    }
    return request.body.map((item) => answerPriceRequest(engine, item, now));
  });

  const clickhouse = deps.clickhouse;
  if (!clickhouse) return;

  app.post('/v1/admin/reprice', { config: { role: 'admin' } }, async (request) => {
    const body = validate(repriceBody, request.body);
    if (!body.ok) throw invalidRequest(body.issues, 'invalid repricing request');
    try {
      return await reprice(
        clickhouse,
        deps.pricing.refresh(),
        { from: body.value.from, to: body.value.to, provider: body.value.provider, model: body.value.model, dryRun: body.value.dry_run },
        deps.log,
      );
    } catch (err) {
      if (err instanceof RepriceBusyError) throw new HttpError(409, 'reprice_running', err.message);
      throw err;
    }
  });

  app.get<{ Params: { event_id: string } }>('/v1/events/:event_id/costs', { config: { role: 'reader' } }, async (request) => {
    const rows = await clickhouse.query({
      name: 'event_cost_history',
      sql: [
        'SELECT pricing_run, sign, toString(cost) AS cost, toString(list_cost) AS list_cost, cost_status, price_version,',
        '  catalog_model, contract_id, toString(priced_at) AS priced_at',
        'FROM {db:Identifier}.usage_costs_v1 WHERE event_id = {event_id:String}',
        'ORDER BY pricing_run, sign',
      ].join('\n'),
      params: { event_id: request.params.event_id },
      schema: historyRow,
    });
    if (rows.length === 0) throw new HttpError(404, 'not_found', `no stored event ${request.params.event_id}`);
    // Each +1 row is a cost the event had; the last one is in force.
    const versions = rows.filter((row) => row.sign === 1).map((row) => ({
      pricing_run: row.pricing_run,
      priced_at: `${row.priced_at.replace(' ', 'T')}Z`,
      cost: row.cost,
      list_cost: row.list_cost,
      cost_status: row.cost_status,
      price_version: row.price_version,
      catalog_model: row.catalog_model || null,
      contract_id: row.contract_id || null,
    }));
    return { event_id: request.params.event_id, currency: 'USD', current: versions.at(-1), history: versions };
  });
}
