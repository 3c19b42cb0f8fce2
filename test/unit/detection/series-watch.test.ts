import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTION, type DetectionSettings } from '../../../services/detection/detection-config.ts';
import type { Finding } from '../../../services/detection/finding.ts';
import { packSeriesState, unpackSeriesState } from '../../../services/detection/series-detector.ts';
import { measure, SeriesWatch, seriesKey, type SeriesBucket } from '../../../services/detection/series-watch.ts';

const MINUTE = 60_000;
const START = Date.UTC(2026, 10, 2); // a Monday, 00:00 UTC
const DAYS = 3;
const END = START + DAYS * 1440 * MINUTE;
/** Minute index of the spike: 14:00 on the third day, after two days of warm-up (the hour-of-day baseline is in use). */
const SPIKE = 2 * 1440 + 14 * 60;
const SPIKE_MINUTES = 5;
const SPIKE_REQUESTS = 300;
/** 0.001 USD a request, in units of 10⁻¹² USD. */
const MILLI_USD = 1_000_000_000n;

const at = (minute: number) => START + minute * MINUTE;

interface Shape {
  readonly value?: string;
  /** Requests a minute at the afternoon peak; nights run at 40 % of it. */
  readonly base?: number;
  readonly costPerRequest?: bigint;
  readonly errorShare?: number;
  readonly latencyP95?: number | null;
  readonly seed?: number;
}

/** Business-day minute traffic of one team: a daily curve with Poisson-like noise, from a seeded generator (the same buckets every run). */
function traffic(minutes: number, { value = 'search', base = 40, costPerRequest = MILLI_USD, errorShare = 0.02, latencyP95 = 800, seed = 7 }: Shape = {}): SeriesBucket[] {
  let state = seed;
  const uniform = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: minutes }, (_, i) => {
    const date = new Date(at(i));
    const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
    const level = base * (0.4 + 0.6 * Math.max(0, Math.sin(((hour - 6) / 16) * Math.PI)));
    const normal = Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
    const requests = Math.max(0, Math.round(level + Math.sqrt(level) * normal));
    const errors = Math.round(requests * errorShare * 2 * uniform());
    return { dimension: 'team', value, at: at(i), requests, errors, costUnits: BigInt(requests) * costPerRequest, inputTokens: requests * 1000, outputTokens: requests * 100, latencyP95 };
  });
}

/** The same traffic with `SPIKE_MINUTES` minutes of `SPIKE_REQUESTS` requests from minute `SPIKE`, at the traffic's price per request. */
function withSpike(buckets: readonly SeriesBucket[], costPerRequest = MILLI_USD): SeriesBucket[] {
  return buckets.map((bucket, i) =>
    i >= SPIKE && i < SPIKE + SPIKE_MINUTES ? { ...bucket, requests: SPIKE_REQUESTS, errors: Math.round(SPIKE_REQUESTS * 0.02), costUnits: BigInt(SPIKE_REQUESTS) * costPerRequest } : bucket,
  );
}

const settings = (over: Partial<DetectionSettings> = {}): DetectionSettings => ({ ...DEFAULT_DETECTION, ...over });
/** Everything, in one catch-up; alerting from the first bucket. */
const findingsOf = (buckets: readonly SeriesBucket[], watched: DetectionSettings = DEFAULT_DETECTION, alertFrom = START) => new SeriesWatch('minute', watched).advance('team', ['search'], buckets, END, alertFrom);
const seen = (watch: SeriesWatch, value: string, metric: string) => watch.states().get(seriesKey('minute', 'team', value, metric))?.core.seen;
const bucket = (minute: number, over: Partial<SeriesBucket> = {}): SeriesBucket => ({ dimension: 'team', value: 'search', at: at(minute), requests: 25, errors: 1, costUnits: 25n * MILLI_USD, inputTokens: 25_000, outputTokens: 2_500, latencyP95: 700, ...over });
const brief = (f: Finding) => `${(f.windowStart - START) / MINUTE} ${f.metric} since ${(f.since - START) / MINUTE} opens ${f.opens}`;

