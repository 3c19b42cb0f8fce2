import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { formatExact } from '../money/exact-decimal.ts';
import type { PricingEngine } from './pricing-engine.ts';

/**
 * The contract of `spendline price` and POST /v1/price: one object per call,
 * the provider's raw response (or its usage object) in `body`, and an answer
 * with exact decimal costs or a one-line error. Costs are the catalog's list
 * prices; when a contract applies, its effective cost is added beside them.
 */

export const priceRequest = z.strictObject({
  provider: z.string().trim().min(1, 'must name the catalog provider, e.g. openai, anthropic, google, aws, azure'),
  api_flavor: z.string().min(1).optional(),
  body: z.unknown().refine((value) => value !== undefined, 'is required: the provider response JSON or its usage object'),
  model: z.string().trim().min(1).optional(),
  at: z.iso.datetime({ offset: true, message: 'must be an ISO-8601 time with a zone, e.g. 2026-11-23T10:15:00Z' }).optional(),
  team: z.string().optional(),
  environment: z.string().optional(),
});
export type PriceRequest = z.input<typeof priceRequest>;

export type PriceAnswer =
  | {
      input_cost: string;
      output_cost: string;
      total_cost: string;
      currency: 'USD';
      model: string;
      price_version: string;
      usage: Record<string, number>;
      effective?: { input_cost: string; output_cost: string; total_cost: string; contract_id: string };
    }
  | { error: string };

export function answerPriceRequest(engine: PricingEngine, input: unknown, now: number): PriceAnswer {
  const checked = validate(priceRequest, input);
  if (!checked.ok) return { error: checked.issues.map((issue) => `${issue.path || 'request'}: ${issue.message}`).join('; ') };
  const request = checked.value;
  const outcome = engine.price({
    provider: request.provider,
    apiFlavor: request.api_flavor ?? 'default',
    body: request.body,
    model: request.model ?? null,
    at: request.at ? Date.parse(request.at) : now,
    team: request.team ?? null,
    environment: request.environment ?? null,
  });
  if (!outcome.ok) return { error: outcome.message };
  const answer: PriceAnswer = {
    input_cost: formatExact(outcome.list.input),
    output_cost: formatExact(outcome.list.output),
    total_cost: formatExact(outcome.list.total),
    currency: 'USD',
    model: outcome.model,
    price_version: outcome.priceVersion,
    usage: { ...outcome.usage } as Record<string, number>,
  };
  if (outcome.contractId !== null) {
    answer.effective = {
      input_cost: formatExact(outcome.effective.input),
      output_cost: formatExact(outcome.effective.output),
      total_cost: formatExact(outcome.effective.total),
      contract_id: outcome.contractId,
    };
  }
  return answer;
}
