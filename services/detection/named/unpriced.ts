import { shareOf } from '../../money/decimal.ts';
import type { Finding } from '../finding.ts';
import { figureText, percentText } from './figure-text.ts';
import type { DetectionWindow, UnpricedRow } from './inputs.ts';

/**
 * Unpriced usage appearing: events of a model, through a gateway, that
 * Spendline could not price (a model missing from the catalog, usage without
 * token counts), where there used to be few or none. Their spend is unknown,
 * so nothing is at stake on paper ('0'); the alert builder gives this kind a
 * warning floor because the spend is hidden rather than absent.
 */
export interface UnpricedOptions {
  /** Unpriced events in the window needed to fire: a stray event or two is not a trend. */
  readonly minEvents: number;
  /** How many times the baseline's unpriced share the window's must be (a baseline share of 0 always counts as exceeded). */
  readonly shareFactor: number;
}

export const UNPRICED_DEFAULTS: UnpricedOptions = { minEvents: 10, shareFactor: 10 };

/**
 * (provider, model, gateway) rows whose unpriced share jumped, scoped by
 * provider, model and gateway_id (the usage columns, as alert filters and
 * silences name them). Scores are the window's unpriced share, in [0, 1].
 *
 * `since` is the window's start, never later: two counts per window cannot
 * date the jump within it. An ongoing jump so reports a later `since` each
 * run; the incident book keeps the earliest one (incidents.ts).
 */
export function detectUnpricedUsage(rows: readonly UnpricedRow[], window: DetectionWindow, options: UnpricedOptions = UNPRICED_DEFAULTS): Finding[] {
  const findings: Finding[] = [];
  for (const row of rows) {
    if (row.currentUnpriced < options.minEvents || row.currentEvents <= 0) continue;
    const share = row.currentUnpriced / row.currentEvents;
    const baseShare = row.baselineEvents > 0 ? row.baselineUnpriced / row.baselineEvents : 0;
    if (share < options.shareFactor * baseShare) continue;
    // The window's unpriced events had it kept the baseline share, and the count from which it fires.
    const expected = baseShare * row.currentEvents;
    const reasons = row.reasons.length > 0 ? row.reasons.join(', ') : 'no reason recorded';
    findings.push({
      kind: 'unpriced_usage',
      metric: 'unpriced_events',
      scope: { provider: row.provider, model: row.model, gateway_id: row.gateway },
      windowStart: window.start,
      windowEnd: window.end,
      since: window.start,
      unit: 'events',
      observed: row.currentUnpriced,
      expected,
      low: 0,
      high: Math.max(options.minEvents, options.shareFactor * expected),
      score: share,
      atStakePerHour: '0',
      spent: '0',
      contributors: [
        {
          dimension: 'model',
          value: row.model,
          observed: shareOf(BigInt(row.currentUnpriced), BigInt(row.currentEvents)) ?? '0',
          expected: shareOf(BigInt(row.baselineUnpriced), BigInt(row.baselineEvents)) ?? '0',
        },
      ],
      headline:
        `${figureText(row.currentUnpriced, 0)} of ${figureText(row.currentEvents, 0)} events (${percentText(share)}) of ${row.provider}/${row.model} ` +
        `via ${row.gateway} were unpriced (baseline ${percentText(baseShare)}): ${reasons}`,
    });
  }
  return findings;
}
