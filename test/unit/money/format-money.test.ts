import { describe, expect, it } from 'vitest';
import { formatDecimal } from '../../../services/money/decimal.ts';
import { formatMoney, toMoneyUnits } from '../../../services/money/exact-decimal.ts';

/** formatMoney is a fast path; it must agree with the plain bigint rounding everywhere. */
describe('formatMoney', () => {
  it.each([
    ['0.0000000000005', '0'], // exactly half a unit, even neighbour 0: stays
    ['0.0000000000015', '0.000000000002'], // half, odd neighbour 1: up to even 2
    ['0.00000000000150001', '0.000000000002'],
    ['0.0000000000004999', '0'],
    ['1.8000000000000002', '1.8'],
    ['0.000000180000000000002', '0.00000018'],
    ['12.345', '12.345'],
    ['0', '0'],
  ])('rounds %s to %s', (text, expected) => {
    const [whole, fraction = ''] = text.split('.');
    const value = { units: BigInt(whole + fraction), scale: fraction.length };
    expect(formatMoney(value)).toBe(expected);
    expect(formatDecimal(toMoneyUnits(value))).toBe(expected);
  });

  it('agrees with bigint rounding on 50,000 pseudo-random values', () => {
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 50_000; i += 1) {
      const length = 1 + (next() % 30);
      let digits = '';
      for (let j = 0; j < length; j += 1) digits += String(next() % 10);
      // Plenty of exact halves, where half-to-even matters.
      if (next() % 5 === 0) digits = `${digits.slice(0, Math.max(1, length - 12))}5${'0'.repeat(11)}`;
      const value = { units: BigInt(digits), scale: 12 + (next() % 14) };
      expect(formatMoney(value)).toBe(formatDecimal(toMoneyUnits(value)));
    }
  });
});
