import { describe, expect, it } from 'vitest';
import type { ModelPriceHour } from '../../../../services/detection/named/inputs.ts';
import { PRICE_DRIFT_DEFAULTS, detectPriceDrift } from '../../../../services/detection/named/price-drift.ts';
import { diurnal, seededRandom } from './seeded-traffic.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 10, 14, 0);
const window = { start: T0, end: T0 + HOUR, baselineStart: T0 - 24 * HOUR, baselineEnd: T0 };

/** gpt-4o at $2.50 per 1M input tokens and $10 per 1M output tokens, in units (10⁻¹² USD) per token. */
const INPUT_RATE = 2_500_000n;
const OUTPUT_RATE = 10_000_000n;

interface HourSpec {
  readonly model?: string;
  readonly hour: number;
  readonly input: number;
  readonly output: number;
  /** Multiplier of the true price in Spendline's cost and in the gateway's, as [numerator, denominator]. */
  readonly cost?: readonly [bigint, bigint];
  readonly reported?: readonly [bigint, bigint] | null;
  readonly versions?: readonly string[];
  readonly rates?: readonly [bigint, bigint];
}

function hour(spec: HourSpec): ModelPriceHour {
  const [inputRate, outputRate] = spec.rates ?? [INPUT_RATE, OUTPUT_RATE];
  const price = BigInt(spec.input) * inputRate + BigInt(spec.output) * outputRate;
  const [n, d] = spec.cost ?? [1n, 1n];
  const reported = spec.reported === undefined ? ([1n, 1n] as const) : spec.reported;
  return {
    model: spec.model ?? 'gpt-4o',
    hour: spec.hour,
    inputTokens: spec.input,
    outputTokens: spec.output,
    costUnits: (price * n) / d,
    reportedCostUnits: reported === null ? null : (price * reported[0]) / reported[1],
    reportedInputTokens: reported === null ? 0 : spec.input,
    reportedOutputTokens: reported === null ? 0 : spec.output,
    priceVersions: spec.versions ?? ['2026-03'],
  };
}

/** A day of baseline hours: volume follows the day, answers run 15–35% of the prompt tokens. */
function baselineDay(seed: number, extra: Partial<HourSpec> = {}): ModelPriceHour[] {
  const random = seededRandom(seed);
  return Array.from({ length: 24 }, (_, i) => {
    const at = window.baselineStart + i * HOUR;
    const input = Math.round(2_000_000 * diurnal(new Date(at).getUTCHours()) * (0.8 + 0.4 * random()));
    return hour({ hour: at, input, output: Math.round(input * (0.15 + 0.2 * random())), ...extra });
  });
}

