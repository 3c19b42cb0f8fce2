import { exact, type ExactDecimal } from '../money/exact-decimal.ts';
import { PRICE_KEYS, type ConstraintData, type PriceKey, type PriceSetData, type PriceValueData } from './catalog/catalog-schema.ts';

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
  readonly entries: readonly { readonly active: (at: Date) => boolean; readonly prices: CompiledPriceSet }[];
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
  if (typeof value === 'string') return { kind: 'flat', price: exact(value) };
  return {
    kind: 'tiered',
    base: exact(value.base),
    tiers: [...value.tiers].sort((a, b) => a.start - b.start).map((tier) => ({ start: tier.start, price: exact(tier.price) })),
  };
}

export function compileSchedule(data: PriceSetData | readonly { constraint?: ConstraintData | undefined; prices: PriceSetData }[]): PriceSchedule {
  const list = Array.isArray(data) ? data : [{ prices: data as PriceSetData }];
  return {
    entries: list.map((entry) => ({ active: compileConstraint(entry.constraint), prices: compilePriceSet(entry.prices) })),
  };
}

export function pricesAt(schedule: PriceSchedule, at: Date): CompiledPriceSet {
  for (let index = schedule.entries.length - 1; index >= 0; index -= 1) {
    const entry = schedule.entries[index]!;
    if (entry.active(at)) return entry.prices;
  }
  return schedule.entries[0]!.prices;
}

function compileConstraint(constraint: ConstraintData | undefined): (at: Date) => boolean {
  if (constraint === undefined) return () => true;
  if ('start_date' in constraint) {
    // The whole start day counts: compare the UTC calendar date.
    const start = Date.parse(`${constraint.start_date}T00:00:00Z`);
    return (at) => at.getTime() >= start;
  }
  const start = secondsOfDay(constraint.start_time);
  const end = secondsOfDay(constraint.end_time);
  return (at) => {
    const t = at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds() + at.getUTCMilliseconds() / 1000;
    // Start inclusive, end exclusive; a window may wrap past midnight.
    return start <= end ? t >= start && t < end : t >= start || t < end;
  };
}

function secondsOfDay(time: string): number {
  const [h, m, s] = time.replace('Z', '').split(':').map(Number);
  return h! * 3600 + m! * 60 + s!;
}