describe('SeriesWatch', () => {
  describe('resumes each scope value from its own last bucket', () => {
    it('gives the bucket after the last one fed, per value, and null for a value never fed', () => {
      const watch = new SeriesWatch('minute', DEFAULT_DETECTION);
      watch.advance('team', ['a'], traffic(100, { value: 'a' }), at(100), START);
      watch.advance('team', ['b'], traffic(40, { value: 'b' }), at(40), START);
      expect(watch.resumeFrom('team', 'a')).toBe(at(100));
      expect(watch.resumeFrom('team', 'b')).toBe(at(40));
      expect(watch.resumeFrom('team', 'c')).toBeNull();
      // The dimension is part of the series: feature=a was never fed.
      expect(watch.resumeFrom('feature', 'a')).toBeNull();
    });

    it('feeds each value of one advance from where that value stopped, not from the earliest of them', () => {
      const watch = new SeriesWatch('minute', DEFAULT_DETECTION);
      const a = traffic(200, { value: 'a' });
      const b = traffic(200, { value: 'b', seed: 9 });
      watch.advance('team', ['a'], a.slice(0, 100), at(100), START);
      watch.advance('team', ['b'], b.slice(0, 40), at(40), START);
      watch.advance('team', ['a', 'b'], [...a, ...b], at(150), START);
      expect(seen(watch, 'a', 'requests')).toBe(150);
      expect(seen(watch, 'b', 'requests')).toBe(150);
      expect(watch.resumeFrom('team', 'a')).toBe(at(150));
      expect(watch.resumeFrom('team', 'b')).toBe(at(150));
    });
  });

  describe('zero-fills the buckets a series had no events in, from where it stopped', () => {
    it('observes the empty minutes between two busy ones for cost and requests, up to `until` exclusive', () => {
      const watch = new SeriesWatch('minute', DEFAULT_DETECTION);
      watch.advance('team', ['search'], [bucket(0), bucket(5)], at(6), START);
      expect(seen(watch, 'search', 'requests')).toBe(6);
      expect(seen(watch, 'search', 'cost')).toBe(6);
      // An empty minute has no error rate: only the two busy ones were judged.
      expect(seen(watch, 'search', 'error_rate')).toBe(2);
      expect(watch.resumeFrom('team', 'search')).toBe(at(6));

      const short = new SeriesWatch('minute', DEFAULT_DETECTION);
      short.advance('team', ['search'], [bucket(0), bucket(5)], at(5), START);
      expect(seen(short, 'search', 'requests')).toBe(5);
      expect(short.resumeFrom('team', 'search')).toBe(at(5));
    });

    it('never feeds a bucket before `from`, whether the series is new or stopped long ago', () => {
      const fresh = new SeriesWatch('minute', DEFAULT_DETECTION);
      fresh.advance('team', ['search'], [bucket(0), bucket(5)], at(6), START, at(3));
      expect(seen(fresh, 'search', 'requests')).toBe(3);

      // `from` inside a minute: the first whole bucket after it.
      const unaligned = new SeriesWatch('minute', DEFAULT_DETECTION);
      unaligned.advance('team', ['search'], [bucket(0), bucket(5)], at(6), START, at(3) + 30_000);
      expect(seen(unaligned, 'search', 'requests')).toBe(2);

      // Stopped at minute 5, back at minute 100 with `from` at 90: minutes 90–100, not the 94 since the stop.
      const stopped = new SeriesWatch('minute', DEFAULT_DETECTION);
      stopped.advance('team', ['search'], [bucket(0), bucket(5)], at(6), START);
      stopped.advance('team', ['search'], [bucket(100)], at(101), START, at(90));
      expect(seen(stopped, 'search', 'requests')).toBe(6 + 11);
      expect(stopped.resumeFrom('team', 'search')).toBe(at(101));
    });
  });

  describe('volume and money guards', () => {
    const spiked = withSpike(traffic(DAYS * 1440));
    const spikeFindings = (findings: readonly Finding[]) => findings.filter((f) => f.metric === 'cost' || f.metric === 'requests');

    it('opens an incident for a spike with enough requests and money at stake, and is quiet before it', () => {
      const findings = findingsOf(spiked);
      expect(findings.map(brief)).toEqual(
        Array.from({ length: SPIKE_MINUTES }, (_, i) => [`${SPIKE + i} cost since ${SPIKE} opens true`, `${SPIKE + i} requests since ${SPIKE} opens true`]).flat(),
      );
      const first = findings[0]!;
      expect(first.observed).toBeCloseTo(0.3, 9);
      expect(first.scope).toEqual({ team: 'search' });
      expect(first.windowEnd - first.windowStart).toBe(MINUTE);
      expect(Number(first.atStakePerHour)).toBeGreaterThan(10);
    });

    it('raises the same findings as opens: false when a bucket has fewer than min_requests requests (the limit itself is enough)', () => {
      const atLimit = findingsOf(spiked, settings({ min_requests: SPIKE_REQUESTS }));
      const underLimit = findingsOf(spiked, settings({ min_requests: SPIKE_REQUESTS + 1 }));
      expect(spikeFindings(atLimit)).toHaveLength(2 * SPIKE_MINUTES);
      expect(spikeFindings(atLimit).every((f) => f.opens === true)).toBe(true);
      expect(spikeFindings(underLimit)).toEqual(spikeFindings(atLimit).map((f) => ({ ...f, opens: false })));
    });

    it('raises them as opens: false when less money is at stake per hour than min_at_stake_per_hour', () => {
      const open = findingsOf(spiked);
      const dear = findingsOf(spiked, settings({ min_at_stake_per_hour: '1000' }));
      expect(dear).toEqual(open.map((f) => ({ ...f, opens: false })));

      // The same traffic a thousand times cheaper: 0.016 USD/h at stake, under the 1 USD/h default.
      const cheap = findingsOf(withSpike(traffic(DAYS * 1440, { costPerRequest: MILLI_USD / 1000n }), MILLI_USD / 1000n));
      expect(cheap.map(brief)).toEqual(open.map((f) => brief({ ...f, opens: false })));
      expect(cheap.every((f) => Number(f.atStakePerHour) > 0 && Number(f.atStakePerHour) < 1)).toBe(true);
    });

    it('lets an error burst open on volume alone, however little money rides on it', () => {
      const cheap = traffic(DAYS * 1440, { costPerRequest: MILLI_USD / 1000n });
      const burst = cheap.map((b, i) => (i >= SPIKE && i < SPIKE + 3 ? { ...b, errors: Math.round(b.requests / 2) } : b));
      const findings = findingsOf(burst);
      expect(findings.length).toBeGreaterThan(0);
      expect(findings.every((f) => f.metric === 'error_rate' && f.opens === true && f.since === at(SPIKE))).toBe(true);
      expect(Number(findings[0]!.atStakePerHour)).toBeLessThan(1);
    });

    it('raises findings of buckets that end before alertFrom as opens: false (a catch-up), and opens from the bucket that ends at it', () => {
      const findings = findingsOf(spiked, DEFAULT_DETECTION, at(SPIKE + 2));
      expect(findings.map(brief)).toEqual(
        Array.from({ length: SPIKE_MINUTES }, (_, i) => [`${SPIKE + i} cost since ${SPIKE} opens ${i >= 1}`, `${SPIKE + i} requests since ${SPIKE} opens ${i >= 1}`]).flat(),
      );
    });
  });

  describe('per-request metrics need volume', () => {
    it('measures error rate and latency only with min_requests requests in the bucket; cost and requests always', () => {
      expect(measure('error_rate', bucket(0, { requests: 19, errors: 19 }), 20)).toBeNull();
      expect(measure('error_rate', bucket(0, { requests: 20, errors: 5 }), 20)).toBe(0.25);
      expect(measure('latency_p95_ms', bucket(0, { requests: 19, latencyP95: 900 }), 20)).toBeNull();
      expect(measure('latency_p95_ms', bucket(0, { requests: 20, latencyP95: 900 }), 20)).toBe(900);
      expect(measure('latency_p95_ms', bucket(0, { requests: 20, latencyP95: null }), 20)).toBeNull();
      expect(measure('requests', bucket(0, { requests: 0, costUnits: 0n }), 20)).toBe(0);
      expect(measure('cost', bucket(0, { requests: 3, costUnits: 2_500_000_000_000n }), 20)).toBe(2.5);
    });

    it('judges only the buckets with enough requests: an error burst on a quiet series pages nobody', () => {
      // A few requests a minute: never the 20 an error rate needs.
      const quiet = traffic(DAYS * 1440, { base: 8 });
      expect(quiet.every((b) => b.requests < 20)).toBe(true);
      const burst = quiet.map((b, i) => (i >= SPIKE && i < SPIKE + 5 ? { ...b, errors: b.requests } : b));
      const watch = new SeriesWatch('minute', DEFAULT_DETECTION);
      expect(watch.advance('team', ['search'], burst, END, START)).toEqual([]);
      expect(watch.states().has(seriesKey('minute', 'team', 'search', 'error_rate'))).toBe(false);
      expect(seen(watch, 'search', 'requests')).toBe(DAYS * 1440);

      // The same burst is found once each bucket counts.
      const counted = new SeriesWatch('minute', settings({ min_requests: 1 })).advance('team', ['search'], burst, END, START);
      expect(counted.filter((f) => f.metric === 'error_rate').map((f) => f.since)).toContain(at(SPIKE));
    });

    it('learns latency only from buckets with min_requests requests and a p95', () => {
      const watched = settings({ minute: { scopes: ['team'], metrics: ['latency_p95_ms'] } });
      // A day at 16 (nights) to 40 requests a minute, every seventh minute without a p95.
      const buckets = traffic(1440).map((b, i) => (i % 7 === 0 ? { ...b, latencyP95: null } : b));
      const watch = new SeriesWatch('minute', watched);
      watch.advance('team', ['search'], buckets, at(1440), START);
      const judged = buckets.filter((b) => b.requests >= 20 && b.latencyP95 !== null).length;
      expect(judged).toBeGreaterThan(300);
      expect(judged).toBeLessThan(1200);
      expect(seen(watch, 'search', 'latency_p95_ms')).toBe(judged);
    });
  });

  describe('states()', () => {
    it('round-trips: a watch rebuilt from the stored states continues with the same findings as the original', () => {
      const buckets = withSpike(traffic(DAYS * 1440));
      // Stopped in the middle of the spike: the rebuilt watch must keep the incident's start too.
      const cut = at(SPIKE + 2);
      const original = new SeriesWatch('minute', DEFAULT_DETECTION);
      const before = original.advance('team', ['search'], buckets, cut, START);
      expect(before.map((f) => f.windowStart)).toEqual([at(SPIKE), at(SPIKE), at(SPIKE + 1), at(SPIKE + 1)]);

      const stored = new Map([...original.states()].map(([key, state]) => [key, unpackSeriesState(JSON.parse(JSON.stringify(packSeriesState(state))))]));
      expect([...stored.keys()].sort()).toEqual(['cost', 'error_rate', 'requests'].map((metric) => seriesKey('minute', 'team', 'search', metric)));
      const rebuilt = new SeriesWatch('minute', DEFAULT_DETECTION, stored);
      expect(rebuilt.resumeFrom('team', 'search')).toBe(cut);
      // An hourly watch takes none of the minute states.
      expect(new SeriesWatch('hour', DEFAULT_DETECTION, stored).resumeFrom('team', 'search')).toBeNull();

      const next = buckets.filter((b) => b.at >= cut);
      const going = original.advance('team', ['search'], next, END, START);
      const resumed = rebuilt.advance('team', ['search'], next, END, START);
      expect(resumed).toEqual(going);
      expect(resumed.map(brief)).toEqual(
        Array.from({ length: SPIKE_MINUTES - 2 }, (_, i) => [`${SPIKE + 2 + i} cost since ${SPIKE} opens true`, `${SPIKE + 2 + i} requests since ${SPIKE} opens true`]).flat(),
      );
      expect(rebuilt.states()).toEqual(original.states());
    });
  });
});
