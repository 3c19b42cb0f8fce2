import { divideRoundHalfEven, formatDecimal, MONEY_SCALE } from '../../money/decimal.ts';

/**
 * Figures as text. Contributors carry plain decimal text (no exponent, no
 * grouping) so they round-trip like the alert's other decimals; headlines
 * carry short figures for people. Money in a headline is rounded for reading
 * only: the finding's money fields stay exact.
 */

/** A statistic as plain decimal text with at most `digits` decimals ("0.2", "12", "-0.05"); non-finite values read "0". */
export function decimalText(value: number, digits = 4): string {
  if (!Number.isFinite(value)) return '0';
  return formatDecimal(BigInt(Math.round(value * 10 ** digits)), digits);
}

/** A count or rate for a headline: grouped thousands, at most `digits` decimals ("1,250", "12.5"). */
export function figureText(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** A fraction as a percentage for a headline ("25%", "0.4%"). */
export function percentText(fraction: number): string {
  return `${figureText(fraction * 100, Math.abs(fraction) < 0.01 ? 2 : 0)}%`;
}

/** Exact units as dollars for a headline: cents from $1, else enough decimals to show a per-request price ("$1,250.00", "$0.0025"). */
export function usdText(units: bigint): string {
  const magnitude = units < 0n ? -units : units;
  const digits = magnitude >= 10n ** 12n ? 2 : magnitude >= 10n ** 10n ? 4 : 6;
  const rounded = divideRoundHalfEven(units, 10n ** BigInt(MONEY_SCALE - digits));
  const [whole = '0', fraction = ''] = formatDecimal(rounded < 0n ? -rounded : rounded, digits).split('.');
  const grouped = BigInt(whole).toLocaleString('en-US');
  return `${rounded < 0n ? '-' : ''}$${grouped}.${fraction.padEnd(digits, '0')}`;
}

/** An estimated amount in USD as dollars for a headline. */
export function usdEstimateText(usd: number): string {
  return usdText(Number.isFinite(usd) ? BigInt(Math.round(usd * 1e12)) : 0n);
}
