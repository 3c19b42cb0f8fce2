import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { resolved } from '../../../services/alerts/alert-event.ts';
import type { StoredDelivery } from '../../../services/alerts/alert-store.ts';
import { channelRequest, channelsFile, type Channel } from '../../../services/alerts/channels.ts';
import { firingSentTo, planDelivery } from '../../../services/alerts/delivery.ts';
import { detectorAlert } from '../../support/detector-alerts.ts';

const NOW = Date.UTC(2026, 10, 24, 10, 7);
const alert = detectorAlert();
const body = (channel: Channel, event = alert, firing?: typeof alert) => JSON.parse(channelRequest(channel, event, NOW, firing).body);

const TOP_FIVE = ['model=gpt-4o 11.9 (was 0.4)', 'feature=answers 10.1 (was 0.9)', 'user_id=u-1 9 (was 0.1)', 'user_id=u-2 1 (was 0.1)', 'api_key_id=k-1 0.5 (was 0.1)'];

describe('detector alerts on channels', () => {
  it('gives Slack the observed value against the expected range, since when, the money at stake, the top five contributors and the related series', () => {
    const slack = body({ name: 's', type: 'slack', url: 'http://127.0.0.1:1/s' });
    expect(slack.blocks[2].fields.map((field: { text: string }) => field.text)).toEqual([
      '*Observed*\n12.5 USD/min',
      '*Expected*\n0.8–1.6 USD/min',
      '*Since*\n2026-11-24T10:02:00.000Z',
      '*At stake*\n678 USD/h',
    ]);
    expect(slack.blocks[3].text.text).toBe(`*Top contributors*\n${TOP_FIVE.map((line) => `• ${line}`).join('\n')}`);
    expect(slack.blocks[4].text.text).toBe('*Related*\n2 related series changed with it');
    expect(slack.blocks[5].elements[0].text).toBe('firing · critical · runaway/team=search/cost · report: /v1/reports/cost?team=search');
    expect(JSON.stringify(slack)).not.toMatch(/Spent|Projected/);
  });

  it('leaves out contributors and related series a detector did not report, and shows the expected value when there is no range', () => {
    const slack = body({ name: 's', type: 'slack', url: 'http://127.0.0.1:1/s' }, detectorAlert({ contributors: [], related: [], expected_low: null, expected_high: null, since: null, at_stake_per_hour: null }));
    expect(slack.blocks[2].fields.map((field: { text: string }) => field.text)).toEqual(['*Observed*\n12.5 USD/min', '*Expected*\n1.2 USD/min', '*Since*\n–', '*At stake*\n–']);
    expect(slack.blocks).toHaveLength(4);
  });

  it('gives PagerDuty the detector details and its severity as is', () => {
    const channel: Channel = { name: 'pd', type: 'pagerduty', url: 'http://127.0.0.1:1/v2/enqueue', routing_key: 'R0UTING' };
    const triggered = body(channel);
    expect(triggered).toMatchObject({ event_action: 'trigger', dedup_key: alert.alert_id, payload: { severity: 'critical', source: 'spendline/runaway/runaway/team=search/cost' } });
    expect(triggered.payload.custom_details).toEqual({
      summary: alert.summary,
      kind: 'runaway',
      metric: 'cost',
      scope: { team: 'search' },
      observed: '12.5 USD/min',
      expected: '0.8–1.6 USD/min',
      since: '2026-11-24T10:02:00.000Z',
      at_stake_per_hour: '678 USD/h',
      score: 0.97,
      top_contributors: TOP_FIVE,
      related_series: 2,
      report: '/v1/reports/cost?team=search',
    });
    for (const severity of ['info', 'warning', 'critical'] as const) expect(body(channel, detectorAlert({ severity })).payload.severity).toBe(severity);
    expect(body(channel, resolved(alert, 'back in range', NOW))).toEqual({ routing_key: 'R0UTING', event_action: 'resolve', dedup_key: alert.alert_id });
  });

  it('names the Alertmanager alert by its kind, labels it with kind and scope, and resolves it under the labels it fired with', () => {
    const channel: Channel = { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:1/api/v2/alerts' };
    const [firing] = body(channel, detectorAlert({ kind: 'model_mix_drift', scope: { team: 'search', 'tag:env': 'prod' } }));
    expect(firing.labels).toEqual({ alertname: 'SpendlineModelMixDrift', alert_id: alert.alert_id, kind: 'model_mix_drift', source: alert.source_id, metric: 'cost', severity: 'critical', team: 'search', tag_env: 'prod' });
    expect(firing.annotations).toMatchObject({ observed: '12.5 USD/min', expected: '0.8–1.6 USD/min', at_stake_per_hour: '678 USD/h', top_contributors: TOP_FIVE.join('; '), related_series: '2', report: '/v1/reports/cost?team=search' });
    expect(firing.endsAt).toBeUndefined();
    expect(body(channel)[0].labels.alertname).toBe('SpendlineRunaway');

    // A resolution is severity info; Alertmanager would take other labels for another alert and never end this one.
    const end = resolved(alert, 'back in range', NOW);
    const [ended] = body(channel, end, alert);
    expect(ended.labels).toEqual(body(channel)[0].labels);
    expect(ended).toMatchObject({ startsAt: new Date(alert.occurred_at).toISOString(), endsAt: new Date(NOW).toISOString() });
  });

  it('sends a webhook the whole alert with its detector fields', () => {
    expect(body({ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/x', secret: 'a-shared-secret-of-16+' })).toEqual(alert);
  });
});

describe('min_severity', () => {
  const channels = new Map<string, Channel>([
    ['chat', { name: 'chat', type: 'slack', url: 'http://127.0.0.1:1/chat' }],
    ['pager', { name: 'pager', type: 'pagerduty', url: 'http://127.0.0.1:1/pd', routing_key: 'R', min_severity: 'critical' }],
    ['ops', { name: 'ops', type: 'slack', url: 'http://127.0.0.1:1/ops', min_severity: 'warning' }],
  ]);
  const plan = (event: typeof alert, context = {}) =>
    planDelivery({ ...event, channels: ['chat', 'pager', 'ops', 'gone'] }, channels, context).map((step) => ('send' in step ? `${step.name}:send` : `${step.record.channel}:${step.record.outcome}`));

  it('tells a channel only of firing alerts at or above its min_severity, and records why the others were not told', () => {
    expect(plan(detectorAlert({ severity: 'info' }))).toEqual(['chat:send', 'pager:skipped', 'ops:skipped', 'gone:failed']);
    expect(plan(detectorAlert({ severity: 'warning' }))).toEqual(['chat:send', 'pager:skipped', 'ops:send', 'gone:failed']);
    expect(plan(detectorAlert({ severity: 'critical' }))).toEqual(['chat:send', 'pager:send', 'ops:send', 'gone:failed']);
    const [, pager] = planDelivery({ ...detectorAlert({ severity: 'warning' }), channels: ['chat', 'pager'] }, channels);
    expect(pager).toEqual({ record: expect.objectContaining({ outcome: 'skipped', attempts: 0, status_code: 0, channel_type: 'pagerduty', error: "warning is below the channel's min_severity critical" }) });
  });

  it('records a silenced firing alert for every channel and tells none', () => {
    const steps = planDelivery({ ...alert, channels: ['chat', 'pager', 'gone'] }, channels, { silence: { silence_id: 's-1' } });
    expect(steps).toEqual(['chat', 'pager', 'gone'].map((name) => ({ record: expect.objectContaining({ channel: name, outcome: 'silenced', attempts: 0, status_code: 0, error: 'silenced by s-1' }) })));
  });

  it('sends a resolution (severity info) to the channels its firing went to, and to no other', () => {
    const end = resolved(alert, 'back in range', NOW);
    expect(plan(end, { firing: { alert, sentTo: new Set(['pager', 'ops']) } })).toEqual(['chat:skipped', 'pager:send', 'ops:send', 'gone:skipped']);
    expect(plan(end, { firing: null })).toEqual(['chat:skipped', 'pager:skipped', 'ops:skipped', 'gone:skipped']);
    // A channel the alert no longer names still hears the end of what it was told.
    const steps = planDelivery({ ...end, channels: ['chat'] }, channels, { firing: { alert, sentTo: new Set(['ops']) } });
    expect(steps.map((step) => ('send' in step ? `${step.name}:send` : `${step.record.channel}:${step.record.outcome}`))).toEqual(['chat:skipped', 'ops:send']);
  });

  it('reads where the latest firing went from the delivery log', () => {
    const row = (channel: string, state: string, outcome: string, attempts: number, at: string): StoredDelivery => ({ alert_id: 'a', state, channel, channel_type: 'slack', attempts, outcome, status_code: 0, error: '', delivered_at: at });
    const log = [
      row('chat', 'firing', 'delivered', 1, '2026-11-24 10:00:00.000'),
      row('pager', 'firing', 'skipped', 0, '2026-11-24 10:00:00.000'),
      row('ops', 'firing', 'failed', 4, '2026-11-24 10:00:00.000'),
      row('lost', 'firing', 'failed', 0, '2026-11-24 10:00:00.000'),
      row('chat', 'resolved', 'delivered', 1, '2026-11-24 11:00:00.000'),
      // Fired again later, silenced this time.
      row('chat', 'firing', 'silenced', 0, '2026-11-24 12:00:00.000'),
      row('pager', 'firing', 'delivered', 1, '2026-11-24 12:00:00.000'),
    ];
    expect([...firingSentTo(log)].sort()).toEqual(['ops', 'pager']);
  });

  it('is part of the channels file, checked like the rest', () => {
    const file = (channel: Record<string, unknown>) => validate(channelsFile, { channels: [{ name: 'pd', type: 'pagerduty', url: 'https://events.example/v2/enqueue', routing_key: 'R', ...channel }] });
    expect(file({ min_severity: 'critical' })).toMatchObject({ ok: true, value: { channels: [{ min_severity: 'critical' }] } });
    expect(file({})).toMatchObject({ ok: true });
    expect(file({ min_severity: 'high' })).toEqual({ ok: false, issues: [{ path: 'channels[0].min_severity', message: 'must be one of info, warning, critical' }] });
  });
});
