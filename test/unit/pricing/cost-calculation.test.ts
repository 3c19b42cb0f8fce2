import { describe, expect, it } from 'vitest';
import { formatExact } from '../../../services/money/exact-decimal.ts';
import type { PriceSetData } from '../../../services/pricing/catalog/catalog-schema.ts';
import { calculateCost, type CostCalculation, type TokenUsage } from '../../../services/pricing/cost-calculation.ts';
import { compilePriceSet } from '../../../services/pricing/model-prices.ts';

function cost(prices: PriceSetData, usage: TokenUsage): CostCalculation {
  const result = calculateCost(compilePriceSet(prices), usage);
  if (!result.ok) throw new Error(`expected a cost, got: ${result.reason}`);
  return result.cost;
}

/** input / output / total as exact decimal text. */
function split(prices: PriceSetData, usage: TokenUsage): [string, string, string] {
  const result = cost(prices, usage);
  return [formatExact(result.input), formatExact(result.output), formatExact(result.total)];
}

function breakdown(prices: PriceSetData, usage: TokenUsage): Record<string, string> {
  return Object.fromEntries(Object.entries(cost(prices, usage).breakdown).map(([cls, value]) => [cls, formatExact(value!)]));
}

// Catalog prices (USD per million tokens) of the models the spec's examples use.
const GEMINI_25_FLASH: PriceSetData = { input_mtok: '0.3', cache_read_mtok: '0.03', output_mtok: '2.5', input_audio_mtok: '1', cache_audio_read_mtok: '0.1' };
const GPT_4O_REALTIME: PriceSetData = { input_mtok: '5', cache_read_mtok: '2.5', output_mtok: '20', input_audio_mtok: '40', cache_audio_read_mtok: '2.5', output_audio_mtok: '80' };
const GPT_4O_AUDIO: PriceSetData = { input_mtok: '2.5', output_mtok: '10', input_audio_mtok: '2.5' };
const CLAUDE_SONNET_45: PriceSetData = {
  input_mtok: { base: '3', tiers: [{ start: 200000, price: '6' }] },
  cache_write_mtok: { base: '3.75', tiers: [{ start: 200000, price: '7.5' }] },
  cache_read_mtok: { base: '0.3', tiers: [{ start: 200000, price: '0.6' }] },
  output_mtok: { base: '15', tiers: [{ start: 200000, price: '22.5' }] },
};
const SONAR: PriceSetData = { input_mtok: '1', output_mtok: '1', requests_kcount: '12' };

