import { formatDecimal } from '@spendline/emitter/decimal';

/**
 * Exact decimal money: amounts are bigint counts of 10^-MONEY_SCALE currency
 * units. Their text form (parse, format, scale) is the usage event's, from
 * @spendline/emitter/decimal, re-exported so money code has one module to
 * import; this module adds the arithmetic pricing and reports need.
 */
export { MONEY_PRECISION, MONEY_SCALE, decimalUnits, formatDecimal, formatDigits, parseDecimal, type DecimalParseResult } from '@spendline/emitter/decimal';

/**
 * Divides with round-half-to-even (banker's rounding), the rule Spendline uses
 * whenever an exact result needs more than MONEY_SCALE fractional digits.
 */
export function divideRoundHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  if (numerator >= 0n && denominator > 0n) {
    // The common case (costs are never negative), without sign bookkeeping.
    const quotient = numerator / denominator;
    const twice = (numerator - quotient * denominator) * 2n;
    return twice > denominator || (twice === denominator && (quotient & 1n) === 1n) ? quotient + 1n : quotient;
  }
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  const twiceRemainder = (n % d) * 2n;
  if (twiceRemainder > d || (twiceRemainder === d && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

/** part / whole as a fraction with at most `scale` decimals ("0.125"), rounded half-even; null when whole is zero. */
export function shareOf(part: bigint, whole: bigint, scale = 4): string | null {
  if (whole === 0n) return null;
  return formatDecimal(divideRoundHalfEven(part * 10n ** BigInt(scale), whole), scale);
}
