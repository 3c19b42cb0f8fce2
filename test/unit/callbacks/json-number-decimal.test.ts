import { describe, expect, it } from 'vitest';
import { jsonNumberToDecimal } from '../../../services/callbacks/json-number-decimal.ts';

/** Costs arrive as JSON numbers; what JSON.parse makes of the gateway's text must become that text's decimal, exactly. */
const fromJson = (text: string) => jsonNumberToDecimal(JSON.parse(text) as number);

describe('jsonNumberToDecimal', () => {
  it.each([
    ['0.0003249', '0.0003249'],
    ['1.2345e-07', '0.00000012345'],
    ['1.2345E-7', '0.00000012345'],
    ['1.6e-07', '0.00000016'],
    ['3.8e-05', '0.000038'],
    ['0.21837525', '0.21837525'],
    ['1e+21', '1000000000000000000000'],
    ['2.5e3', '2500'],
    ['0', '0'],
    ['-0', '0'],
    ['0.0', '0'],
    ['12', '12'],
    ['123.456', '123.456'],
    ['0.000000000001', '0.000000000001'],
  ])('%s → %s', (text, decimal) => {
    expect(fromJson(text)).toBe(decimal);
  });

  it('keeps what Python wrote for a sum of floats (its repr is the shortest round-trip text, as String() is)', () => {
    // Python: 0.1 + 0.2 → 0.30000000000000004 (17 significant digits, 17 decimals): rounded to picodollars.
    expect(fromJson('0.30000000000000004')).toBe('0.3');
    // 3.5e-06 * 123 in Python: 0.00043050000000000004.
    expect(fromJson('0.00043050000000000004')).toBe('0.0004305');
  });

  it('rounds below a picodollar half-to-even, on the decimal digits', () => {
    // 0.1 + 1e-13 in Python is 0.1000000000001: one digit past the 12 decimals kept.
    expect(fromJson('0.1000000000001')).toBe('0.1');
    expect(fromJson('5e-13')).toBe('0');
    expect(fromJson('1.5e-12')).toBe('0.000000000002');
    expect(fromJson('2.5e-12')).toBe('0.000000000002');
    expect(fromJson('3.5e-12')).toBe('0.000000000004');
    expect(fromJson('0.0000000000025000001')).toBe('0.000000000003');
  });

  it('keeps the sign of a negative cost for the validator to refuse', () => {
    expect(fromJson('-0.25')).toBe('-0.25');
    expect(fromJson('-1e-7')).toBe('-0.0000001');
  });

  it('has no decimal for the non-finite values JSON cannot carry', () => {
    expect(jsonNumberToDecimal(Number.NaN)).toBeNull();
    expect(jsonNumberToDecimal(Number.POSITIVE_INFINITY)).toBeNull();
  });

  it('never computes with floats: a value whose double is not the decimal still gives the decimal text', () => {
    // 0.1 as a double is 0.1000000000000000055511151231257827…; the text the sender meant is 0.1.
    expect(fromJson('0.1')).toBe('0.1');
    expect(fromJson('1.1')).toBe('1.1');
    expect(fromJson('0.07')).toBe('0.07');
  });
});
