import { describe, expect, it } from 'vitest';
import { decimalUnits } from '../../../../services/money/decimal.ts';
import type { ModelMixRow } from '../../../../services/detection/named/inputs.ts';
import { MODEL_MIX_DEFAULTS, detectModelMixDrift } from '../../../../services/detection/named/model-mix.ts';
import { diurnal, poisson, seededRandom } from './seeded-traffic.ts';

const T0 = Date.UTC(2026, 2, 10, 14, 0);
const HOUR = 3_600_000;
const window = { start: T0, end: T0 + HOUR, baselineStart: T0 - 24 * HOUR, baselineEnd: T0 };

function row(model: string, baseline: [number, string], current: [number, string], value = 'search'): ModelMixRow {
  return {
    dimension: 'feature',
    value,
    model,
    baselineRequests: baseline[0],
    baselineCostUnits: decimalUnits(baseline[1]),
    currentRequests: current[0],
    currentCostUnits: decimalUnits(current[1]),
  };
}

describe('detectModelMixDrift', () => {
  // Requests move to the model at $0.04 a request from the one at $0.01; spend shares 50/50 → 90/10: PSI = 0.4 ln 1.8 + 0.4 ln 5 = 0.4 ln 9 ≈ 0.8789.
  const drifted = [row('gpt-4o', [100, '4'], [90, '3.6']), row('gpt-4o-mini', [400, '4'], [40, '0.4'])];

  it('fires with the PSI of the spend shares, the models that moved and the spend above the baseline cost per request', () => {
    const [finding, ...rest] = detectModelMixDrift(drifted, window);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'model_mix_drift',
      metric: 'share_of_spend',
      scope: { feature: 'search' },
      since: T0,
      unit: 'PSI',
      expected: 0,
      low: 0,
      high: 0.2,
      // 130 requests at the baseline's $0.016 each would have cost $2.08; they cost $4.
      atStakePerHour: '1.92',
      spent: '4',
      contributors: [
        { dimension: 'model', value: 'gpt-4o', observed: '0.9', expected: '0.5' },
        { dimension: 'model', value: 'gpt-4o-mini', observed: '0.1', expected: '0.5' },
      ],
      headline: 'feature search moved its model mix (PSI 0.88, above 0.2): gpt-4o 50% → 90% of spend; cost per request $0.0160 → $0.0308',
    });
    expect(finding!.observed).toBeCloseTo(0.4 * Math.log(9), 12);
    expect(finding!.score).toBe(finding!.observed);
  });

  it('states the money at stake per hour whatever the window length', () => {
    const halfHour = { ...window, end: T0 + HOUR / 2 };
    expect(detectModelMixDrift(drifted, halfHour)[0]?.atStakePerHour).toBe('3.84');
  });

  it('scores a model appearing from nothing through the epsilon share, and puts nothing at stake when the mix got cheaper', () => {
    const rows = [row('claude-opus', [0, '0'], [50, '0.5']), row('claude-haiku', [400, '4'], [50, '0.05'])];
    const [finding] = detectModelMixDrift(rows, window);
    const base = [0.0001 / 1.0001, 1 / 1.0001];
    const cur = [0.5 / 0.55, 0.05 / 0.55];
    expect(finding!.observed).toBeCloseTo((cur[0]! - base[0]!) * Math.log(cur[0]! / base[0]!) + (cur[1]! - base[1]!) * Math.log(cur[1]! / base[1]!), 12);
    expect(finding!.atStakePerHour).toBe('0');
    expect(finding!.contributors[0]).toEqual({ dimension: 'model', value: 'claude-opus', observed: '0.9091', expected: '0' });
  });

  it('falls back to shares of requests when a side has no spend', () => {
    const unpriced = [row('local-llama', [300, '0'], [20, '0']), row('gpt-4o', [100, '0'], [80, '0'])];
    const [finding] = detectModelMixDrift(unpriced, window);
    expect(finding?.metric).toBe('share_of_requests');
    expect(finding?.observed).toBeCloseTo(0.55 * Math.log(0.8 / 0.25) + 0.55 * Math.log(0.75 / 0.2), 12);
  });

  it('stays quiet on tiny volumes', () => {
    expect(detectModelMixDrift([row('a', [200, '2'], [18, '2.7']), row('b', [200, '2'], [12, '0.3'])], window)).toEqual([]);
    expect(detectModelMixDrift([row('a', [75, '0.75'], [60, '9']), row('b', [75, '0.75'], [40, '1'])], window)).toEqual([]);
    expect(detectModelMixDrift(drifted, window, { ...MODEL_MIX_DEFAULTS, minRequests: 131 })).toEqual([]);
  });

  it('does not call a dearer request on the same models a change of mix', () => {
    // gpt-4o's requests cost 15 times more (token or price drift), but the requests per model barely moved.
    expect(detectModelMixDrift([row('gpt-4o', [200, '2'], [60, '9']), row('gpt-4o-mini', [200, '2'], [40, '1'])], window)).toEqual([]);
  });

  it('does not take the few requests of a rare expensive model swinging the spend shares for a drift', () => {
    // 73 requests in the hour; o3 got 16 where 7 were expected: PSI 0.28 on spend, but G = 9.0 on the requests, under the 14.1 of p = 0.001 with 2 df.
    const rows = [
      { ...row('gpt-4o-mini', [672, '0.410498989872'], [41, '0.024054829973']), value: 'reports' },
      { ...row('gpt-4o', [325, '2.604016182076'], [16, '0.12739817786']), value: 'reports' },
      { ...row('o3', [109, '3.150080612251'], [16, '0.48302831794']), value: 'reports' },
    ];
    expect(detectModelMixDrift(rows, window)).toEqual([]);
    const [byThresholdAlone] = detectModelMixDrift(rows, window, { ...MODEL_MIX_DEFAULTS, significanceZ: -Infinity });
    expect(byThresholdAlone?.observed).toBeCloseTo(0.28, 2);
  });

  it('stays quiet on clean diurnal traffic with sampling noise in the mix and in the prices', () => {
    const random = seededRandom(23);
    const models = [
      { model: 'gpt-4o-mini', share: 0.6, price: 0.0006 },
      { model: 'gpt-4o', share: 0.3, price: 0.008 },
      { model: 'o3', share: 0.1, price: 0.03 },
    ];
    const rows: ModelMixRow[] = [];
    for (let f = 0; f < 30; f += 1) {
      const volume = 50 + 400 * random();
      let baselineRequests = models.map(() => 0);
      const baselineCost = models.map(() => 0n);
      for (let hour = 0; hour < 24; hour += 1) {
        const counts = models.map((model) => poisson(random, volume * diurnal(hour) * model.share));
        baselineRequests = baselineRequests.map((sum, m) => sum + counts[m]!);
        counts.forEach((count, m) => (baselineCost[m]! += cost(count, models[m]!.price, random)));
      }
      for (const [m, model] of models.entries()) {
        const current = poisson(random, volume * diurnal(14) * model.share);
        rows.push({
          dimension: 'feature',
          value: `feature-${f}`,
          model: model.model,
          baselineRequests: baselineRequests[m]!,
          baselineCostUnits: baselineCost[m]!,
          currentRequests: current,
          currentCostUnits: cost(current, model.price, random),
        });
      }
    }
    expect(detectModelMixDrift(rows, window)).toEqual([]);
    // The same traffic with one feature's o3 traffic tripled is found, and only that feature.
    const shifted = rows.map((r) => (r.value === 'feature-3' && r.model === 'o3' ? { ...r, currentRequests: r.currentRequests * 3, currentCostUnits: r.currentCostUnits * 3n } : r));
    expect(detectModelMixDrift(shifted, window).map((finding) => finding.scope)).toEqual([{ feature: 'feature-3' }]);
  });
});

/** The cost of `count` requests at about `price` USD each (request sizes vary ±50%), exact units. */
function cost(count: number, price: number, random: () => number): bigint {
  let units = 0n;
  for (let i = 0; i < count; i += 1) units += BigInt(Math.round(price * (0.5 + random()) * 1e12));
  return units;
}
