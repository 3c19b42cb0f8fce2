import type { AlertEvent } from '../../services/alerts/alert-event.ts';

const WINDOW_START = Date.UTC(2026, 10, 24, 10, 5);

/** A firing runaway alert on team=search, as a detector would publish it; override any field. */
export function detectorAlert(overrides: Partial<AlertEvent> = {}): AlertEvent {
  return {
    alert_id: 'runaway/team=search/cost',
    kind: 'runaway',
    state: 'firing',
    severity: 'critical',
    source_id: 'runaway/team=search/cost',
    title: 'search spends 12.5 USD/min, expected 0.8–1.6',
    summary: 'Spend of team=search left its expected range at 10:02 and keeps rising.',
    scope: { team: 'search' },
    period: '2026-11-24T10:05Z/PT1M',
    period_start: WINDOW_START,
    period_end: WINDOW_START + 60_000,
    threshold_percent: null,
    threshold_type: null,
    amount: '0',
    spent: '12.5',
    used: '0',
    projected: null,
    runs_out_on: null,
    report_url: '/v1/reports/cost?team=search',
    channels: [],
    occurred_at: WINDOW_START + 60_000,
    metric: 'cost',
    unit: 'USD/min',
    observed: '12.5',
    expected: '1.2',
    expected_low: '0.8',
    expected_high: '1.6',
    since: WINDOW_START - 3 * 60_000,
    at_stake_per_hour: '678',
    score: 0.97,
    contributors: [
      { dimension: 'model', value: 'gpt-4o', observed: '11.9', expected: '0.4' },
      { dimension: 'feature', value: 'answers', observed: '10.1', expected: '0.9' },
      { dimension: 'user_id', value: 'u-1', observed: '9', expected: '0.1' },
      { dimension: 'user_id', value: 'u-2', observed: '1', expected: '0.1' },
      { dimension: 'api_key_id', value: 'k-1', observed: '0.5', expected: '0.1' },
      { dimension: 'api_key_id', value: 'k-2', observed: '0.1', expected: '0.1' },
    ],
    related: ['anomaly/team=search/requests', 'token_drift/team=search/input_tokens_per_request'],
    ...overrides,
  };
}
