import { describe, expect, it } from 'vitest';
import { decimalUnits, divideRoundHalfEven, formatDecimal, MONEY_SCALE, parseDecimal } from '../../../services/money/decimal.ts';

describe('parseDecimal and formatDecimal', () => {
  // [text, units at scale 12, shortest form formatDecimal prints back]
  it.each([
    ['0', 0n, '0'],
    ['12', 12_000_000_000_000n, '12'],
    ['0.0015', 1_500_000_000n, '0.0015'],
    ['0.000000000001', 1n, '0.000000000001'],
    ['-3.5', -3_500_000_000_000n, '-3.5'],
    ['-0.000000000001', -1n, '-0.000000000001'],
    ['1.500000000000', 1_500_000_000_000n, '1.5'],
    ['007.10', 7_100_000_000_000n, '7.1'],
    ['  2.25 ', 2_250_000_000_000n, '2.25'],
    ['-0', 0n, '0'],
    // 26 whole digits and 12 decimals: the full 38 digits of Decimal(38, 12).
    ['99999999999999999999999999.999999999999', 10n ** 38n - 1n, '99999999999999999999999999.999999999999'],
    ['-99999999999999999999999999.999999999999', -(10n ** 38n - 1n), '-99999999999999999999999999.999999999999'],
  ])('%j is %s units and prints as %j', (text, units, printed) => {
    expect(parseDecimal(text)).toEqual({ ok: true, units });
    expect(formatDecimal(units)).toBe(printed);
    expect(parseDecimal(printed)).toEqual({ ok: true, units });
  });

  it.each([
    ['1e3', 'must be a plain decimal number such as "0.0125"'],
    ['1.5E-3', 'must be a plain decimal number such as "0.0125"'],
    ['', 'must be a plain decimal number such as "0.0125"'],
    ['.5', 'must be a plain decimal number such as "0.0125"'],
    ['5.', 'must be a plain decimal number such as "0.0125"'],
    ['+1', 'must be a plain decimal number such as "0.0125"'],
    ['1,5', 'must be a plain decimal number such as "0.0125"'],
    ['NaN', 'must be a plain decimal number such as "0.0125"'],
    ['0x10', 'must be a plain decimal number such as "0.0125"'],
    ['0.0000000000001', 'must have at most 12 digits after the decimal point'],
    ['-1.1234567890123', 'must have at most 12 digits after the decimal point'],
    ['100000000000000000000000000', 'must have at most 38 significant digits'],
    ['-100000000000000000000000000', 'must have at most 38 significant digits'],
  ])('rejects %j: %s', (text, reason) => {
    expect(parseDecimal(text)).toEqual({ ok: false, reason });
  });

  it.each([
    // [text, scale, units]
    ['1.05', 2, 105n],
    ['-1.05', 2, -105n],
    ['42', 0, 42n],
  ])('parses %j at scale %i as %s units and prints it back', (text, scale, units) => {
    expect(parseDecimal(text, scale)).toEqual({ ok: true, units });
    expect(formatDecimal(units, scale)).toBe(text);
  });

  it('applies the scale given when counting decimals', () => {
    expect(parseDecimal('1.005', 2)).toEqual({ ok: false, reason: 'must have at most 2 digits after the decimal point' });
    expect(parseDecimal('1.5', 0)).toEqual({ ok: false, reason: 'must have at most 0 digits after the decimal point' });
  });

  it('uses one unit of 10^-12, the scale of the Avro and ClickHouse columns', () => {
    expect(MONEY_SCALE).toBe(12);
    expect(formatDecimal(1_000_000_000_000n)).toBe('1');
  });

  it('decimalUnits returns the units of a valid literal and throws with the reason otherwise', () => {
    expect(decimalUnits('2.5')).toBe(2_500_000_000_000n);
    expect(() => decimalUnits('2.5e1')).toThrow('invalid decimal "2.5e1": must be a plain decimal number');
  });
});

describe('divideRoundHalfEven', () => {
  it.each([
    // [numerator, denominator, quotient]: exact, below half, above half
    [10n, 5n, 2n],
    [0n, 7n, 0n],
    [1n, 3n, 0n],
    [2n, 3n, 1n],
    [-1n, 3n, 0n],
    [-2n, 3n, -1n],
    // ties go to the even neighbour
    [1n, 2n, 0n],
    [3n, 2n, 2n],
    [5n, 2n, 2n],
    [7n, 2n, 4n],
    [25n, 10n, 2n],
    [35n, 10n, 4n],
    // ties with negative operands: the magnitude rounds to even, the sign follows the operands
    [-5n, 2n, -2n],
    [-7n, 2n, -4n],
    [5n, -2n, -2n],
    [7n, -2n, -4n],
    [-5n, -2n, 2n],
    [-7n, -2n, 4n],
    // just off a tie is not a tie
    [2_500_001n, 1_000_000n, 3n],
    [2_499_999n, 1_000_000n, 2n],
    [-2_500_001n, 1_000_000n, -3n],
  ])('%s / %s = %s', (numerator, denominator, quotient) => {
    expect(divideRoundHalfEven(numerator, denominator)).toBe(quotient);
  });

  it('refuses to divide by zero', () => {
    expect(() => divideRoundHalfEven(1n, 0n)).toThrow(RangeError);
  });
});
