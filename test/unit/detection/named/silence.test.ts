import { describe, expect, it } from 'vitest';
import { decimalUnits } from '../../../../services/money/decimal.ts';
import type { ActivityRow } from '../../../../services/detection/named/inputs.ts';
import { SILENCE_DEFAULTS, detectSilence } from '../../../../services/detection/named/silence.ts';
import { diurnal, seededRandom } from './seeded-traffic.ts';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 2, 10, 14, 0);

function gateway(value: string, silentMinutes: number, eventsPerMinute: number, costPerHour = '42.5'): ActivityRow {
  return { dimension: 'gateway', value, lastSeen: NOW - silentMinutes * MINUTE, usualEventsPerMinute: eventsPerMinute, usualCostPerHourUnits: decimalUnits(costPerHour) };
}

describe('detectSilence', () => {
  it('fires on a busy gateway gone silent, with its usual spend at stake since it was last heard from', () => {
    const [finding, ...rest] = detectSilence([gateway('litellm-eu', 12, 30)], NOW);
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      kind: 'silence',
      metric: 'events',
      scope: { gateway: 'litellm-eu' },
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
      headline: 'gateway litellm-eu sent no events for 12 min; it usually sends 30 a minute at this hour (360 expected, $42.50/h of spend unseen)',
    });
  });

  it('fires from five minutes and ten expected events, not before', () => {
    expect(detectSilence([gateway('a', 5, 2)], NOW)[0]?.score).toBeCloseTo(1 - Math.exp(-10), 12);
    expect(detectSilence([gateway('a', 4.99, 200)], NOW)).toEqual([]);
    expect(detectSilence([gateway('a', 5, 1.99)], NOW)).toEqual([]);
  });

  it('stays quiet for a gateway that is quiet at night: 15 minutes without events at half an event a minute is chance', () => {
    expect(detectSilence([gateway('portkey-us', 15, 0.5, '0.8')], NOW)).toEqual([]);
    expect(detectSilence([gateway('portkey-us', 15, 0.5, '0.8')], NOW, { ...SILENCE_DEFAULTS, minExpectedEvents: 7 })).toHaveLength(1);
  });

  it('stays quiet on clean Poisson traffic of hundreds of sources through the day', () => {
    const random = seededRandom(61);
    const rows: ActivityRow[] = [];
    for (let i = 0; i < 500; i += 1) {
      const rate = (0.05 + 40 * random() ** 2) * diurnal(i % 24);
      // For Poisson arrivals the time since the last event is exponential with the same rate.
      const gap = (-Math.log(1 - random()) / rate) * MINUTE;
      rows.push({ dimension: 'gateway', value: `gw-${i}`, lastSeen: NOW - Math.round(gap), usualEventsPerMinute: rate, usualCostPerHourUnits: decimalUnits('1') });
    }
    expect(rows.filter((row) => NOW - row.lastSeen >= 5 * MINUTE).length).toBeGreaterThan(10);
    expect(detectSilence(rows, NOW)).toEqual([]);
  });
});
