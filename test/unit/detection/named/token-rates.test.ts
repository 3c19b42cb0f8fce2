import { describe, expect, it } from 'vitest';
import { expectedCost, fitTokenRates } from '../../../../services/detection/named/token-rates.ts';
import { seededRandom } from './seeded-traffic.ts';

describe('fitTokenRates', () => {
  it('recovers the input and output rates of exactly priced hours', () => {
    const random = seededRandom(2);
    const hours = Array.from({ length: 24 }, () => {
      const inputTokens = Math.round(1e6 * (0.2 + random()));
      const outputTokens = Math.round(inputTokens * (0.1 + 0.3 * random()));
      return { inputTokens, outputTokens, usd: inputTokens * 2.5e-6 + outputTokens * 1e-5 };
    });
    const rates = fitTokenRates(hours)!;
    expect(rates.split).toBe(true);
    expect(rates.input / 2.5e-6 - 1).toBeCloseTo(0, 9);
    expect(rates.output / 1e-5 - 1).toBeCloseTo(0, 9);
    expect(expectedCost(rates, 2_000_000, 500_000)).toBeCloseTo(10, 8);
  });

  it('solves the normal equations of a small case by hand', () => {
    // Σin² = 5, Σout² = 5, Σin·out = 4, Σin·cost = 13, Σout·cost = 14: a = (5·13 − 4·14) / 9 = 1, b = (5·14 − 4·13) / 9 = 2.
    expect(fitTokenRates([{ inputTokens: 1, outputTokens: 2, usd: 5 }, { inputTokens: 2, outputTokens: 1, usd: 4 }])).toEqual({ input: 1, output: 2, split: true });
  });

  it('falls back to one blended rate when the rates cannot be told apart or one comes out negative', () => {
    const lockstep = [1, 2, 3].map((k) => ({ inputTokens: 4 * k, outputTokens: k, usd: 5 * k }));
    expect(fitTokenRates(lockstep)).toEqual({ input: 1, output: 1, split: false });
    // Least squares would give output a negative rate here.
    const negative = [{ inputTokens: 10, outputTokens: 1, usd: 10 }, { inputTokens: 10, outputTokens: 5, usd: 9 }];
    expect(fitTokenRates(negative)).toEqual({ input: 19 / 26, output: 19 / 26, split: false });
    expect(fitTokenRates([{ inputTokens: 0, outputTokens: 0, usd: 0 }])).toBeNull();
  });
});
