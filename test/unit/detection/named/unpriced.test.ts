import { describe, expect, it } from 'vitest';
import { isScopeDimension } from '../../../../services/alerts/alert-scope.ts';
import type { UnpricedRow } from '../../../../services/detection/named/inputs.ts';
import { UNPRICED_DEFAULTS, detectUnpricedUsage } from '../../../../services/detection/named/unpriced.ts';
import { diurnal, poisson, seededRandom } from './seeded-traffic.ts';

const T0 = Date.UTC(2026, 2, 10, 14, 0);
const HOUR = 3_600_000;
const window = { start: T0, end: T0 + HOUR, baselineStart: T0 - 24 * HOUR, baselineEnd: T0 };

function row(baseline: [number, number], current: [number, number], reasons: readonly string[] = ['model_not_in_catalog']): UnpricedRow {
  return { provider: 'openai', model: 'gpt-5-preview', gateway: 'litellm-eu', baselineEvents: baseline[0], baselineUnpriced: baseline[1], currentEvents: current[0], currentUnpriced: current[1], reasons };
}

describe('detectUnpricedUsage', () => {
  it('fires when unpriced usage appears, naming the reasons, with nothing at stake on paper', () => {
    const [finding, ...rest] = detectUnpricedUsage([row([10_000, 0], [1_030, 412], ['model_not_in_catalog', 'no_usage_tokens'])], window);
    expect(rest).toEqual([]);
    expect(finding).toEqual({
      kind: 'unpriced_usage',
      metric: 'unpriced_events',
      scope: { provider: 'openai', model: 'gpt-5-preview', gateway_id: 'litellm-eu' },
      windowStart: T0,
      windowEnd: T0 + HOUR,
      since: T0,
      unit: 'events',
      observed: 412,
      expected: 0,
      low: 0,
      high: 10,
      score: 0.4,
      atStakePerHour: '0',
      spent: '0',
      contributors: [{ dimension: 'model', value: 'gpt-5-preview', observed: '0.4', expected: '0' }],
      headline: '412 of 1,030 events (40%) of openai/gpt-5-preview via litellm-eu were unpriced (baseline 0%): model_not_in_catalog, no_usage_tokens',
    });
    // The scope names usage columns, the dimensions alert filters and silences know.
    expect(Object.keys(finding!.scope).filter((dimension) => !isScopeDimension(dimension))).toEqual([]);
  });

  it('fires at ten times the baseline share, not below', () => {
    expect(detectUnpricedUsage([row([10_000, 100], [1_000, 100])], window)[0]).toMatchObject({ expected: 10, high: 100, score: 0.1 });
    expect(detectUnpricedUsage([row([10_000, 100], [1_000, 99])], window)).toEqual([]);
  });

  it('stays quiet on a handful of unpriced events, and on a model never priced at a steady share', () => {
    expect(detectUnpricedUsage([row([10_000, 0], [9, 9])], window)).toEqual([]);
    expect(detectUnpricedUsage([row([24_000, 24_000], [1_000, 1_000])], window)).toEqual([]);
    expect(detectUnpricedUsage([row([0, 0], [12, 12])], window, { ...UNPRICED_DEFAULTS, minEvents: 13 })).toEqual([]);
  });

  it('stays quiet on clean diurnal traffic with a steady trickle of unpriced events', () => {
    const random = seededRandom(53);
    const rows: UnpricedRow[] = [];
    for (let i = 0; i < 60; i += 1) {
      const volume = 20 + 2000 * random();
      const share = random() < 0.3 ? 0.005 + 0.05 * random() : 0;
      const baselineEvents = Array.from({ length: 24 }, (_, hour) => poisson(random, volume * diurnal(hour))).reduce((sum, count) => sum + count, 0);
      const currentEvents = poisson(random, volume * diurnal(14));
      rows.push({
        provider: 'openai',
        model: `model-${i}`,
        gateway: i % 2 === 0 ? 'litellm-eu' : 'portkey-us',
        baselineEvents,
        baselineUnpriced: poisson(random, baselineEvents * share),
        currentEvents,
        currentUnpriced: poisson(random, currentEvents * share),
        reasons: share > 0 ? ['no_usage_tokens'] : [],
      });
    }
    expect(rows.filter((r) => r.currentUnpriced >= 10).length).toBeGreaterThan(5);
    expect(detectUnpricedUsage(rows, window)).toEqual([]);
  });
});
