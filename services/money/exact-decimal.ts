import { MONEY_SCALE, divideRoundHalfEven } from './decimal.ts';

/**
 * Decimals of any precision, as a bigint count of 10^-scale: what prices
 * need (a catalog price may carry 17 significant digits, and a price per
 * million tokens adds six decimal places). Every operation here is exact;
 * rounding happens only in toMoneyUnits, once, when a cost is stored.
 */
export interface ExactDecimal {
  readonly units: bigint;
  readonly scale: number;
}

export const ZERO: ExactDecimal = { units: 0n, scale: 0 };

const LITERAL = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Parses a decimal literal, exponent notation included ("0.15", "1.5e-7"). Returns null for anything else. */
export function parseExact(text: string): ExactDecimal | null {
  const match = LITERAL.exec(text.trim());
  if (!match) return null;
  const [, sign, whole = '0', fraction = '', exponentText] = match;
  const exponent = Number(exponentText ?? 0);
  let units = BigInt(whole + fraction) * (sign ? -1n : 1n);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

export function exact(text: string): ExactDecimal {
  const parsed = parseExact(text);
  if (!parsed) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  return parsed;
}

function align(a: ExactDecimal, scale: number): bigint {
  return a.units * 10n ** BigInt(scale - a.scale);
}

export function add(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  const scale = Math.max(a.scale, b.scale);
  return { units: align(a, scale) + align(b, scale), scale };
}

export function sum(values: readonly ExactDecimal[]): ExactDecimal {
  return values.reduce(add, ZERO);
}

/** a × n ÷ 10^shift, exactly (a price times a count, per million or per thousand). */
export function scaleBy(a: ExactDecimal, n: bigint, shift: number): ExactDecimal {
  return { units: a.units * n, scale: a.scale + shift };
}

/** a × factor, for a discount or a multiplier given as a decimal. */
export function multiply(a: ExactDecimal, factor: ExactDecimal): ExactDecimal {
  return { units: a.units * factor.units, scale: a.scale + factor.scale };
}

export function compare(a: ExactDecimal, b: ExactDecimal): number {
  const scale = Math.max(a.scale, b.scale);
  const difference = align(a, scale) - align(b, scale);
  return difference === 0n ? 0 : difference < 0n ? -1 : 1;
}

export function isZero(a: ExactDecimal): boolean {
  return a.units === 0n;
}

/** The shortest exact decimal string ("0.0135", "12", "-0.5"). */
export function formatExact(a: ExactDecimal): string {
  const negative = a.units < 0n;
  const digits = (negative ? -a.units : a.units).toString();
  if (a.scale <= 0) return `${negative ? '-' : ''}${digits}${'0'.repeat(-a.scale)}`;
  const padded = digits.padStart(a.scale + 1, '0');
  const whole = padded.slice(0, padded.length - a.scale);
  const fraction = padded.slice(padded.length - a.scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * The value in storage units (10^-MONEY_SCALE), rounded half-to-even when it
 * has more decimals than storage keeps — the one place a cost is rounded.
 */
export function toMoneyUnits(a: ExactDecimal): bigint {
  if (a.scale <= MONEY_SCALE) return a.units * 10n ** BigInt(MONEY_SCALE - a.scale);
  return divideRoundHalfEven(a.units, 10n ** BigInt(a.scale - MONEY_SCALE));
}