describe('detectPriceDrift', () => {
  const baseline = baselineDay(1);

  it('fires when Spendline prices tokens 25% above the baseline rates with the same price tables', () => {
    const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [5n, 4n] })];
    const [finding, ...rest] = detectPriceDrift(baseline, current, window);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'price_drift',
      metric: 'cost_per_token',
      scope: { model: 'gpt-4o' },
      since: T0,
      unit: 'USD/1M tokens',
      // $12.50 for 2.5M tokens where $10 was expected: $5 against $4 per 1M tokens.
      atStakePerHour: '2.5',
      spent: '12.5',
      contributors: [{ dimension: 'model', value: 'gpt-4o', observed: '12.5', expected: '10' }],
      headline: 'gpt-4o cost per token rose 25% against its baseline rates ($2.50 in, $10.00 out per 1M tokens): $12.50 vs $10.00 expected, price tables unchanged (2026-03)',
    });
    expect(finding!.score).toBeCloseTo(0.25, 9);
    expect(finding!.observed).toBeCloseTo(5, 9);
    expect(finding!.expected).toBeCloseTo(4, 9);
    expect([finding!.low, finding!.high].map((bound) => Math.round(bound * 1e6) / 1e6)).toEqual([3.2, 4.8]);
  });

  it('stays quiet when the price tables changed: a catalog change explains a price change', () => {
    const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [5n, 4n], reported: [5n, 4n], versions: ['2026-04'] })];
    expect(detectPriceDrift(baseline, current, window)).toEqual([]);
  });

  describe('after a catalog update within the baseline (a price version is a hash of the whole catalog)', () => {
    const DAY = 24 * HOUR;
    const week = { ...window, baselineStart: T0 - 7 * DAY };
    const [OLD, NEW] = ['c41a9e', '7be2d0'];
    // Three days on the old tables, which priced gpt-4o at twice today's rates, then four on the new ones.
    const history = Array.from({ length: 7 }, (_, day) =>
      baselineDay(100 + day, day < 3 ? { versions: [OLD], rates: [INPUT_RATE * 2n, OUTPUT_RATE * 2n] } : { versions: [NEW] }).map((row) => ({ ...row, hour: row.hour - (6 - day) * DAY })),
    ).flat();

    it('fits the rates on the hours priced like the window and fires when the cost per token doubles', () => {
      const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [2n, 1n], versions: [NEW] })];
      const [finding, ...rest] = detectPriceDrift(history, current, week);
      expect(rest).toEqual([]);
      expect(finding).toMatchObject({
        metric: 'cost_per_token',
        scope: { model: 'gpt-4o' },
        since: T0,
        atStakePerHour: '10',
        spent: '20',
        headline: 'gpt-4o cost per token rose 100% against its baseline rates ($2.50 in, $10.00 out per 1M tokens): $20.00 vs $10.00 expected, price tables unchanged (7be2d0)',
      });
      expect(finding!.score).toBeCloseTo(1, 9);
      expect(finding!.expected).toBeCloseTo(4, 9);
    });

    it('stays quiet on the old rates once the window is priced on the new tables', () => {
      const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, versions: [NEW] })];
      expect(detectPriceDrift(history, current, week)).toEqual([]);
    });

    it('stays quiet when the window is priced with tables no baseline hour used', () => {
      const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [2n, 1n], reported: [2n, 1n], versions: ['e09f5c'] })];
      expect(detectPriceDrift(history, current, week)).toEqual([]);
    });

    it('waits for six baseline hours on the window’s tables', () => {
      const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [2n, 1n], versions: [NEW] })];
      const sinceUpdate = (hours: number) => history.map((row) => (row.hour < T0 - hours * HOUR ? { ...row, priceVersions: [OLD] } : row));
      expect(detectPriceDrift(sinceUpdate(5), current, week)).toEqual([]);
      expect(detectPriceDrift(sinceUpdate(6), current, week).map((finding) => finding.metric)).toEqual(['cost_per_token']);
    });
  });

  it('catches a provider price change in the reported cost when the catalog did not change', () => {
    const current = [hour({ hour: T0, input: 2_000_000, output: 500_000, reported: [13n, 10n] })];
    const findings = detectPriceDrift(baseline, current, window);
    expect(findings.map((finding) => [finding.metric, finding.atStakePerHour, finding.spent])).toEqual([['reported_cost_per_token', '3', '10']]);
    expect(findings[0]!.headline).toMatch(/^gpt-4o cost per token reported by the gateway rose 30% /);
  });

  it('tells a shift towards longer answers from a price change, which one blended rate cannot', () => {
    // Twice as many output tokens as input, priced right: a blended baseline rate would call this +100%.
    const current = [hour({ hour: T0, input: 500_000, output: 1_000_000 })];
    expect(detectPriceDrift(baseline, current, window)).toEqual([]);
    const blended = detectPriceDrift(baseline, current, window, { ...PRICE_DRIFT_DEFAULTS, minConditioning: Infinity });
    expect(blended.map((finding) => finding.metric)).toEqual(['cost_per_token', 'reported_cost_per_token']);
    expect(blended[0]!.score).toBeGreaterThan(0.8);
  });

  it('names the rate that moved when the window has hours enough to fit both, and starts at the first drifted hour', () => {
    const twoHours = { ...window, end: T0 + 2 * HOUR };
    const raised: readonly [bigint, bigint] = [INPUT_RATE * 2n, OUTPUT_RATE];
    const current = [hour({ hour: T0, input: 2_000_000, output: 200_000, rates: raised }), hour({ hour: T0 + HOUR, input: 1_000_000, output: 600_000, rates: raised })];
    const [finding] = detectPriceDrift(baseline, current, twoHours);
    expect(finding?.since).toBe(T0);
    expect(finding?.contributors).toEqual([
      { dimension: 'input_usd_per_1m_tokens', value: 'gpt-4o', observed: '5', expected: '2.5' },
      { dimension: 'output_usd_per_1m_tokens', value: 'gpt-4o', observed: '10', expected: '10' },
    ]);
    // $10 + $2 + $5 + $6 = $23 against $7 + $8.50 expected over two hours: $3.75 an hour.
    expect(finding?.atStakePerHour).toBe('3.75');
  });

  it('falls back to one rate when input and output always came in the same proportion', () => {
    const lockstep = Array.from({ length: 24 }, (_, i) => hour({ hour: window.baselineStart + i * HOUR, input: 400_000 * (1 + (i % 5)), output: 100_000 * (1 + (i % 5)) }));
    expect(detectPriceDrift(lockstep, [hour({ hour: T0, input: 800_000, output: 200_000 })], window)).toEqual([]);
    const [finding] = detectPriceDrift(lockstep, [hour({ hour: T0, input: 800_000, output: 200_000, cost: [13n, 10n] })], window);
    expect(finding?.headline).toBe('gpt-4o cost per token rose 30% against its baseline rates ($4.00 per 1M tokens): $5.20 vs $4.00 expected, price tables unchanged (2026-03)');
  });

  it('stays quiet on tiny volumes and short baselines', () => {
    expect(detectPriceDrift(baseline, [hour({ hour: T0, input: 60_000, output: 30_000, cost: [3n, 2n] })], window)).toEqual([]);
    expect(detectPriceDrift(baseline.slice(0, 5), [hour({ hour: T0, input: 2_000_000, output: 500_000, cost: [3n, 2n] })], window)).toEqual([]);
  });

  it('stays quiet on clean noisy traffic of several models, with cache discounts and some gateways not reporting costs', () => {
    const random = seededRandom(41);
    const models = [
      { model: 'gpt-4o', rates: [2_500_000n, 10_000_000n] as const, scale: 2_000_000 },
      { model: 'gpt-4o-mini', rates: [150_000n, 600_000n] as const, scale: 20_000_000 },
      { model: 'claude-sonnet-4', rates: [3_000_000n, 15_000_000n] as const, scale: 1_000_000 },
      { model: 'o3', rates: [2_000_000n, 8_000_000n] as const, scale: 300_000 },
      { model: 'mistral-large', rates: [2_000_000n, 6_000_000n] as const, scale: 150_000 },
    ];
    const traffic = (model: (typeof models)[number], at: number): ModelPriceHour => {
      const input = Math.round(model.scale * diurnal(new Date(at).getUTCHours()) * (0.7 + 0.6 * random()));
      const output = Math.round(input * (0.1 + 0.4 * random()));
      // Cache hits take up to 8% off an hour's cost.
      const discount = BigInt(Math.round(1000 - 80 * random()));
      return hour({ model: model.model, hour: at, input, output, rates: model.rates, cost: [discount, 1000n], reported: model.model === 'mistral-large' ? null : [discount, 1000n] });
    };
    const history = models.flatMap((model) => Array.from({ length: 48 }, (_, i) => traffic(model, T0 - (48 - i) * HOUR)));
    const current = models.map((model) => traffic(model, T0));
    expect(detectPriceDrift(history, current, window)).toEqual([]);
    const tiered = current.map((row) => (row.model === 'o3' ? { ...row, costUnits: (row.costUnits * 3n) / 2n } : row));
    expect(detectPriceDrift(history, tiered, window).map((finding) => [finding.scope.model, finding.metric])).toEqual([['o3', 'cost_per_token']]);
  });
});
