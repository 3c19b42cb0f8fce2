import { describe, expect, it } from 'vitest';
import { formatExact } from '../../../services/money/exact-decimal.ts';
import type { ConstraintData, PriceSetData } from '../../../services/pricing/catalog/catalog-schema.ts';
import { calculateCost } from '../../../services/pricing/cost-calculation.ts';
import { compilePriceSet, compileSchedule, PRICE_SCALE, pricesAt, type CompiledPrice, type CompiledPriceSet, type PriceSchedule } from '../../../services/pricing/model-prices.ts';
import { catalog } from '../../support/pricing.ts';

function catalogSchedule(providerId: string, model: string): PriceSchedule {
  const provider = catalog.providerById(providerId);
  if (!provider.ok) throw new Error(provider.reason);
  const found = catalog.findModel(provider.value, model);
  if (!found.ok) throw new Error(found.reason);
  return found.value.schedule;
}

function flat(price: CompiledPrice | undefined): string {
  if (price?.kind !== 'flat') throw new Error(`expected a flat price, got ${JSON.stringify(price)}`);
  return formatExact(price.price);
}

/** The input price (USD per million tokens) in force at `at`. */
function inputPriceAt(schedule: PriceSchedule, at: string): string {
  return flat(pricesAt(schedule, Date.parse(at)).input_mtok);
}

function totalAt(prices: CompiledPriceSet, usage: Parameters<typeof calculateCost>[1]): string {
  const result = calculateCost(prices, usage);
  if (!result.ok) throw new Error(result.reason);
  return formatExact(result.cost.total);
}

/** A schedule of entries that differ only in their input price, so the chosen entry is visible. */
function schedule(...entries: [ConstraintData | undefined, string][]): PriceSchedule {
  return compileSchedule(entries.map(([constraint, input]) => (constraint ? { constraint, prices: { input_mtok: input } } : { prices: { input_mtok: input } })));
}

describe('compilePriceSet', () => {
  it('keeps the keys given, exact, with tiers sorted by start', () => {
    const compiled = compilePriceSet({
      input_mtok: '0.18000000000000002',
      output_mtok: { base: '1', tiers: [{ start: 500_000, price: '3' }, { start: 100_000, price: '2' }] },
    });
    expect(Object.keys(compiled).sort()).toEqual(['input_mtok', 'output_mtok']);
    expect(flat(compiled.input_mtok)).toBe('0.18000000000000002');
    const output = compiled.output_mtok;
    if (output?.kind !== 'tiered') throw new Error('expected a tiered price');
    expect(formatExact(output.base)).toBe('1');
    expect(output.tiers.map((tier) => [tier.start, formatExact(tier.price)])).toEqual([
      [100_000, '2'],
      [500_000, '3'],
    ]);
  });

  it('holds every price with PRICE_SCALE (18) decimals, and refuses finer prices', () => {
    const compiled = compilePriceSet({ input_mtok: '3', output_mtok: '0.000000000000000001' });
    expect(compiled.input_mtok).toEqual({ kind: 'flat', price: { units: 3n * 10n ** 18n, scale: PRICE_SCALE } });
    expect(compiled.output_mtok).toEqual({ kind: 'flat', price: { units: 1n, scale: PRICE_SCALE } });
    expect(PRICE_SCALE).toBe(18);
    expect(() => compilePriceSet({ input_mtok: '0.0000000000000000001' })).toThrow('cannot write 0.0000000000000000001 with 18 decimals');
  });

  it('compiles an empty price set (a free model) to no prices', () => {
    expect(compilePriceSet({})).toEqual({});
  });
});

describe('start_date constraint: active from 00:00 UTC of the start day (openai o3)', () => {
  const o3 = catalogSchedule('openai', 'o3');

  it.each([
    // entry 0: 10 / 0.5 / 40; entry 1 from 2025-06-10: 2 / 0.5 / 8
    ['2025-01-01T00:00:00Z', '10'],
    ['2025-06-09T23:59:59.999Z', '10'],
    ['2025-06-10T00:00:00Z', '2'],
    ['2025-06-10T23:59:59Z', '2'],
    // 2025-06-10T01:00+02:00 is 2025-06-09T23:00Z: still the old price
    ['2025-06-10T01:00:00+02:00', '10'],
    ['2026-11-23T10:15:00Z', '2'],
  ])('at %s input costs %s per million', (at, price) => {
    expect(inputPriceAt(o3, at)).toBe(price);
  });

  it.each([
    // 1000 × 10 / 1e6 = 0.01
    ['2025-06-09T23:59:59.999Z', '0.01'],
    // 1000 × 2 / 1e6 = 0.002
    ['2025-06-10T00:00:00Z', '0.002'],
  ])('1000 input tokens at %s cost %s', (at, total) => {
    expect(totalAt(pricesAt(o3, Date.parse(at)), { input_tokens: 1000 })).toBe(total);
  });
});

