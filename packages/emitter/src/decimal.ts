/**
 * Exact decimal text: an amount is a bigint count of 10^-SCALE currency units
 * (SCALE = 12, i.e. picodollars for USD), the same scale as the Avro decimal
 * fields and the ClickHouse Decimal(38, 12) columns, written as a plain decimal
 * string ("0.0125"). No binary floating point touches an amount anywhere in Spendline.
 */

/** Digits after the decimal point in every stored amount. */
export const MONEY_SCALE = 12;
/** Total significant digits, matching ClickHouse Decimal(38, 12) / Avro precision 38. */
export const MONEY_PRECISION = 38;

const MAX_ABS = 10n ** BigInt(MONEY_PRECISION) - 1n;
const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

export type DecimalParseResult =
  | { ok: true; units: bigint }
  | { ok: false; reason: string };

/**
 * Parses a plain decimal string ("12", "0.0015", "-3.5") into scaled units.
 * Rejects exponents, more than MONEY_SCALE fractional digits (which would need
 * rounding) and values beyond MONEY_PRECISION digits.
 */
export function parseDecimal(text: string, scale: number = MONEY_SCALE): DecimalParseResult {
  const match = DECIMAL_PATTERN.exec(text.trim());
  if (!match) return { ok: false, reason: 'must be a plain decimal number such as "0.0125"' };
  const [, sign, whole = '0', fraction = ''] = match;
  if (fraction.length > scale) {
    return { ok: false, reason: `must have at most ${scale} digits after the decimal point` };
  }
  const units = BigInt(whole + fraction.padEnd(scale, '0')) * (sign ? -1n : 1n);
  if ((units < 0n ? -units : units) > MAX_ABS) {
    return { ok: false, reason: `must have at most ${MONEY_PRECISION} significant digits` };
  }
  return { ok: true, units };
}

/** Like parseDecimal but throws: for literals the program itself owns. */
export function decimalUnits(text: string, scale: number = MONEY_SCALE): bigint {
  const parsed = parseDecimal(text, scale);
  if (!parsed.ok) throw new Error(`invalid decimal ${JSON.stringify(text)}: ${parsed.reason}`);
  return parsed.units;
}

/** Formats scaled units as the shortest exact decimal string ("0.0015", "12"). */
export function formatDecimal(units: bigint, scale: number = MONEY_SCALE): string {
  const negative = units < 0n;
  const text = formatDigits((negative ? -units : units).toString(), scale);
  return negative ? `-${text}` : text;
}

/** The digits of a non-negative integer read with `scale` decimals, trailing zeros dropped ("1500", 4 → "0.15"). */
export function formatDigits(digits: string, scale: number): string {
  const padded = digits.length > scale ? digits : '0'.repeat(scale + 1 - digits.length) + digits;
  const point = padded.length - scale;
  let end = padded.length;
  while (end > point && padded.charCodeAt(end - 1) === 48) end -= 1;
  return end === point ? padded.slice(0, point) : `${padded.slice(0, point)}.${padded.slice(point, end)}`;
}
