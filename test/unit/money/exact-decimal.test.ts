import { describe, expect, it } from 'vitest';
import { exact, formatExact, multiply, parseExact, rescale, toMoneyUnits, type ExactDecimal } from '../../../services/money/exact-decimal.ts';

const text = (value: ExactDecimal) => formatExact(value);

describe('parseExact', () => {
  // [literal, units, scale]: the value is units × 10^-scale.
  it.each([
    ['0.15', 15n, 2],
    ['8', 8n, 0],
    ['0', 0n, 0],
    ['-0.5', -5n, 1],
    ['1e-7', 1n, 7],
    ['1.5e-7', 15n, 8],
    ['2.5E-3', 25n, 4],
    ['1.5e3', 1500n, 0],
    ['2e+2', 200n, 0],
    ['12.50', 1250n, 2],
    [' 3.75 ', 375n, 2],
    ['0.18000000000000002', 18000000000000002n, 17],
  ])('%j is %s × 10^-%i', (literal, units, scale) => {
    expect(parseExact(literal)).toEqual({ units, scale });
  });

  it.each(['', '.5', '5.', '+1', '1e', 'e5', 'NaN', 'Infinity', '0x10', '1,5', '1 000', '--1'])('rejects %j', (literal) => {
    expect(parseExact(literal)).toBeNull();
  });

  it('exact() throws on a non-literal, naming the text', () => {
    expect(() => exact('abc')).toThrow('not a decimal: "abc"');
  });
});

describe('multiply: exact where a binary float is not', () => {
  it.each([
    // 0.21 × 0.85 = 0.1785 (15% off 0.21)
    ['0.21', '0.85', '0.1785'],
    // 1.1 × 1.1 = 1.21 (1.2100000000000002 in a double)
    ['1.1', '1.1', '1.21'],
    ['0.1', '0.1', '0.01'],
    ['0.875', '0.0000001', '0.0000000875'],
    ['-2', '0.5', '-1'],
    ['5', '0', '0'],
  ])('%s × %s = %s', (a, b, expected) => {
    expect(text(multiply(exact(a), exact(b)))).toBe(expected);
  });
});

describe('rescale', () => {
  it('writes a value with more decimals, and refuses to drop digits', () => {
    expect(rescale(exact('1.5'), 3)).toEqual({ units: 1500n, scale: 3 });
    expect(rescale(exact('1.5'), 1)).toEqual({ units: 15n, scale: 1 });
    expect(() => rescale(exact('1.55'), 1)).toThrow(new RangeError('cannot write 1.55 with 1 decimals'));
  });
});

describe('formatExact', () => {
  it.each([
    [{ units: 1500n, scale: 3 }, '1.5'],
    [{ units: 100n, scale: 0 }, '100'],
    [{ units: 10n, scale: 1 }, '1'],
    [{ units: 0n, scale: 5 }, '0'],
    [{ units: -5n, scale: 3 }, '-0.005'],
    [{ units: 135n, scale: 4 }, '0.0135'],
    [{ units: 12n, scale: -2 }, '1200'],
    [{ units: 1n, scale: 23 }, '0.00000000000000000000001'],
    [{ units: -120n, scale: 2 }, '-1.2'],
  ])('%o prints as %j (trailing zeros trimmed)', (value, expected) => {
    expect(formatExact(value)).toBe(expected);
  });
});

describe('toMoneyUnits: stored amounts, rounded half-to-even at 12 decimals', () => {
  it.each([
    // [exact value, units of 10^-12]
    ['0.0135', 13_500_000_000n],
    ['12', 12_000_000_000_000n],
    ['1e-7', 100_000n],
    ['0.000000000001', 1n],
    // 23 decimals: 0.000000180000|00000000002 → the tail is below half, dropped
    ['0.00000018000000000000002', 180_000n],
    // exactly half: to the even neighbour
    ['0.0000000000005', 0n],
    ['0.0000000000015', 2n],
    ['0.0000000000025', 2n],
    ['0.0000000000035', 4n],
    // 23 decimals just either side of half
    ['0.00000000000250000000001', 3n],
    ['0.00000000000249999999999', 2n],
    // negative values round symmetrically
    ['-0.0000000000025', -2n],
    ['-0.0000000000035', -4n],
    ['-0.00000000000250000000001', -3n],
  ])('%s → %s units', (literal, units) => {
    expect(toMoneyUnits(exact(literal))).toBe(units);
  });

  it('does not round a value that already fits 12 decimals', () => {
    // 0.1785 has 4 decimals: 0.1785 × 10^12
    expect(toMoneyUnits(multiply(exact('0.21'), exact('0.85')))).toBe(178_500_000_000n);
  });
});
