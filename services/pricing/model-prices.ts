import { exact, rescale, type ExactDecimal } from '../money/exact-decimal.ts';
import { PRICE_KEYS, type ConstraintData, type PriceKey, type PriceSetData, type PriceValueData } from './catalog/catalog-schema.ts';

/**
 * Every price is held with the same number of decimals, so the costs of all
 * classes share one scale and add up as plain integers. 18 covers any price
 * in the catalog (its longest has 17 significant digits) and contracts are
 * refused beyond it.
 */
export const PRICE_SCALE = 18;

function price(text: string): ExactDecimal {
  return rescale(exact(text), PRICE_SCALE);
}

/** One price key's value, ready to compute with: flat, or tiered on the request's total input tokens. */
export type CompiledPrice =
  | { readonly kind: 'flat'; readonly price: ExactDecimal }
  | { readonly kind: 'tiered'; readonly base: ExactDecimal; readonly tiers: readonly { readonly start: number; readonly price: ExactDecimal }[] };

export type CompiledPriceSet = Readonly<Partial<Record<PriceKey, CompiledPrice>>>;

/**
 * A model's prices over time: entries with an optional constraint, chosen as
 * genai-prices does — the last entry whose constraint holds (or that has
 * none), else the first. Dates and times of day are read in UTC.
 */
export interface PriceSchedule {
  /** `active` takes the call time in epoch milliseconds. */
  readonly entries: readonly { readonly active: (at: number) => boolean; readonly prices: CompiledPriceSet }[];
}

export function compilePriceSet(data: PriceSetData): CompiledPriceSet {
  const compiled: Partial<Record<PriceKey, CompiledPrice>> = {};
  for (const key of PRICE_KEYS) {
    const value = data[key];
    if (value !== undefined) compiled[key] = compilePrice(value);
  }
  return compiled;
}

function compilePrice(value: PriceValueData): CompiledPrice {
  if (typeof value === 'string') return { kind: 'flat', price: price(value) };
  return {
    kind: 'tiered',
    base: price(value.base),
    tiers: [...value.tiers].sort((a, b) => a.start - b.start).map((tier) => ({ start: tier.start, price: price(tier.price) })),
  };
}

export function compileSchedule(data: PriceSetData | readonly { constraint?: ConstraintData | undefined; prices: PriceSetData }[]): PriceSchedule {
  const list = Array.isArray(data) ? data : [{ prices: data as PriceSetData }];
  return {
    entries: list.map((entry) => ({ active: compileConstraint(entry.constraint), prices: compilePriceSet(entry.prices) })),
  };
}

export function pricesAt(schedule: PriceSchedule, at: number): CompiledPriceSet {
  for (let index = schedule.entries.length - 1; index >= 0; index -= 1) {
    const entry = schedule.entries[index]!;
    if (entry.active(at)) return entry.prices;
  }
  return schedule.entries[0]!.prices;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function compileConstraint(constraint: ConstraintData | undefined): (at: number) => boolean {
  if (constraint === undefined) return () => true;
  if ('start_date' in constraint) {
    // The whole start day counts: from 00:00 UTC of start_date.
    const start = Date.parse(`${constraint.start_date}T00:00:00Z`);
    return (at) => at >= start;
  }
  const start = msOfDay(constraint.start_time);
  const end = msOfDay(constraint.end_time);
  return (at) => {
    const t = ((at % DAY_MS) + DAY_MS) % DAY_MS;
    // Start inclusive, end exclusive, in UTC; a window may wrap past midnight.
    return start <= end ? t >= start && t < end : t >= start || t < end;
  };
}

function msOfDay(time: string): number {
  const [h, m, s] = time.replace('Z', '').split(':').map(Number);
  return ((h! * 60 + m!) * 60 + s!) * 1000;
}
