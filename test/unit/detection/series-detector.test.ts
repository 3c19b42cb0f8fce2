import { describe, expect, it } from 'vitest';
import { HOURLY_SERIES, MINUTE_SERIES, SeriesDetector, type SeriesDetectorState } from '../../../services/detection/series-detector.ts';

const MINUTE = 60_000;
const START = Date.UTC(2026, 10, 2); // a Monday

/** Requests per minute shaped like business traffic: busy weekday afternoons, quiet nights and weekends, Poisson-like noise. */
function traffic(minutes: number, seed = 11): number[] {
  let state = seed;
  const uniform = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: minutes }, (_, i) => {
    const at = new Date(START + i * MINUTE);
    const hour = at.getUTCHours() + at.getUTCMinutes() / 60;
    const weekend = at.getUTCDay() === 0 || at.getUTCDay() === 6;
    const level = (weekend ? 15 : 60) * (0.25 + 0.75 * Math.max(0, Math.sin(((hour - 6) / 16) * Math.PI)));
    // Normal approximation of Poisson noise around the level.
    const normal = Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
    return Math.max(0, Math.round(level + Math.sqrt(level) * normal));
  });
}

const run = (values: readonly number[], detector = new SeriesDetector(MINUTE_SERIES), offset = 0) => values.map((value, i) => detector.observe(START + (offset + i) * MINUTE, value));

describe('SeriesDetector', () => {
  it('stays quiet on three weeks of clean seasonal traffic, weekends and nights included', () => {
    const observations = run(traffic(21 * 1440));
    expect(observations.filter((o) => o.firing)).toHaveLength(0);
  });

  it('fires within two minutes of a five-fold spike, says since when, and resolves after it ends', () => {
    const values = traffic(15 * 1440);
    const spikeAt = 14 * 1440 + 14 * 60; // Monday 14:00 of the third week
    for (let i = spikeAt; i < spikeAt + 20; i += 1) values[i] = values[i]! * 5;
    const observations = run(values);
    const first = observations.findIndex((o) => o.firing);
    expect(first).toBeGreaterThanOrEqual(spikeAt);
    expect(first).toBeLessThanOrEqual(spikeAt + 1);
    expect(observations[first]!.since).toBe(START + first * MINUTE);
    expect(observations[first]!.value).toBeGreaterThan(observations[first]!.high);
    expect(observations.slice(spikeAt, spikeAt + 20).every((o) => o.firing)).toBe(true);
    expect(observations[spikeAt + 20 + MINUTE_SERIES.resolveAfter]!.firing).toBe(false);
    expect(observations.slice(0, spikeAt).some((o) => o.firing)).toBe(false);
  });

  it('uses the hour of the week once it has seen it: Monday morning traffic after a quiet weekend is not an anomaly', () => {
    const observations = run(traffic(22 * 1440));
    const mondayNine = 21 * 1440 + 9 * 60;
    const o = observations[mondayNine]!;
    expect(o.expected).toBeGreaterThan(30);
    expect(o.firing).toBe(false);
  });

  it('learns nothing it was not shown: a prefix gets the same observations (no look-ahead)', () => {
    const values = traffic(3 * 1440);
    expect(run(values.slice(0, 2000))).toEqual(run(values).slice(0, 2000));
  });

  it('continues exactly from a saved state, through JSON, as if it had never stopped', () => {
    const values = traffic(4 * 1440);
    values[3 * 1440 + 600] = 500;
    const whole = run(values);
    const first = new SeriesDetector(MINUTE_SERIES);
    run(values.slice(0, 3 * 1440), first);
    const saved = JSON.parse(JSON.stringify(first.state())) as SeriesDetectorState;
    const resumed = run(values.slice(3 * 1440), new SeriesDetector(MINUTE_SERIES, saved), 3 * 1440);
    expect(resumed).toEqual(whole.slice(3 * 1440));
    expect(resumed.some((o) => o.firing)).toBe(true);
  });

  it('watches hourly series with the same model', () => {
    const hourly: number[] = [];
    const minutes = traffic(21 * 1440);
    for (let h = 0; h < 21 * 24; h += 1) hourly.push(minutes.slice(h * 60, h * 60 + 60).reduce((a, b) => a + b, 0));
    hourly[20 * 24 + 15] = hourly[20 * 24 + 15]! * 4;
    const detector = new SeriesDetector(HOURLY_SERIES);
    const observations = hourly.map((value, h) => detector.observe(START + h * 3_600_000, value));
    expect(observations.map((o, h) => (o.firing ? h : -1)).filter((h) => h >= 0)[0]).toBe(20 * 24 + 15);
    expect(observations.slice(0, 20 * 24 + 15).some((o) => o.firing)).toBe(false);
  });
});

describe('stored series state', () => {
  it('packs to deflated base64 and back exactly, and smaller than plain JSON', async () => {
    const { packSeriesState, unpackSeriesState } = await import('../../../services/detection/series-detector.ts');
    const detector = new SeriesDetector(MINUTE_SERIES);
    run(traffic(2 * 1440), detector);
    const state = detector.state();
    const packed = JSON.stringify(packSeriesState(state));
    expect(unpackSeriesState(JSON.parse(packed))).toEqual(state);
    expect(packed.length).toBeLessThan(JSON.stringify(state).length * 0.7);
  });
});