describe('time-of-day constraint: start inclusive, end exclusive, in UTC (deepseek-chat)', () => {
  // entry 0: off-peak 0.135 / 0.035 / 0.55; entry 1, 00:30–16:30 UTC: standard 0.27 / 0.07 / 1.1
  const deepseekChat = catalogSchedule('deepseek', 'deepseek-chat');

  it.each([
    ['2026-01-05T16:00:00Z', '0.27'],
    ['2026-01-05T16:29:59.999Z', '0.27'],
    ['2026-01-05T16:30:00Z', '0.135'],
    ['2026-01-05T23:00:00Z', '0.135'],
    ['2026-01-05T00:00:00Z', '0.135'],
    ['2026-01-05T00:29:59.999Z', '0.135'],
    ['2026-01-05T00:30:00Z', '0.27'],
    // 18:00+02:00 is 16:00Z: standard
    ['2026-01-05T18:00:00+02:00', '0.27'],
  ])('at %s input costs %s per million', (at, price) => {
    expect(inputPriceAt(deepseekChat, at)).toBe(price);
  });

  it('prices 100M input tokens at 27 at 16:00Z and 13.5 at 17:00Z (upstream test)', () => {
    // 100M × 0.27 / 1e6 = 27; 100M × 0.135 / 1e6 = 13.5
    expect(totalAt(pricesAt(deepseekChat, Date.parse('2026-01-05T16:00:00Z')), { input_tokens: 100_000_000 })).toBe('27');
    expect(totalAt(pricesAt(deepseekChat, Date.parse('2026-01-05T17:00:00Z')), { input_tokens: 100_000_000 })).toBe('13.5');
  });

  it('handles a window that wraps past midnight', () => {
    const night = schedule([undefined, '1'], [{ start_time: '22:00:00Z', end_time: '02:00:00Z' }, '2']);
    expect(inputPriceAt(night, '2026-01-05T21:59:59.999Z')).toBe('1');
    expect(inputPriceAt(night, '2026-01-05T22:00:00Z')).toBe('2');
    expect(inputPriceAt(night, '2026-01-05T23:30:00Z')).toBe('2');
    expect(inputPriceAt(night, '2026-01-06T01:59:59.999Z')).toBe('2');
    expect(inputPriceAt(night, '2026-01-06T02:00:00Z')).toBe('1');
  });
});

describe('selection: the last active entry wins, else the first entry', () => {
  it.each([
    ['2024-12-31T23:59:59Z', '1'],
    ['2025-01-01T00:00:00Z', '2'],
    ['2025-05-31T12:00:00Z', '2'],
    ['2025-06-01T00:00:00Z', '3'],
  ])('three dated entries at %s → input %s', (at, price) => {
    const dated = schedule([undefined, '1'], [{ start_date: '2025-01-01' }, '2'], [{ start_date: '2025-06-01' }, '3']);
    expect(inputPriceAt(dated, at)).toBe(price);
  });

  it('prefers a later active entry over an earlier active one, whatever their kinds', () => {
    const mixed = schedule([undefined, '1'], [{ start_time: '00:00:00Z', end_time: '12:00:00Z' }, '2'], [{ start_date: '2025-01-01' }, '3']);
    expect(inputPriceAt(mixed, '2024-06-01T06:00:00Z')).toBe('2'); // only the window is active
    expect(inputPriceAt(mixed, '2025-02-01T06:00:00Z')).toBe('3'); // both active: the last wins
    expect(inputPriceAt(mixed, '2024-06-01T13:00:00Z')).toBe('1');
  });

  it('falls back to the first entry when no entry is active, even if its own constraint is not', () => {
    const future = schedule([{ start_date: '2030-01-01' }, '7'], [{ start_date: '2031-01-01' }, '8']);
    expect(inputPriceAt(future, '2026-01-01T00:00:00Z')).toBe('7');
    expect(inputPriceAt(future, '2031-01-01T00:00:00Z')).toBe('8');
  });

  it('uses the chosen entry whole, never merging keys across entries', () => {
    const entries: { constraint?: ConstraintData; prices: PriceSetData }[] = [
      { prices: { input_mtok: '1', cache_read_mtok: '0.1', output_mtok: '2' } },
      { constraint: { start_date: '2025-01-01' }, prices: { input_mtok: '3' } },
    ];
    const later = pricesAt(compileSchedule(entries), Date.parse('2025-01-02T00:00:00Z'));
    expect(Object.keys(later)).toEqual(['input_mtok']);
    // cache reads are no longer carved out, output is unpriced: 1000 × 3 / 1e6
    expect(totalAt(later, { input_tokens: 1000, cache_read_tokens: 500, output_tokens: 100 })).toBe('0.003');
  });

  it('treats a plain price set as a single always-active entry', () => {
    const single = compileSchedule({ input_mtok: '0.15', output_mtok: '0.6' });
    expect(single.entries).toHaveLength(1);
    expect(inputPriceAt(single, '2015-01-01T00:00:00Z')).toBe('0.15');
  });
});
