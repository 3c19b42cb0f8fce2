import { MONEY_SCALE, divideRoundHalfEven, formatDecimal, formatDigits } from './decimal.ts';

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

/** 10^n for the scales money uses, computed once (bigint exponentiation is slow in hot paths). */
const POWERS_OF_TEN: bigint[] = Array.from({ length: 80 }, (_, n) => 10n ** BigInt(n));
export function pow10(n: number): bigint {
  return POWERS_OF_TEN[n] ?? 10n ** BigInt(n);
}

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
    units *= pow10(-scale);
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
  return a.scale === scale ? a.units : a.units * pow10(scale - a.scale);
}

/** The same value written with `scale` decimals (which must not drop digits). */
export function rescale(a: ExactDecimal, scale: number): ExactDecimal {
  if (scale < a.scale) throw new RangeError(`cannot write ${formatExact(a)} with ${scale} decimals`);
  return { units: align(a, scale), scale };
}

/** a × factor, for a discount or a multiplier given as a decimal. */
export function multiply(a: ExactDecimal, factor: ExactDecimal): ExactDecimal {
  return { units: a.units * factor.units, scale: a.scale + factor.scale };
}

/** The shortest exact decimal string ("0.0135", "12", "-0.5"). */
export function formatExact(a: ExactDecimal): string {
  return a.scale < 0 ? formatDecimal(a.units * pow10(-a.scale), 0) : formatDecimal(a.units, a.scale);
}

/**
 * The value in storage units (10^-MONEY_SCALE), rounded half-to-even when it
 * has more decimals than storage keeps — the one place a cost is rounded.
 */
export function toMoneyUnits(a: ExactDecimal): bigint {
  if (a.scale <= MONEY_SCALE) return a.units * pow10(MONEY_SCALE - a.scale);
  return divideRoundHalfEven(a.units, pow10(a.scale - MONEY_SCALE));
}

/**
 * formatDecimal(toMoneyUnits(a)) — the stored amount as text — done on the
 * digit string instead of with bigint division: the enricher formats several
 * amounts per event, and this is most of its pricing time.
 */
export function formatMoney(a: ExactDecimal): string {
  const drop = a.scale - MONEY_SCALE;
  if (a.units < 0n || drop <= 0) return formatDecimal(toMoneyUnits(a));
  const digits = a.units.toString();
  const cut = digits.length - drop;
  let kept = cut > 0 ? digits.slice(0, cut) : '0';
  const first = cut >= 0 ? digits.charCodeAt(cut) : 48;
  if (first > 53 || (first === 53 && (hasNonZero(digits, cut + 1) || (kept.charCodeAt(kept.length - 1) & 1) === 1))) {
    kept = (BigInt(kept) + 1n).toString();
  } else if (cut < 0) {
    // Fewer digits than are dropped: the value is below half a unit, or exactly zero.
    kept = '0';
  }
  return formatDigits(kept, MONEY_SCALE);
}

function hasNonZero(digits: string, from: number): boolean {
  for (let i = Math.max(from, 0); i < digits.length; i += 1) if (digits.charCodeAt(i) !== 48) return true;
  return false;
}
