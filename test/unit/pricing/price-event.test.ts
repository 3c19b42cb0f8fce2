import { describe, expect, it } from 'vitest';
import type { UsageEventRecord } from '../../../services/events/usage-event.ts';
import { BUILTIN_PRICE_VERSION, BUILTIN_PRICES } from '../../../services/pricing/builtin-prices.ts';
import { findModelPrice, priceEvent } from '../../../services/pricing/price-event.ts';
import { minimalUsageEventRecord } from '../../fixtures/usage-event-examples.ts';

const event = (overrides: Partial<UsageEventRecord>): UsageEventRecord => minimalUsageEventRecord(overrides);

describe('priceEvent', () => {
  // Prices are USD per million tokens; cost = Σ tokens × price / 1e6, exact.
  it.each<[string, Partial<UsageEventRecord>, string]>([
    [
      // gpt-4o: input 2.5, output 10. 1000 × 2.5 + 500 × 10 = 2500 + 5000 = 7500 → 7500 / 1e6
      'plain input and output',
      { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, output_tokens: 500 },
      '0.0075',
    ],
    [
      // gpt-4o: 800 uncached × 2.5 + 200 cached × 1.25 + 500 × 10 = 2000 + 250 + 5000 = 7250 → 0.00725
      // (double counting the cached tokens at input price would give 7750 → 0.00775)
      'cached input at the cache-read price, taken out of plain input',
      { provider: 'openai', model: 'gpt-4o', input_tokens: 1000, cache_read_tokens: 200, output_tokens: 500 },
      '0.00725',
    ],
    [
      // claude-sonnet-4: input 3, cache read 0.3, cache write 3.75, output 15.
      // 2000 × 3 + 6000 × 0.3 + 2000 × 3.75 + 1000 × 15 = 6000 + 1800 + 7500 + 15000 = 30300 → 0.0303
      // (reasoning tokens are part of output_tokens and not added again)
      'cache read and cache write on Anthropic',
      { provider: 'anthropic', model: 'claude-sonnet-4', input_tokens: 10_000, cache_read_tokens: 6000, cache_write_tokens: 2000, output_tokens: 1000, reasoning_tokens: 400 },
      '0.0303',
    ],
    [
      // gpt-4o has no cache-write price: 2000 written at input price. 3000 × 2.5 = 7500 → 0.0075
      'cache write without its own price at the input price',
      { provider: 'openai', model: 'gpt-4o', input_tokens: 3000, cache_write_tokens: 2000 },
      '0.0075',
    ],
    [
      // text-embedding-3-small: input 0.02, output 0, no cache price. 12345 × 0.02 = 246.9 → 0.0002469
      'an embedding, whose cached tokens fall back to the input price',
      { provider: 'openai', model: 'text-embedding-3-small', operation: 'embedding', input_tokens: 12_345, cache_read_tokens: 345 },
      '0.0002469',
    ],
    [
      // o4-mini: input 1.1, output 4.4, audio is part of input. 1 × 1.1 + 1 × 4.4 = 5.5 → 0.0000055
      'one token each way, audio priced as input',
      { provider: 'openai', model: 'o4-mini', input_tokens: 1, input_audio_tokens: 1, output_tokens: 1, output_audio_tokens: 1 },
      '0.0000055',
    ],
    [
      // gpt-4.1-nano cache read 0.025: 1 × 0.025 = 0.025 → 0.000000025
      'a single cached token, far below a cent',
      { provider: 'openai', model: 'gpt-4.1-nano', input_tokens: 1, cache_read_tokens: 1 },
      '0.000000025',
    ],
    [
      // claude-opus-4: 10^9 × 15 + 10^9 × 75 = 9 × 10^10 → 90000
      'a billion tokens each way, exactly',
      { provider: 'anthropic', model: 'claude-opus-4', input_tokens: 1_000_000_000, output_tokens: 1_000_000_000 },
      '90000',
    ],
    ['no tokens at all', { provider: 'google', model: 'gemini-2.5-flash' }, '0'],
  ])('prices %s', (_what, overrides, cost) => {
    expect(priceEvent(event(overrides))).toEqual({ status: 'priced', cost, priceVersion: BUILTIN_PRICE_VERSION });
  });

  it.each([
    ['openai', 'gpt-5-ultra', 'no price for model gpt-5-ultra of provider openai'],
    ['mistral', 'mistral-large', 'no price for model mistral-large of provider mistral'],
    // The price table is keyed by the normalised (lower-case) provider.
    ['OpenAI', 'gpt-4o', 'no price for model gpt-4o of provider OpenAI'],
    // A model of another provider is not priced by name alone.
    ['anthropic', 'gpt-4o', 'no price for model gpt-4o of provider anthropic'],
  ])('leaves %s %s unpriced with a reason', (provider, model, reason) => {
    expect(priceEvent(event({ provider, model, input_tokens: 10 }))).toEqual({ status: 'unpriced', reason, priceVersion: BUILTIN_PRICE_VERSION });
  });
});

describe('findModelPrice', () => {
  const openai = BUILTIN_PRICES['openai']!;
  const anthropic = BUILTIN_PRICES['anthropic']!;
  const google = BUILTIN_PRICES['google']!;

  it.each([
    ['openai', 'gpt-4o', openai['gpt-4o']],
    ['openai', 'gpt-4o-2024-08-06', openai['gpt-4o']],
    // Longest match wins: gpt-4o-mini, not gpt-4o.
    ['openai', 'gpt-4o-mini-2024-07-18', openai['gpt-4o-mini']],
    ['openai', 'gpt-4.1-mini-2025-04-14', openai['gpt-4.1-mini']],
    ['openai', 'o4-mini-2025-04-16', openai['o4-mini']],
    ['anthropic', 'claude-sonnet-4-20250514', anthropic['claude-sonnet-4']],
    ['anthropic', 'claude-3-5-haiku-20241022', anthropic['claude-3-5-haiku']],
    ['google', 'gemini-2.0-flash-001', google['gemini-2.0-flash']],
  ])('%s %s has the price of its base id', (provider, model, price) => {
    expect(price).toBeDefined();
    expect(findModelPrice(provider, model)).toBe(price);
  });

  it.each([
    // Other models sharing a prefix are priced differently; they must not borrow the base price.
    ['openai', 'o3-pro'],
    ['openai', 'o3-mini'],
    ['openai', 'gpt-4o-audio-preview'],
    ['google', 'gemini-2.5-flash-lite'],
    // A prefix without the dash separator is another id altogether.
    ['openai', 'gpt-4omega'],
    ['openai', 'gpt-4'],
    ['openai', 'gpt-4o-'],
  ])('%s %s has no price', (provider, model) => {
    expect(findModelPrice(provider, model)).toBeUndefined();
  });

  it('prices a dated snapshot like its base model', () => {
    const tokens = { input_tokens: 1_000_000, output_tokens: 1_000_000 };
    // gpt-4o-mini: 0.15 + 0.6 = 0.75 (gpt-4o's prices would give 2.5 + 10 = 12.5)
    expect(priceEvent(event({ model: 'gpt-4o-mini-2024-07-18', ...tokens }))).toMatchObject({ status: 'priced', cost: '0.75' });
  });
});
