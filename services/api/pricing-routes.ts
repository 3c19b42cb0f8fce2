import type { FastifyInstance } from 'fastify';
import { answerPriceRequest } from '../pricing/price-request.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import { HttpError } from './http-errors.ts';

/** Most calls one POST /v1/price may carry. */
const MAX_PRICE_REQUESTS = 10_000;

/** Pricing over HTTP: price calls like `spendline price` does (role reader). Restating stored events is in restatement-routes.ts. */
export function registerPricingRoutes(app: FastifyInstance, deps: { pricing: PricingSource }): void {
  app.post('/v1/price', { config: { role: 'reader' } }, async (request) => {
    const engine = deps.pricing.current();
    const now = Date.now();
    if (!Array.isArray(request.body)) return answerPriceRequest(engine, request.body, now);
    if (request.body.length > MAX_PRICE_REQUESTS) {
      throw new HttpError(413, 'batch_too_large', `at most ${MAX_PRICE_REQUESTS} calls per request; got ${request.body.length}`);
    }
    return request.body.map((item) => answerPriceRequest(engine, item, now));
  });
}
