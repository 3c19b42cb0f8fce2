import { formatDecimal } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { figureText, usdText } from './figure-text.ts';
import type { ActivityRow } from './inputs.ts';

/**
 * Silence: a gateway (or a busy scope value) stopped sending events. Spend
 * that is not seen is not counted, so a dead exporter looks like savings.
 * Over a silent gap of s ms a source that usually sends r events a minute at
 * this hour would send λ = r × s / 60 000; if arrivals are Poisson, a gap that
 * long without one has probability e^−λ. It fires only when λ is large enough
 * that the gap cannot be chance — a gateway that is quiet at night sends too
 * few events for its silence to mean anything.
 */
export interface SilenceOptions {
  /** Silent gap below which nothing fires, ms: shorter gaps are batching and restarts. */
  readonly minSilenceMs: number;
  /** Events the gap should have held before it fires: P(no events | λ = 10) ≈ 4.5e-5. */
  readonly minExpectedEvents: number;
}

export const SILENCE_DEFAULTS: SilenceOptions = { minSilenceMs: 5 * 60_000, minExpectedEvents: 10 };

const MINUTE_MS = 60_000;

/** Sources silent for too long at their usual pace. Scores are 1 − e^−λ in [0, 1]: how unlikely the silence is by chance. */
export function detectSilence(rows: readonly ActivityRow[], now: number, options: SilenceOptions = SILENCE_DEFAULTS): Finding[] {
  const findings: Finding[] = [];
  for (const row of rows) {
    const silent = now - row.lastSeen;
    const expected = (row.usualEventsPerMinute * silent) / MINUTE_MS;
    if (silent < options.minSilenceMs || !(expected >= options.minExpectedEvents)) continue;
    const spread = 3 * Math.sqrt(expected);
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
        `it usually sends ${figureText(row.usualEventsPerMinute)} a minute at this hour (${figureText(expected, 0)} expected, ` +
        `${usdText(row.usualCostPerHourUnits)}/h of spend unseen)`,
    });
  }
  return findings;
}
