import { describe, expect, it } from 'vitest';
import { isScopeDimension } from '../../../../services/alerts/alert-scope.ts';
import { decimalUnits } from '../../../../services/money/decimal.ts';
import type { FeatureRunBaseline, RunActivity } from '../../../../services/detection/named/inputs.ts';
import { RUNAWAY_DEFAULTS, detectRunaways } from '../../../../services/detection/named/runaway.ts';
import { diurnal, poisson, seededRandom } from './seeded-traffic.ts';

const T0 = Date.UTC(2026, 2, 10, 14, 0);
const MINUTE = 60_000;
const window = { start: T0, end: T0 + 60 * MINUTE, baselineStart: T0 - 86_400_000, baselineEnd: T0 };

const baselines = new Map<string, FeatureRunBaseline>([
  ['agent', { feature: 'agent', runMinutes: 5000, callsPerMinuteP99: 12, costPerMinuteP99Units: decimalUnits('0.05') }],
  ['batch', { feature: 'batch', runMinutes: 2000, callsPerMinuteP99: 60, costPerMinuteP99Units: decimalUnits('0.3') }],
  ['young', { feature: 'young', runMinutes: 50, callsPerMinuteP99: 2, costPerMinuteP99Units: decimalUnits('0.01') }],
]);

/** A run from minute `from` to 59 of the window; `at(i)` gives calls and USD cost of minute i (null: no calls). */
function run(name: string, feature: string, from: number, at: (i: number) => [number, string] | null): RunActivity {
  const minutes = [];
  for (let i = from; i < 60; i += 1) {
    const minute = at(i);
    if (minute) minutes.push({ at: T0 + i * MINUTE, calls: minute[0], costUnits: decimalUnits(minute[1]) });
  }
  return { dimension: 'agent_run_id', run: name, feature, team: 'search', user: 'ana', minutes };
}

describe('detectRunaways', () => {
  it('fires on a loop against its feature p99, with the streak start, the run spend and an hour of its pace at stake', () => {
    const looping = run('r1', 'agent', 0, (i) => (i < 50 ? [4, '0.01'] : [240, '0.6']));
    const [finding, ...rest] = detectRunaways([looping], baselines, window);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'runaway',
      metric: 'calls_per_minute',
      scope: { agent_run_id: 'r1' },
      windowStart: T0,
      windowEnd: T0 + 60 * MINUTE,
      since: T0 + 50 * MINUTE,
      unit: 'calls/min',
      observed: 240,
      expected: 12,
      low: 0,
      high: 36,
      atStakePerHour: '36',
      spent: '6.5',
      headline: "agent run r1 made 240 calls/min, 20× its feature's busiest runs (p99 12 calls/min), for 10 min",
    });
    expect(finding!.score).toBeCloseTo(1 - 36 / 240, 12);
    expect(finding!.contributors).toEqual([
      { dimension: 'feature', value: 'agent', observed: '240', expected: '12' },
      { dimension: 'team', value: 'search', observed: '240', expected: '12' },
      { dimension: 'user_id', value: 'ana', observed: '240', expected: '12' },
    ]);
    // Contributors name usage columns, the dimensions alert filters and silences know.
    expect(finding!.contributors.filter((contributor) => !isScopeDimension(contributor.dimension))).toEqual([]);
  });

  it('keeps firing while a loop spins from its first minute: the loop does not become its own baseline', () => {
    const findings = detectRunaways([run('r1', 'agent', 30, () => [240, '0.6'])], baselines, window);
    expect(findings.map((finding) => [finding.since, finding.high])).toEqual([[T0 + 30 * MINUTE, 36]]);
  });

  it('starts the streak after a minute without calls', () => {
    const findings = detectRunaways([run('r1', 'agent', 40, (i) => (i === 56 ? null : [240, '0.6']))], baselines, window);
    expect(findings[0]?.since).toBe(T0 + 57 * MINUTE);
  });

  it('fires on cost when the calls look ordinary (a loop re-sending a huge context)', () => {
    const findings = detectRunaways([run('r2', 'agent', 0, (i) => (i < 55 ? [20, '0.02'] : [20, '2']))], baselines, window);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ metric: 'cost_per_minute', unit: 'USD/min', observed: 2, expected: 0.05, high: 0.5, since: T0 + 55 * MINUTE, atStakePerHour: '120', spent: '11.1' });
    expect(findings[0]!.headline).toBe("agent run r2 spent $2.00 in a minute, 40× its feature's busiest runs (p99 $0.0500/min), for 5 min");
  });

  it('judges a busy run against its own quieter minutes when the feature baseline is too young', () => {
    const steady = (from: number) => run('r3', 'young', from, (i) => (i < 40 ? [20, '0.01'] : [45, '0.02']));
    expect(detectRunaways([steady(0)], baselines, window)).toEqual([]);
    const fresh = detectRunaways([steady(40)], baselines, window);
    expect(fresh.map((finding) => [finding.high, finding.since, finding.headline])).toEqual([
      [30, T0 + 40 * MINUTE, 'agent run r3 made 45 calls/min, over the floor of 30 calls/min with no baseline to compare, for 20 min'],
    ]);
  });

  it('stays quiet when the last minute had no calls, or on a tiny run far above a tiny p99', () => {
    expect(detectRunaways([run('r1', 'agent', 0, (i) => (i < 59 ? [240, '0.6'] : null))], baselines, window)).toEqual([]);
    expect(detectRunaways([run('r4', 'young', 0, () => [10, '0.05'])], baselines, window)).toEqual([]);
  });

  it('stays quiet on clean diurnal traffic of hundreds of runs and a steady batch run', () => {
    const random = seededRandom(11);
    const runs: RunActivity[] = [];
    for (let r = 0; r < 400; r += 1) {
      const from = Math.floor(random() * 60);
      const pace = 1 + 5 * diurnal(14 + random() * 10);
      runs.push(
        run(`clean-${r}`, 'agent', from, () => {
          const calls = poisson(random, pace);
          return calls === 0 ? null : [calls, (calls * (0.001 + 0.004 * random())).toFixed(6)];
        }),
      );
    }
    runs.push(run('nightly-batch', 'batch', 0, () => [50 + Math.floor(random() * 10), '0.25']));
    expect(runs.filter((candidate) => candidate.minutes.at(-1)?.at === T0 + 59 * MINUTE).length).toBeGreaterThan(300);
    expect(detectRunaways(runs, baselines, window)).toEqual([]);
    const looping = { ...runs[7]!, minutes: runs[7]!.minutes.map((minute) => (minute.at >= T0 + 57 * MINUTE ? { ...minute, calls: 90, costUnits: decimalUnits('0.4') } : minute)) };
    const found = detectRunaways([...runs.slice(0, 7), looping, ...runs.slice(8)], baselines, window);
    expect(found.map((finding) => [finding.scope, finding.since, finding.atStakePerHour])).toEqual([[{ agent_run_id: 'clean-7' }, T0 + 57 * MINUTE, '24']]);
  });

  it('takes the thresholds from the options', () => {
    const looping = run('r1', 'agent', 0, (i) => (i < 50 ? [4, '0.01'] : [240, '0.6']));
    expect(detectRunaways([looping], baselines, window, { ...RUNAWAY_DEFAULTS, featureFactor: 10 })[0]).toMatchObject({ metric: 'calls_per_minute', high: 120 });
    // 240 calls < 25 × 12 and $0.60 < 25 × $0.05: neither measure reaches its bound.
    expect(detectRunaways([looping], baselines, window, { ...RUNAWAY_DEFAULTS, featureFactor: 25 })).toEqual([]);
  });
});
