import { divideRoundHalfEven, formatDecimal, MONEY_SCALE } from '../money/decimal.ts';

const NUMBER_TEXT = /^(-)?(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * The decimal string of a cost a gateway sent as a JSON number, computed on its
 * digits, never with binary floating point arithmetic.
 *
 * `String(n)` is ECMAScript's shortest text that reads back as the same double:
 * the very digits Python's `repr` (LiteLLM) writes, and the value of the ≤ 14
 * significant digits Lua's cjson (Kong) writes, so no digit of what the gateway
 * said is lost or invented. Exponent forms ("1.2345e-7", "1e+21") are expanded.
 * The result is rounded half-to-even to the 12 decimals money is stored with
 * (`0.1 + 1e-13` arrives as 0.1000000000001 and is reported as "0.1"): digits
 * below a picodollar are float noise of the gateway's own arithmetic.
 * Returns null for NaN and ±Infinity, which JSON cannot carry anyway.
 */
export function jsonNumberToDecimal(value: number): string | null {
  if (!Number.isFinite(value)) return null;
  const match = NUMBER_TEXT.exec(String(value));
  // String() of a finite number always has this form; anything else is a broken invariant.
  if (!match) throw new Error(`unexpected number text ${String(value)}`);
  const [, sign, whole = '0', fraction = '', exponent = '0'] = match;
  const digits = BigInt(whole + fraction);
  // value = digits × 10^power; in stored units (10^-MONEY_SCALE) that is digits × 10^(power + MONEY_SCALE).
  const shift = Number(exponent) - fraction.length + MONEY_SCALE;
  const units = shift >= 0 ? digits * 10n ** BigInt(shift) : divideRoundHalfEven(digits, 10n ** BigInt(-shift));
  return formatDecimal(sign && units !== 0n ? -units : units);
}
