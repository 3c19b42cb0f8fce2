import { describe, expect, it } from 'vitest';
import { decimalUnits } from '../../../../services/money/decimal.ts';
import type { TokenDistribution } from '../../../../services/detection/named/inputs.ts';
import { TOKEN_DRIFT_DEFAULTS, detectTokenDrift, kolmogorovSmirnov } from '../../../../services/detection/named/token-drift.ts';
import { diurnal, normal, poisson, seededRandom } from './seeded-traffic.ts';

const T0 = Date.UTC(2026, 2, 10, 14, 0);
const HOUR = 3_600_000;
const window = { start: T0, end: T0 + HOUR, baselineStart: T0 - 24 * HOUR, baselineEnd: T0 };

/** Half the baseline in bin 9 (511–1022 tokens) and half in bin 10; the window 10% and 90%. */
const handCase: TokenDistribution = {
  dimension: 'feature',
  value: 'search',
  direction: 'input',
  bins: [
    { bin: 10, baseline: 500, current: 450 },
    { bin: 9, baseline: 500, current: 50 },
  ],
  baselineMeanTokens: 768,
  currentMeanTokens: 960,
  currentRequests: 500,
  currentCostUnits: decimalUnits('12'),
};

describe('detectTokenDrift', () => {
  it('fires with PSI 0.4 ln 9 and KS D 0.4, the baseline range and the cost of the extra tokens', () => {
    const [finding, ...rest] = detectTokenDrift([handCase], window);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'token_drift',
      metric: 'input_tokens_per_request',
      scope: { feature: 'search' },
      since: T0,
      unit: 'tokens/request',
      observed: 960,
      expected: 768,
      low: 511,
      high: 2047,
      // $12 × (1 − 768 / 960) = $2.40 of the hour went on the extra fifth of the tokens.
      atStakePerHour: '2.4',
      spent: '12',
      headline: 'input tokens per request of feature search rose from 768 to 960 on average (PSI 0.88, KS D 0.4; 98% of baseline requests within 511–2,047)',
      contributors: [
        { dimension: 'input_tokens_per_request', value: '511-1022', observed: '0.1', expected: '0.5' },
        { dimension: 'input_tokens_per_request', value: '1023-2046', observed: '0.9', expected: '0.5' },
      ],
    });
    expect(finding!.score).toBeCloseTo(0.4 * Math.log(9), 12);
  });

  it('computes KS D as the largest gap between the cumulative shares', () => {
    expect(kolmogorovSmirnov([500, 500], [50, 450])).toBeCloseTo(0.4, 12);
    expect(kolmogorovSmirnov([25, 50, 25], [0, 25, 75])).toBeCloseTo(0.5, 12);
    expect(kolmogorovSmirnov([1, 2, 3], [10, 20, 30])).toBe(0);
  });

  it('leaves the outer 1% of the baseline at each end out of the expected range', () => {
    const bins = [
      { bin: 3, baseline: 5, current: 0 },
      { bin: 5, baseline: 100, current: 0 },
      { bin: 6, baseline: 290, current: 0 },
      { bin: 7, baseline: 100, current: 0 },
      { bin: 9, baseline: 0, current: 200 },
      { bin: 12, baseline: 5, current: 0 },
    ];
    const [finding] = detectTokenDrift([{ ...handCase, bins, currentRequests: 200 }], window);
    expect([finding?.low, finding?.high]).toEqual([7, 255]);
  });

  it('fires on a fall too, with nothing at stake', () => {
    const fell = { ...handCase, bins: handCase.bins.map((bin) => ({ ...bin, current: bin.bin === 9 ? 450 : 50 })), currentMeanTokens: 560 };
    const [finding] = detectTokenDrift([fell], window);
    expect(finding?.atStakePerHour).toBe('0');
    expect(finding?.headline).toMatch(/^input tokens per request of feature search fell from 768 to 560 on average/);
  });

  it('stays quiet on tiny volumes', () => {
    expect(detectTokenDrift([{ ...handCase, currentRequests: 99 }], window)).toEqual([]);
    const thinBaseline = { ...handCase, bins: handCase.bins.map((bin) => ({ ...bin, baseline: 240 })) };
    expect(detectTokenDrift([thinBaseline], window)).toEqual([]);
    expect(detectTokenDrift([handCase], window, { ...TOKEN_DRIFT_DEFAULTS, threshold: 0.9 })).toEqual([]);
  });

  it('stays quiet on clean diurnal traffic of many features and finds the one whose prompts quadrupled', () => {
    const random = seededRandom(31);
    const clean: TokenDistribution[] = [];
    const drifted: TokenDistribution[] = [];
    for (let f = 0; f < 40; f += 1) {
      for (const direction of ['input', 'output'] as const) {
        const median = direction === 'input' ? 400 + 3000 * random() : 80 + 600 * random();
        const volume = 150 + 500 * random();
        const sample = (count: number, scale: number) => Array.from({ length: count }, () => Math.round(scale * median * Math.exp(0.9 * normal(random))));
        const baseline = Array.from({ length: 24 }, (_, hour) => sample(poisson(random, volume * diurnal(hour)), 1)).flat();
        const current = sample(poisson(random, volume * diurnal(14)), 1);
        clean.push(distribution(`feature-${f}`, direction, baseline, current));
        drifted.push(f === 17 && direction === 'input' ? distribution(`feature-${f}`, direction, baseline, current.map((tokens) => tokens * 4)) : clean.at(-1)!);
      }
    }
    expect(clean.every((candidate) => candidate.currentRequests >= 100)).toBe(true);
    expect(detectTokenDrift(clean, window)).toEqual([]);
    const found = detectTokenDrift(drifted, window);
    expect(found.map((finding) => [finding.scope, finding.metric])).toEqual([[{ feature: 'feature-17' }, 'input_tokens_per_request']]);
    // Four times the tokens: about three quarters of the window's spend is on the extra ones.
    const incident = drifted.find((d) => d.value === 'feature-17' && d.direction === 'input')!;
    const cost = Number(incident.currentCostUnits) / 1e12;
    expect(Number(found[0]!.atStakePerHour)).toBeCloseTo(cost * (1 - incident.baselineMeanTokens / incident.currentMeanTokens), 6);
    expect(Number(found[0]!.atStakePerHour) / cost).toBeGreaterThan(0.7);
    expect(Number(found[0]!.atStakePerHour) / cost).toBeLessThan(0.8);
  });
});

/** Tokens per request binned as the detection query bins them: bin b holds 2^b − 1 ≤ tokens < 2^(b+1) − 1. Cost: $0.002 per 1,000 tokens. */
function distribution(value: string, direction: 'input' | 'output', baseline: readonly number[], current: readonly number[]): TokenDistribution {
  const bins = new Map<number, { bin: number; baseline: number; current: number }>();
  const binOf = (tokens: number) => Math.floor(Math.log2(tokens + 1));
  for (const [side, sample] of [['baseline', baseline], ['current', current]] as const) {
    for (const tokens of sample) {
      const bin = bins.get(binOf(tokens)) ?? { bin: binOf(tokens), baseline: 0, current: 0 };
      bin[side] += 1;
      bins.set(bin.bin, bin);
    }
  }
  const mean = (sample: readonly number[]) => sample.reduce((sum, tokens) => sum + tokens, 0) / sample.length;
  const tokens = current.reduce((sum, count) => sum + count, 0);
  return {
    dimension: 'feature',
    value,
    direction,
    bins: [...bins.values()],
    baselineMeanTokens: mean(baseline),
    currentMeanTokens: mean(current),
    currentRequests: current.length,
    currentCostUnits: BigInt(tokens) * 2_000_000n,
  };
}

