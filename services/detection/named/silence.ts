import { formatDecimal } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { figureText, usdText } from './figure-text.ts';
import type { ActivityRow } from './inputs.ts';

/**
 * Silence: a gateway (or a busy scope value) stopped sending events. Spend
 * that is not seen is not counted, so a dead exporter looks like savings.
 * Over a silent gap [lastSeen, now) a source would send
 * λ = Σ r_h × m_h events, r_h its usual events a minute in UTC hour h of the
 * day and m_h the minutes of the gap in that hour; if arrivals are Poisson, a
 * gap that long without one has probability e^−λ. It fires only when λ is
 * large enough that the gap cannot be chance — so a gateway idle from 23:00
 * that is busy by day does not page at 08:00 for the night it was quiet
 * through: only the minutes since 08:00 count at the day's rate.
 */
export interface SilenceOptions {
  /** Silent gap below which nothing fires, ms: shorter gaps are batching and restarts. */
  readonly minSilenceMs: number;
  /** Events the gap should have held before it fires: P(no events | λ = 10) ≈ 4.5e-5. */
  readonly minExpectedEvents: number;
}

export const SILENCE_DEFAULTS: SilenceOptions = { minSilenceMs: 5 * 60_000, minExpectedEvents: 10 };

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const HOURS_PER_DAY = 24;

/** Sources silent for too long at their usual pace. Scores are 1 − e^−λ in [0, 1]: how unlikely the silence is by chance. */
export function detectSilence(rows: readonly ActivityRow[], now: number, options: SilenceOptions = SILENCE_DEFAULTS): Finding[] {
  const findings: Finding[] = [];
  for (const row of rows) {
    const silent = now - row.lastSeen;
    if (silent < options.minSilenceMs) continue;
    const expected = expectedEvents(row.usualEventsPerMinuteByHour, row.lastSeen, now);
    if (!(expected >= options.minExpectedEvents)) continue;
    const spread = 3 * Math.sqrt(expected);
    const usualNow = row.usualEventsPerMinuteByHour[new Date(now).getUTCHours()]!;
    findings.push({
      kind: 'silence',
      metric: 'events',
      scope: { [row.dimension]: row.value },
      windowStart: row.lastSeen,
      windowEnd: now,
      since: row.lastSeen,
      unit: 'events',
      observed: 0,
      expected,
      low: Math.max(0, expected - spread),
      high: expected + spread,
      score: 1 - Math.exp(-expected),
      atStakePerHour: formatDecimal(row.usualCostPerHourUnits),
      spent: '0',
      contributors: [],
      headline:
        `${row.dimension} ${row.value} sent no events for ${figureText(silent / MINUTE_MS, 0)} min; ` +
        `it usually sends ${figureText(usualNow)} a minute at this hour (${figureText(expected, 0)} expected, ` +
        `${usdText(row.usualCostPerHourUnits)}/h of spend unseen)`,
    });
  }
  return findings;
}

/**
 * Events a source sends over [from, to) at its usual rate in each UTC hour of
 * the day (events a minute, index = hour): each hour's rate times the minutes
 * of the interval within that hour. Whole days add a day's events at once, so
 * a source silent for weeks costs no more to judge than one silent for a day.
 */
export function expectedEvents(perMinuteByHour: readonly number[], from: number, to: number): number {
  if (perMinuteByHour.length !== HOURS_PER_DAY) throw new RangeError(`usual rates come one per UTC hour of the day (24), got ${perMinuteByHour.length}`);
  if (!(to > from)) return 0;
  const wholeDays = Math.floor((to - from) / DAY_MS);
  let events = wholeDays * perMinuteByHour.reduce((sum, rate) => sum + rate, 0) * (HOUR_MS / MINUTE_MS);
  for (let at = from + wholeDays * DAY_MS; at < to; ) {
    const hourEnd = Math.min((Math.floor(at / HOUR_MS) + 1) * HOUR_MS, to);
    events += perMinuteByHour[new Date(at).getUTCHours()]! * ((hourEnd - at) / MINUTE_MS);
    at = hourEnd;
  }
  return events;
}
