import type { ExactDecimal } from '../money/exact-decimal.ts';
import type { UsageKey } from './catalog/catalog-schema.ts';
import { PRICE_SCALE, type CompiledPrice, type CompiledPriceSet } from './model-prices.ts';

/**
 * The cost of one call under one price set, exactly as genai-prices defines it:
 *
 * - Token classes nest: input_tokens includes cache reads, cache writes and
 *   input audio; cache_audio_read is part of both cache reads and input
 *   audio; output_tokens includes output audio (and reasoning, never priced apart).
 * - Only classes the model prices are carved out of their parent; tokens of
 *   an unpriced class stay in the parent and are charged at its price.
 * - A tiered price is chosen by the request's total input_tokens (strictly
 *   above a tier's start) and applies to every token of that class.
 * - requests_kcount is a per-request fee, counted in the total only.
 */

export type TokenUsage = Partial<Record<UsageKey, number>>;

export const COST_CLASSES = ['input', 'cache_read', 'cache_write', 'input_audio', 'cache_audio_read', 'output', 'output_audio', 'requests'] as const;
export type CostClass = (typeof COST_CLASSES)[number];

export interface CostCalculation {
  /** Cost per class, for classes the model prices (zero-token classes included). */
  readonly breakdown: Readonly<Partial<Record<CostClass, ExactDecimal>>>;
  /** Every input-side class: plain input, cache read and write, input audio, cached audio. */
  readonly input: ExactDecimal;
  /** Output text (with reasoning) and output audio. */
  readonly output: ExactDecimal;
  /** input + output + the per-request fee. */
  readonly total: ExactDecimal;
}

export type CostResult = { readonly ok: true; readonly cost: CostCalculation } | { readonly ok: false; readonly reason: string };

/** Costs are prices (PRICE_SCALE decimals) times counts per million: PRICE_SCALE + 6 decimals, exact. */
export const COST_SCALE = PRICE_SCALE + 6;
/** A request fee is per thousand requests: its units are scaled up by 1000 to COST_SCALE. */
const PER_THOUSAND_TO_COST = 1000n;

export function calculateCost(prices: CompiledPriceSet, usage: TokenUsage): CostResult {
  const carPriced = prices.cache_audio_read_mtok !== undefined;
  if (carPriced && usage.cache_audio_read_tokens === undefined && (usage.cache_read_tokens ?? 0) > 0 && (usage.input_audio_tokens ?? 0) > 0) {
    return { ok: false, reason: 'cache_read_tokens and input_audio_tokens both reported: cache_audio_read_tokens is needed to price them apart' };
  }
  const car = carPriced ? (usage.cache_audio_read_tokens ?? 0) : 0;
  const cr = prices.cache_read_mtok !== undefined ? (usage.cache_read_tokens ?? 0) - car : 0;
  const ia = prices.input_audio_mtok !== undefined ? (usage.input_audio_tokens ?? 0) - car : 0;
  const cw = prices.cache_write_mtok !== undefined ? (usage.cache_write_tokens ?? 0) : 0;
  const totalInput = usage.input_tokens ?? 0;
  const input = prices.input_mtok !== undefined ? totalInput - cr - cw - ia - car : 0;
  const oa = prices.output_audio_mtok !== undefined ? (usage.output_audio_tokens ?? 0) : 0;
  const output = prices.output_mtok !== undefined ? (usage.output_tokens ?? 0) - oa : 0;

  if (cr < 0) return inconsistent('cache_audio_read_tokens', car, 'cache_read_tokens', usage.cache_read_tokens ?? 0);
  if (ia < 0) return inconsistent('cache_audio_read_tokens', car, 'input_audio_tokens', usage.input_audio_tokens ?? 0);
  if (input < 0) {
    return { ok: false, reason: `input_tokens (${totalInput}) is less than the cached, cache-write and audio tokens it must include (${cr + cw + ia + car})` };
  }
  if (output < 0) return inconsistent('output_audio_tokens', oa, 'output_tokens', usage.output_tokens ?? 0);

  const breakdown: Partial<Record<CostClass, ExactDecimal>> = {};
  const inputUnits =
    line(breakdown, 'input', prices.input_mtok, input, totalInput) +
    line(breakdown, 'cache_read', prices.cache_read_mtok, cr, totalInput) +
    line(breakdown, 'cache_write', prices.cache_write_mtok, cw, totalInput) +
    line(breakdown, 'input_audio', prices.input_audio_mtok, ia, totalInput) +
    line(breakdown, 'cache_audio_read', prices.cache_audio_read_mtok, car, totalInput);
  const outputUnits = line(breakdown, 'output', prices.output_mtok, output, totalInput) + line(breakdown, 'output_audio', prices.output_audio_mtok, oa, totalInput);
  let feeUnits = 0n;
  if (prices.requests_kcount !== undefined) {
    // One request per call, at the price per thousand requests.
    feeUnits = applicable(prices.requests_kcount, totalInput).units * PER_THOUSAND_TO_COST;
    breakdown.requests = { units: feeUnits, scale: COST_SCALE };
  }
  return {
    ok: true,
    cost: {
      breakdown,
      input: { units: inputUnits, scale: COST_SCALE },
      output: { units: outputUnits, scale: COST_SCALE },
      total: { units: inputUnits + outputUnits + feeUnits, scale: COST_SCALE },
    },
  };
}

/** Records and returns the cost of one class (0 when the model does not price it). */
function line(breakdown: Partial<Record<CostClass, ExactDecimal>>, cls: CostClass, price: CompiledPrice | undefined, tokens: number, totalInput: number): bigint {
  if (price === undefined) return 0n;
  const units = tokens === 0 ? 0n : applicable(price, totalInput).units * BigInt(tokens);
  breakdown[cls] = { units, scale: COST_SCALE };
  return units;
}

function applicable(price: CompiledPrice, totalInputTokens: number): ExactDecimal {
  if (price.kind === 'flat') return price.price;
  let chosen = price.base;
  for (const tier of price.tiers) if (totalInputTokens > tier.start) chosen = tier.price;
  return chosen;
}

function inconsistent(part: string, partCount: number, whole: string, wholeCount: number): CostResult {
  return { ok: false, reason: `${part} (${partCount}) cannot exceed ${whole} (${wholeCount})` };
}
