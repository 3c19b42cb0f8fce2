import type { UsageEventRecord } from '../events/usage-event.ts';
import { decimalUnits, divideRoundHalfEven, formatDecimal } from '../money/decimal.ts';
import { BUILTIN_PRICES, BUILTIN_PRICE_VERSION, type ModelPrice } from './builtin-prices.ts';

export type PricingResult =
  | { readonly status: 'priced'; readonly cost: string; readonly priceVersion: string }
  | { readonly status: 'unpriced'; readonly reason: string; readonly priceVersion: string };

const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/**
 * What may follow a known id in a snapshot of the same model: a date
 * ("2024-08-06", "20250514") or a version number ("001"). Any other suffix
 * names another model ("o3-pro", "gemini-2.5-flash-lite"), priced differently.
 */
const SNAPSHOT_SUFFIX = /^(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/;

/** Finds the price of a model: exact id first, else the longest known id of which it is a snapshot ("gpt-4o-2024-08-06" → "gpt-4o"). */
export function findModelPrice(provider: string, model: string): ModelPrice | undefined {
  const models = BUILTIN_PRICES[provider];
  if (!models) return undefined;
  const exact = models[model];
  if (exact) return exact;
  const base = Object.keys(models).find((id) => model.startsWith(`${id}-`) && SNAPSHOT_SUFFIX.test(model.slice(id.length + 1)));
  return base === undefined ? undefined : models[base];
}

/**
 * Prices an event exactly: each token class times its price per million,
 * summed in 10^-12 USD units, rounded half-to-even once at the end. Cached
 * tokens are parts of input_tokens, so they are taken out of the
 * plain-input count rather than added on top.
 */
export function priceEvent(event: UsageEventRecord): PricingResult {
  const price = findModelPrice(event.provider, event.model);
  if (!price) {
    return { status: 'unpriced', reason: `no price for model ${event.model} of provider ${event.provider}`, priceVersion: BUILTIN_PRICE_VERSION };
  }
  const input = decimalUnits(price.input);
  const lines: [number, bigint][] = [
    [event.input_tokens - event.cache_read_tokens - event.cache_write_tokens, input],
    [event.cache_read_tokens, price.cacheRead === undefined ? input : decimalUnits(price.cacheRead)],
    [event.cache_write_tokens, price.cacheWrite === undefined ? input : decimalUnits(price.cacheWrite)],
    [event.output_tokens, decimalUnits(price.output)],
  ];
  const scaled = lines.reduce((sum, [tokens, perMillion]) => sum + BigInt(tokens) * perMillion, 0n);
  return { status: 'priced', cost: formatDecimal(divideRoundHalfEven(scaled, TOKENS_PER_PRICE_UNIT)), priceVersion: BUILTIN_PRICE_VERSION };
}
