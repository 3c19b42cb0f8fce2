import { divideRoundHalfEven } from '../money/decimal.ts';

/**
 * Month-end projection from the run-rate with day-of-week seasonality: each
 * remaining day is expected to cost what the same weekday cost on average over
 * the last weeks, and the range runs from the cheapest to the dearest of
 * those same weekdays. Amounts are exact units (10^-12 USD); days are local
 * calendar days as ISO dates ("2026-11-20").
 */

export interface RunRateInput {
  /** Cost per local day already spent this period (any days; only those in [periodStart, asOf) count as actual). */
  readonly daily: ReadonlyMap<string, bigint>;
  /** First day of the period (e.g. the 1st of the month). */
  readonly periodStart: string;
  /** First day after the period. */
  readonly periodEnd: string;
  /** First day not yet known: actual covers [periodStart, asOf), the forecast [asOf, periodEnd). */
  readonly asOf: string;
  /** Whole weeks of history before asOf to learn each weekday from. */
  readonly weeks: number;
}

export interface RunRateForecast {
  readonly actual: bigint;
  /** actual + the expected cost of every remaining day. */
  readonly projected: bigint;
  readonly low: bigint;
  readonly high: bigint;
  /** Expected cost per remaining day, in order. */
  readonly days: readonly { readonly day: string; readonly expected: bigint; readonly low: bigint; readonly high: bigint }[];
}

const DAY_MS = 24 * 60 * 60 * 1000;
const dayNumber = (day: string) => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayName = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);

export function forecastRunRate(input: RunRateInput): RunRateForecast {
  const start = dayNumber(input.periodStart);
  const end = dayNumber(input.periodEnd);
  const asOf = Math.min(Math.max(dayNumber(input.asOf), start), end);
  const cost = (n: number) => input.daily.get(dayName(n)) ?? 0n;

  let actual = 0n;
  for (let n = start; n < asOf; n += 1) actual += cost(n);

  const days = [];
  let expectedSum = 0n;
  let lowSum = 0n;
  let highSum = 0n;
  for (let n = asOf; n < end; n += 1) {
    // The same weekday in each of the last `weeks` weeks before asOf (a day without usage cost 0).
    const samples: bigint[] = [];
    for (let week = 1; week <= input.weeks; week += 1) {
      const sample = n - 7 * Math.ceil((n - asOf + 1) / 7) - 7 * (week - 1);
      samples.push(cost(sample));
    }
    const expected = samples.length === 0 ? 0n : divideRoundHalfEven(samples.reduce((sum, value) => sum + value, 0n), BigInt(samples.length));
    const low = samples.reduce((min, value) => (value < min ? value : min), samples[0] ?? 0n);
    const high = samples.reduce((max, value) => (value > max ? value : max), samples[0] ?? 0n);
    days.push({ day: dayName(n), expected, low, high });
    expectedSum += expected;
    lowSum += low;
    highSum += high;
  }
  return { actual, projected: actual + expectedSum, low: actual + lowSum, high: actual + highSum, days };
}
