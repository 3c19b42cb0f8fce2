import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { answerPriceRequest, priceRequest } from '../pricing/price-request.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import { HttpError } from './http-errors.ts';

/** Most calls one POST /v1/price may carry. */
const MAX_PRICE_REQUESTS = 10_000;

/** Pricing over HTTP: price calls like `spendline price` does (role reader). Restating stored events is in restatement-routes.ts. */
export function registerPricingRoutes(app: FastifyInstance, deps: { pricing: PricingSource }): void {
  const docs = {
    tag: 'pricing',
    summary: 'Price calls from their raw provider usage, one or an array (answers in order; an unpriceable call answers {"error"})',
    body: z.union([priceRequest, z.array(priceRequest)]),
    errors: { 413: `More than ${MAX_PRICE_REQUESTS} calls` },
  };
  app.post('/v1/price', { config: { role: 'reader', docs } }, async (request) => {
    const engine = deps.pricing.current();
    const now = Date.now();
    if (!Array.isArray(request.body)) return answerPriceRequest(engine, request.body, now);
    if (request.body.length > MAX_PRICE_REQUESTS) {
      throw new HttpError(413, 'batch_too_large', `at most ${MAX_PRICE_REQUESTS} calls per request; got ${request.body.length}`);
    }
    return request.body.map((item) => answerPriceRequest(engine, item, now));
  });
}
