import { describe, expect, it } from 'vitest';
import { chiSquareQuantile, homogeneityG, significantChange } from '../../../../services/detection/named/homogeneity.ts';
import { seededRandom } from './seeded-traffic.ts';

describe('homogeneityG', () => {
  it('matches the hand computation on a 2 × 2 table (expected counts 70/30 on both sides)', () => {
    const byHand = 2 * (50 * Math.log(50 / 70) + 90 * Math.log(90 / 70) + 50 * Math.log(50 / 30) + 10 * Math.log(10 / 30));
    expect(homogeneityG([50, 50], [90, 10])).toEqual({ g: byHand, df: 1 });
    expect(byHand).toBeCloseTo(40.6997, 4);
  });

  it('is zero for the same shares, counts no bucket empty on both sides, and adds nothing for an empty cell', () => {
    expect(homogeneityG([100, 300, 0], [10, 30, 0])).toEqual({ g: 0, df: 1 });
    expect(homogeneityG([950, 50], [50, 0]).g).toBeCloseTo(2 * (950 * Math.log(950 / (1000 * (1000 / 1050))) + 50 * Math.log(50 / (50 * (1000 / 1050))) + 50 * Math.log(50 / (1000 * (50 / 1050)))), 9);
  });
});

describe('chiSquareQuantile', () => {
  it('is a little above the exact χ² quantiles at p = 0.001, closer as df grows', () => {
    const exact: [number, number, number][] = [[1, 10.828, 0.031], [2, 13.816, 0.023], [5, 20.515, 0.012], [10, 29.588, 0.006], [30, 59.703, 0.002]];
    for (const [df, quantile, off] of exact) {
      expect(chiSquareQuantile(df, 3.09) / quantile - 1).toBeGreaterThan(0);
      expect(chiSquareQuantile(df, 3.09) / quantile - 1).toBeLessThan(off);
    }
  });
});

describe('significantChange', () => {
  it('fires about once in a thousand when both samples come from one distribution, even with a rare bucket', () => {
    const random = seededRandom(3);
    const draw = (n: number) => {
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i += 1) {
        const u = random();
        counts[u < 0.6 ? 0 : u < 0.95 ? 1 : 2]! += 1;
      }
      return counts;
    };
    let fired = 0;
    for (let trial = 0; trial < 5000; trial += 1) if (significantChange(draw(2000), draw(50))) fired += 1;
    expect(fired / 5000).toBeLessThan(0.003);
    expect(significantChange([600, 350, 50], [30, 10, 10])).toBe(true);
  });
});
