import { describe, expect, it } from 'vitest';
import { populationStabilityIndex, smoothedShares } from '../../../../services/detection/named/psi.ts';

describe('populationStabilityIndex', () => {
  it('matches the hand computation: shares 50/50 → 90/10 give 0.4 ln 1.8 + 0.4 ln 5 = 0.4 ln 9', () => {
    expect(populationStabilityIndex([50, 50], [90, 10])).toBeCloseTo(0.4 * Math.log(9), 12);
    expect(populationStabilityIndex([50, 50], [90, 10])).toBeCloseTo(0.87889, 5);
  });

  it('is zero for the same shares at any volume, and symmetric', () => {
    expect(populationStabilityIndex([10, 30, 60], [100, 300, 600])).toBe(0);
    expect(populationStabilityIndex([50, 50], [90, 10])).toBeCloseTo(populationStabilityIndex([90, 10], [50, 50]), 12);
  });

  it('replaces an empty bucket by epsilon and re-normalises', () => {
    const base = [1 / 1.0001, 0.0001 / 1.0001];
    expect(smoothedShares([400, 0])).toEqual(base);
    const cur = [1 / 11, 10 / 11];
    const byHand = (cur[0]! - base[0]!) * Math.log(cur[0]! / base[0]!) + (cur[1]! - base[1]!) * Math.log(cur[1]! / base[1]!);
    expect(populationStabilityIndex([400, 0], [1, 10])).toBeCloseTo(byHand, 12);
    expect(populationStabilityIndex([400, 0], [1, 10])).toBeCloseTo(10.4653, 3);
  });

  it('refuses buckets that do not line up', () => {
    expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).toThrow(RangeError);
  });
});