describe('leaf decomposition: only priced classes are carved out of their parent', () => {
  it.each<[string, PriceSetData, TokenUsage, [string, string, string]]>([
    // spec test_unlisted_unit_is_zero: 1M × 2 (cache reads stay in input) + 1M × 4 = 6
    ['unpriced cache read is charged at the input rate', { input_mtok: '2', output_mtok: '4' }, { input_tokens: 1_000_000, cache_read_tokens: 500_000, output_tokens: 1_000_000 }, ['2', '4', '6']],
    // IN 500k × 2 = 1, CR 500k × 0.5 = 0.25; OUT 1M × 4 = 4
    ['priced cache read is carved out', { input_mtok: '2', cache_read_mtok: '0.5', output_mtok: '4' }, { input_tokens: 1_000_000, cache_read_tokens: 500_000, output_tokens: 1_000_000 }, ['1.25', '4', '5.25']],
    // IN 8000 × 3 = 0.024, CW 2000 × 3.75 = 0.0075; OUT 100 × 15 = 0.0015
    ['priced cache write is carved out', { input_mtok: '3', cache_write_mtok: '3.75', output_mtok: '15' }, { input_tokens: 10_000, cache_write_tokens: 2_000, output_tokens: 100 }, ['0.0315', '0.0015', '0.033']],
    // IN 10000 × 3 = 0.03; OUT 100 × 15 = 0.0015
    ['unpriced cache write stays in input', { input_mtok: '3', output_mtok: '15' }, { input_tokens: 10_000, cache_write_tokens: 2_000, output_tokens: 100 }, ['0.03', '0.0015', '0.0315']],
    // spec groq llama-3.1-8b-instant: IN 1000 × 0.05 = 0.00005; OUT 10 × 0.08 = 0.0000008
    ['groq without a cache price', { input_mtok: '0.05', output_mtok: '0.08' }, { input_tokens: 1000, cache_read_tokens: 400, output_tokens: 10 }, ['0.00005', '0.0000008', '0.0000508']],
    // spec gemini-2.5-flash: IN 4000 × 0.3 + CR 3000 × 0.03 + IA 2000 × 1 + CAR 1000 × 0.1 = 0.0012 + 0.00009 + 0.002 + 0.0001; OUT 500 × 2.5
    ['cache_audio_read nests in cache_read and input_audio', GEMINI_25_FLASH, { input_tokens: 10_000, cache_read_tokens: 4000, input_audio_tokens: 3000, cache_audio_read_tokens: 1000, output_tokens: 500 }, ['0.00339', '0.00125', '0.00464']],
    // explicit cache_audio_read 0: IN 3000 × 0.3 + CR 4000 × 0.03 + IA 3000 × 1 = 0.0009 + 0.00012 + 0.003
    ['explicit zero cache_audio_read needs no join', GEMINI_25_FLASH, { input_tokens: 10_000, cache_read_tokens: 4000, input_audio_tokens: 3000, cache_audio_read_tokens: 0 }, ['0.00402', '0', '0.00402']],
    // spec gpt-4o-realtime-preview: IN 4000 × 5 + CR 3000 × 2.5 + IA 2000 × 40 + CAR 1000 × 2.5 = 0.02 + 0.0075 + 0.08 + 0.0025; OUT 1000 × 20 + OA 4000 × 80 = 0.02 + 0.32
    ['priced output audio is carved out', GPT_4O_REALTIME, { input_tokens: 10_000, cache_read_tokens: 4000, input_audio_tokens: 3000, cache_audio_read_tokens: 1000, output_tokens: 5000, output_audio_tokens: 4000 }, ['0.11', '0.34', '0.45']],
    // spec gpt-4o-audio-preview: IN 7000 × 2.5 + IA 3000 × 2.5 = 0.025; OUT 5000 × 10 = 0.05 (audio output stays at the output rate)
    ['unpriced output audio stays in output', GPT_4O_AUDIO, { input_tokens: 10_000, input_audio_tokens: 3000, output_tokens: 5000, output_audio_tokens: 4000 }, ['0.025', '0.05', '0.075']],
    // embeddings: IN 1000 × 0.02 = 0.00002; output has no price
    ['no output price: output tokens cost nothing', { input_mtok: '0.02' }, { input_tokens: 1000, output_tokens: 50 }, ['0.00002', '0', '0.00002']],
    // cache_read (11) > input (10) is only inconsistent when both are priced: 10 × 2
    ['an unpriced class is not checked against its parent', { input_mtok: '2', output_mtok: '4' }, { input_tokens: 10, cache_read_tokens: 11 }, ['0.00002', '0', '0.00002']],
    ['free model (empty prices) costs nothing', {}, { input_tokens: 1_000_000, cache_read_tokens: 10, output_tokens: 1_000_000 }, ['0', '0', '0']],
  ])('%s', (_name, prices, usage, expected) => {
    expect(split(prices, usage)).toEqual(expected);
  });

  it('reports a breakdown line per priced class, and none for a free model', () => {
    const usage = { input_tokens: 10_000, cache_read_tokens: 4000, input_audio_tokens: 3000, cache_audio_read_tokens: 1000, output_tokens: 500 };
    expect(breakdown(GEMINI_25_FLASH, usage)).toEqual({ input: '0.0012', cache_read: '0.00009', input_audio: '0.002', cache_audio_read: '0.0001', output: '0.00125' });
    // priced classes with no tokens still get a (zero) line
    expect(breakdown({ input_mtok: '2', cache_write_mtok: '2.5', output_mtok: '4' }, { input_tokens: 1000 })).toEqual({ input: '0.002', cache_write: '0', output: '0' });
    expect(breakdown({}, { input_tokens: 1000 })).toEqual({});
  });
});

describe('inconsistent usage is an error, with a message naming the counts', () => {
  it.each<[string, PriceSetData, TokenUsage, string]>([
    ['cache_read > input', { input_mtok: '2', cache_read_mtok: '0.5', output_mtok: '4' }, { input_tokens: 10, cache_read_tokens: 11 }, 'input_tokens (10) is less than the cached, cache-write and audio tokens it must include (11)'],
    ['cache_read + cache_write > input', { input_mtok: '3', cache_read_mtok: '0.3', cache_write_mtok: '3.75' }, { input_tokens: 100, cache_read_tokens: 60, cache_write_tokens: 50 }, 'input_tokens (100) is less than the cached, cache-write and audio tokens it must include (110)'],
    ['input_audio > input', GPT_4O_AUDIO, { input_tokens: 5, input_audio_tokens: 6 }, 'input_tokens (5) is less than the cached, cache-write and audio tokens it must include (6)'],
    ['cache_read reported without input_tokens', { input_mtok: '2', cache_read_mtok: '0.5', output_mtok: '4' }, { cache_read_tokens: 100, output_tokens: 5 }, 'input_tokens (0) is less than the cached, cache-write and audio tokens it must include (100)'],
    ['cache_audio_read > cache_read', GEMINI_25_FLASH, { input_tokens: 100, cache_read_tokens: 10, input_audio_tokens: 50, cache_audio_read_tokens: 20 }, 'cache_audio_read_tokens (20) cannot exceed cache_read_tokens (10)'],
    ['cache_audio_read > input_audio', GEMINI_25_FLASH, { input_tokens: 100, cache_read_tokens: 50, input_audio_tokens: 10, cache_audio_read_tokens: 20 }, 'cache_audio_read_tokens (20) cannot exceed input_audio_tokens (10)'],
    ['output_audio > output', GPT_4O_REALTIME, { input_tokens: 1, output_tokens: 4, output_audio_tokens: 5 }, 'output_audio_tokens (5) cannot exceed output_tokens (4)'],
    [
      'missing join: cache reads and input audio without cache_audio_read',
      GEMINI_25_FLASH,
      { input_tokens: 10_000, cache_read_tokens: 4000, input_audio_tokens: 3000, output_tokens: 500 },
      'cache_read_tokens and input_audio_tokens both reported: cache_audio_read_tokens is needed to price them apart',
    ],
  ])('%s', (_name, prices, usage, reason) => {
    expect(calculateCost(compilePriceSet(prices), usage)).toEqual({ ok: false, reason });
  });

  it('needs no join when only one of cache reads and input audio is reported', () => {
    // IN 10000 - 4000 = 6000 × 0.3 = 0.0018, CR 4000 × 0.03 = 0.00012
    expect(split(GEMINI_25_FLASH, { input_tokens: 10_000, cache_read_tokens: 4000 })).toEqual(['0.00192', '0', '0.00192']);
    // IN 7000 × 0.3 = 0.0021, IA 3000 × 1 = 0.003
    expect(split(GEMINI_25_FLASH, { input_tokens: 10_000, cache_read_tokens: 0, input_audio_tokens: 3000 })).toEqual(['0.0051', '0', '0.0051']);
  });
});

