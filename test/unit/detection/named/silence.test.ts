import { describe, expect, it } from 'vitest';
import { decimalUnits } from '../../../../services/money/decimal.ts';
import type { ActivityRow } from '../../../../services/detection/named/inputs.ts';
import { SILENCE_DEFAULTS, detectSilence, expectedEvents } from '../../../../services/detection/named/silence.ts';
import { diurnal, seededRandom } from './seeded-traffic.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 2, 10, 14, 0);

/** The same usual rate in every hour of the day. */
const flat = (eventsPerMinute: number) => Array.from({ length: 24 }, () => eventsPerMinute);
/** A gateway busy from 08:00 to 23:00 UTC and idle at night. */
const dayOnly = (eventsPerMinute: number) => Array.from({ length: 24 }, (_, hour) => (hour >= 8 && hour < 23 ? eventsPerMinute : 0));

function gateway(value: string, lastSeen: number, usualEventsPerMinuteByHour: readonly number[], costPerHour = '42.5'): ActivityRow {
  return { dimension: 'gateway_id', value, lastSeen, usualEventsPerMinuteByHour, usualCostPerHourUnits: decimalUnits(costPerHour) };
}

const silentFor = (minutes: number) => NOW - minutes * MINUTE;

describe('detectSilence', () => {
  it('fires on a busy gateway gone silent, with its usual spend at stake since it was last heard from', () => {
    const [finding, ...rest] = detectSilence([gateway('litellm-eu', silentFor(12), flat(30))], NOW);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'silence',
      metric: 'events',
      scope: { gateway_id: 'litellm-eu' },
      windowStart: NOW - 12 * MINUTE,
      windowEnd: NOW,
      since: NOW - 12 * MINUTE,
      unit: 'events',
      observed: 0,
      expected: 360,
      low: 360 - 3 * Math.sqrt(360),
      high: 360 + 3 * Math.sqrt(360),
      score: 1,
      atStakePerHour: '42.5',
      spent: '0',
      contributors: [],
      headline: 'gateway_id litellm-eu sent no events for 12 min; it usually sends 30 a minute at this hour (360 expected, $42.50/h of spend unseen)',
    });
  });

  it('fires from five minutes and ten expected events, not before', () => {
    expect(detectSilence([gateway('a', silentFor(5), flat(2))], NOW)[0]?.score).toBeCloseTo(1 - Math.exp(-10), 12);
    expect(detectSilence([gateway('a', silentFor(4.99), flat(200))], NOW)).toEqual([]);
    expect(detectSilence([gateway('a', silentFor(5), flat(1.99))], NOW)).toEqual([]);
  });

  it('stays quiet for a gateway that is quiet at night: 15 minutes without events at half an event a minute is chance', () => {
    expect(detectSilence([gateway('portkey-us', silentFor(15), flat(0.5), '0.8')], NOW)).toEqual([]);
    expect(detectSilence([gateway('portkey-us', silentFor(15), flat(0.5), '0.8')], NOW, { ...SILENCE_DEFAULTS, minExpectedEvents: 7 })).toHaveLength(1);
  });

  it('does not page at 08:00 for a night a day-only gateway was idle through, and pages once the morning stays silent', () => {
    const lastSeen = Date.UTC(2026, 2, 9, 23, 0);
    const quietNight = gateway('litellm-eu', lastSeen, dayOnly(2));
    // 35 seconds of the 08:00 hour at 2 a minute: 1.17 events expected, not the 1,081 of 2 a minute over the whole 9 h 35 s.
    expect(detectSilence([quietNight], Date.UTC(2026, 2, 10, 8, 0, 35))).toEqual([]);
    expect(expectedEvents(quietNight.usualEventsPerMinuteByHour, lastSeen, Date.UTC(2026, 2, 10, 8, 0, 35))).toBeCloseTo(7 / 6, 12);
    const [finding, ...rest] = detectSilence([quietNight], Date.UTC(2026, 2, 10, 8, 30));
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      scope: { gateway_id: 'litellm-eu' },
      since: lastSeen,
      expected: 60,
      score: 1 - Math.exp(-60),
      headline: 'gateway_id litellm-eu sent no events for 570 min; it usually sends 2 a minute at this hour (60 expected, $42.50/h of spend unseen)',
    });
  });

  it('sums each hour’s usual rate over the minutes of the gap in it', () => {
    const byHour = flat(0).map((_, hour) => (hour === 13 ? 1 : hour === 14 ? 3 : hour === 23 ? 4 : hour === 0 ? 0.5 : 0));
    // 13:52 → 14:05: 8 min at 1 and 5 min at 3, 23 expected; the rate of 14:00 alone would say 39.
    const [finding] = detectSilence([gateway('a', Date.UTC(2026, 2, 10, 13, 52), byHour)], Date.UTC(2026, 2, 10, 14, 5));
    expect(finding).toMatchObject({ expected: 23, headline: 'gateway_id a sent no events for 13 min; it usually sends 3 a minute at this hour (23 expected, $42.50/h of spend unseen)' });
    // Across midnight: 23:55 → 00:10 is 5 min at 4 and 10 min at 0.5.
    expect(expectedEvents(byHour, Date.UTC(2026, 2, 9, 23, 55), Date.UTC(2026, 2, 10, 0, 10))).toBe(25);
    expect(detectSilence([gateway('a', Date.UTC(2026, 2, 9, 23, 55), byHour)], Date.UTC(2026, 2, 10, 0, 10)).map((found) => found.expected)).toEqual([25]);
  });

  it('counts whole days of a long silence at the day’s total', () => {
    const byHour = flat(0).map((_, hour) => hour);
    // Two days of Σ 0..23 = 276 a minute-hour, then 13:30 → 14:00 at 13 a minute.
    expect(expectedEvents(byHour, NOW - 2 * DAY - 30 * MINUTE, NOW)).toBe(2 * 276 * 60 + 13 * 30);
    expect(expectedEvents(byHour, NOW, NOW)).toBe(0);
    expect(() => expectedEvents(byHour.slice(1), NOW - HOUR, NOW)).toThrow(RangeError);
  });

  it('stays quiet on clean Poisson traffic of hundreds of sources through the day', () => {
    const random = seededRandom(61);
    const rows: ActivityRow[] = [];
    for (let i = 0; i < 500; i += 1) {
      const peak = 0.005 + 40 * random() ** 3;
      const byHour = flat(0).map((_, hour) => peak * diurnal(hour));
      // For Poisson arrivals the events expected since the last one are exponential with mean 1: walk back from now until they add up.
      const target = -Math.log(1 - random());
      let lastSeen = NOW;
      let events = 0;
      while (events < target) {
        const rate = byHour[new Date(lastSeen - 1).getUTCHours()]!;
        const hourStart = Math.floor((lastSeen - 1) / HOUR) * HOUR;
        const inHour = (rate * (lastSeen - hourStart)) / MINUTE;
        if (events + inHour >= target) lastSeen -= ((target - events) / rate) * MINUTE;
        else lastSeen = hourStart;
        events = Math.min(target, events + inHour);
      }
      rows.push(gateway(`gw-${i}`, Math.round(lastSeen), byHour, '1'));
    }
    expect(rows.filter((row) => NOW - row.lastSeen >= 5 * MINUTE).length).toBeGreaterThan(10);
    expect(rows.filter((row) => row.lastSeen < NOW - HOUR).length).toBeGreaterThan(5);
    expect(detectSilence(rows, NOW)).toEqual([]);
  });
});
