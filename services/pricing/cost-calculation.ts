import { add, scaleBy, sum, ZERO, type ExactDecimal } from '../money/exact-decimal.ts';
import type { UsageKey } from './catalog/catalog-schema.ts';
import type { CompiledPrice, CompiledPriceSet } from './model-prices.ts';

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

const PER_MILLION = 6;
const PER_THOUSAND = 3;

export function calculateCost(prices: CompiledPriceSet, usage: TokenUsage): CostResult {
  const has = (key: keyof CompiledPriceSet) => prices[key] !== undefined;
  const count = (key: UsageKey) => usage[key] ?? 0;

  if (has('cache_audio_read_mtok') && usage.cache_audio_read_tokens === undefined && count('cache_read_tokens') > 0 && count('input_audio_tokens') > 0) {
    return { ok: false, reason: 'cache_read_tokens and input_audio_tokens both reported: cache_audio_read_tokens is needed to price them apart' };
  }
  const car = has('cache_audio_read_mtok') ? count('cache_audio_read_tokens') : 0;
  const cr = has('cache_read_mtok') ? count('cache_read_tokens') - car : 0;
  const ia = has('input_audio_mtok') ? count('input_audio_tokens') - car : 0;
  const cw = has('cache_write_mtok') ? count('cache_write_tokens') : 0;
  const input = has('input_mtok') ? count('input_tokens') - cr - cw - ia - car : 0;
  const oa = has('output_audio_mtok') ? count('output_audio_tokens') : 0;
  const output = has('output_mtok') ? count('output_tokens') - oa : 0;

  if (cr < 0) return inconsistent('cache_audio_read_tokens', car, 'cache_read_tokens', count('cache_read_tokens'));
  if (ia < 0) return inconsistent('cache_audio_read_tokens', car, 'input_audio_tokens', count('input_audio_tokens'));
  if (input < 0) {
    return { ok: false, reason: `input_tokens (${count('input_tokens')}) is less than the cached, cache-write and audio tokens it must include (${cr + cw + ia + car})` };
  }
  if (output < 0) return inconsistent('output_audio_tokens', oa, 'output_tokens', count('output_tokens'));

  const totalInput = count('input_tokens');
  const breakdown: Partial<Record<CostClass, ExactDecimal>> = {};
  const line = (cls: CostClass, price: CompiledPrice | undefined, tokens: number) => {
    if (price !== undefined) breakdown[cls] = scaleBy(applicable(price, totalInput), BigInt(tokens), PER_MILLION);
  };
  line('input', prices.input_mtok, input);
  line('cache_read', prices.cache_read_mtok, cr);
  line('cache_write', prices.cache_write_mtok, cw);
  line('input_audio', prices.input_audio_mtok, ia);
  line('cache_audio_read', prices.cache_audio_read_mtok, car);
  line('output', prices.output_mtok, output);
  line('output_audio', prices.output_audio_mtok, oa);
  if (prices.requests_kcount !== undefined) breakdown.requests = scaleBy(applicable(prices.requests_kcount, totalInput), 1n, PER_THOUSAND);

  const inputCost = sum([breakdown.input, breakdown.cache_read, breakdown.cache_write, breakdown.input_audio, breakdown.cache_audio_read].map(orZero));
  const outputCost = add(orZero(breakdown.output), orZero(breakdown.output_audio));
  return { ok: true, cost: { breakdown, input: inputCost, output: outputCost, total: add(add(inputCost, outputCost), orZero(breakdown.requests)) } };
}

function applicable(price: CompiledPrice, totalInputTokens: number): ExactDecimal {
  if (price.kind === 'flat') return price.price;
  let chosen = price.base;
  for (const tier of price.tiers) if (totalInputTokens > tier.start) chosen = tier.price;
  return chosen;
}

function orZero(value: ExactDecimal | undefined): ExactDecimal {
  return value ?? ZERO;
}

function inconsistent(part: string, partCount: number, whole: string, wholeCount: number): CostResult {
  return { ok: false, reason: `${part} (${partCount}) cannot exceed ${whole} (${wholeCount})` };
}
