import { divideRoundHalfEven } from '../../money/decimal.ts';
import { moneyEstimate } from '../finding.ts';

/**
 * Money of a window restated per hour, the rate `atStakePerHour` is in: exact
 * for amounts summed from stored costs, an estimate for amounts that come out
 * of statistics (a fit, a ratio of means).
 */

const HOUR_MS = 3_600_000;
const UNITS_PER_USD = 1e12;

/** Exact units over a window of `windowMs` as units per hour, rounded half-even. */
export function perHourUnits(units: bigint, windowMs: number): bigint {
  return divideRoundHalfEven(units * BigInt(HOUR_MS), BigInt(windowLength(windowMs)));
}

/** An estimated amount (USD) over a window of `windowMs` as exact decimal text per hour (micro-dollars, never negative). */
export function perHourEstimate(usd: number, windowMs: number): string {
  return moneyEstimate((usd * HOUR_MS) / windowLength(windowMs));
}

/** Exact units as USD for statistics (ratios, fits); never summed back into money. */
export function usdOf(units: bigint): number {
  return Number(units) / UNITS_PER_USD;
}

function windowLength(windowMs: number): number {
  if (!Number.isSafeInteger(windowMs) || windowMs <= 0) throw new RangeError(`a window must last a positive whole number of ms, got ${windowMs}`);
  return windowMs;
}