describe('tiers: chosen by the total input tokens, strictly above start, for every token class', () => {
  it.each<[string, TokenUsage, [string, string, string]]>([
    // 200000 is not above 200000: base 3 → 200000 × 3 / 1e6
    ['input 200000 → base', { input_tokens: 200_000 }, ['0.6', '0', '0.6']],
    // tier 6 for all tokens: 200001 × 6 / 1e6
    ['input 200001 → tier for all tokens', { input_tokens: 200_001 }, ['1.200006', '0', '1.200006']],
    // 300000 × 6 = 1.8; output at its tier: 100000 × 22.5 = 2.25
    ['output priced at the tier the input chose', { input_tokens: 300_000, output_tokens: 100_000 }, ['1.8', '2.25', '4.05']],
    // output count never decides: 1000 × 3 = 0.003; 300000 × 15 = 4.5 (base)
    ['a large output alone stays at base', { input_tokens: 1000, output_tokens: 300_000 }, ['0.003', '4.5', '4.503']],
    // 250000 in: IN 10000 × 6 = 0.06, CR 240000 × 0.6 = 0.144; OUT 1000 × 22.5 = 0.0225
    ['cache read at its tier', { input_tokens: 250_000, cache_read_tokens: 240_000, output_tokens: 1000 }, ['0.204', '0.0225', '0.2265']],
    // 150000 in: IN 30000 × 3 = 0.09, CR 100000 × 0.3 = 0.03, CW 20000 × 3.75 = 0.075; OUT 2000 × 15 = 0.03
    ['all classes at base below the threshold', { input_tokens: 150_000, cache_read_tokens: 100_000, cache_write_tokens: 20_000, output_tokens: 2000 }, ['0.195', '0.03', '0.225']],
    // the cached tokens count toward the threshold: IN 1 × 6, CW 200000 × 7.5 = 1.5
    ['cache writes count toward the threshold', { input_tokens: 200_001, cache_write_tokens: 200_000 }, ['1.500006', '0', '1.500006']],
    // no input_tokens: threshold count 0, base 15 → 1000 × 15 / 1e6
    ['absent input_tokens → base', { output_tokens: 1000 }, ['0', '0.015', '0.015']],
  ])('claude-sonnet-4-5: %s', (_name, usage, expected) => {
    expect(split(CLAUDE_SONNET_45, usage)).toEqual(expected);
  });

  it.each([
    // tiers given out of order are sorted; base 1, >100k 2, >500k 3, >1M 5
    [100_000, '0.1'], // 100000 × 1
    [500_000, '1'], // 500000 × 2
    [750_000, '2.25'], // 750000 × 3
    [1_000_001, '5.000005'], // 1000001 × 5
  ])('multi-tier: %i input tokens cost %s (highest tier crossed wins)', (tokens, expected) => {
    const prices: PriceSetData = {
      input_mtok: { base: '1', tiers: [{ start: 1_000_000, price: '5' }, { start: 100_000, price: '2' }, { start: 500_000, price: '3' }] },
    };
    expect(split(prices, { input_tokens: tokens })[0]).toBe(expected);
  });
});

describe('request fee: requests_kcount per thousand requests, one request per call, in the total only', () => {
  it.each<[string, TokenUsage, [string, string, string]]>([
    // spec perplexity sonar: 1000 × 1 = 0.001; 500 × 1 = 0.0005; total + 12 / 1000 = 0.0135
    ['1000 in / 500 out', { input_tokens: 1000, output_tokens: 500 }, ['0.001', '0.0005', '0.0135']],
    ['empty usage still pays the fee', {}, ['0', '0', '0.012']],
  ])('sonar, %s', (_name, usage, expected) => {
    expect(split(SONAR, usage)).toEqual(expected);
    expect(formatExact(cost(SONAR, usage).breakdown.requests!)).toBe('0.012');
  });
});
