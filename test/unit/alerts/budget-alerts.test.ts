import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetAlertChanges } from '../../../services/alerts/budget-alerts.ts';
import type { AlertEvent } from '../../../services/alerts/alert-event.ts';
import { channelRequest, webhookSignature, type Channel } from '../../../services/alerts/channels.ts';
import { deliverAlert } from '../../../services/alerts/delivery.ts';
import { budgetDefinition, periodAt } from '../../../services/budgets/budget.ts';
import { judge } from '../../../services/budgets/budget-evaluation.ts';
import { decimalUnits } from '../../../services/money/decimal.ts';

const NOW = Date.UTC(2026, 10, 15, 12);
const budget = budgetDefinition.parse({
  id: 'search-prod',
  name: 'Search in production',
  scope: { team: ['search'], environment: ['prod'] },
  period: 'monthly',
  amount: '100',
  thresholds: [{ percent: 50 }, { percent: 100 }],
  channels: ['hook'],
  action: { type: 'block' },
});
const period = periodAt(budget, NOW);
const evaluate = (spent: string, amount = budget) => judge(amount, period, decimalUnits(spent), new Map(), '2026-11-15', NOW);

describe('budgetAlertChanges', () => {
  it('fires each reached threshold once, critical at 100 % actual', () => {
    const changes = budgetAlertChanges(budget, evaluate('120'), period, [], NOW);
    expect(changes.map((alert) => [alert.alert_id, alert.state, alert.severity])).toEqual([
      ['budget/search-prod/2026-11/actual-50', 'firing', 'warning'],
      ['budget/search-prod/2026-11/actual-100', 'firing', 'critical'],
    ]);
    expect(changes[1]).toMatchObject({ spent: '120', amount: '100', used: '1.2', channels: ['hook'], scope: { team: 'search', environment: 'prod' } });
    expect(changes[1]!.summary).toBe("search-prod spent 120 of 100 USD (120%) in 2026-11; projected 120 USD by the period's end, running out on 2026-11-15.");
    expect(changes[1]!.report_url).toBe('/v1/reports/cost?from=2026-11-01T00%3A00%3A00.000Z&to=2026-12-01T00%3A00%3A00.000Z&group_by=team%2Cfeature%2Cmodel&environment=prod&team=search');
    // Already firing: nothing more to say.
    expect(budgetAlertChanges(budget, evaluate('120'), period, changes, NOW + 1000)).toEqual([]);
  });

  it('resolves an alert whose threshold is no longer reached (the budget was raised) or whose period ended', () => {
    const firing = budgetAlertChanges(budget, evaluate('60'), period, [], NOW);
    expect(firing.map((alert) => alert.alert_id)).toEqual(['budget/search-prod/2026-11/actual-50']);
    const raised = budgetDefinition.parse({ ...budget, amount: '1000' });
    expect(budgetAlertChanges(raised, evaluate('60', raised), period, firing, NOW).map((alert) => [alert.alert_id, alert.state, alert.severity])).toEqual([
      ['budget/search-prod/2026-11/actual-50', 'resolved', 'info'],
    ]);
    const december = periodAt(budget, Date.UTC(2026, 11, 2));
    const nextMonth = budgetAlertChanges(budget, judge(budget, december, 0n, new Map(), '2026-12-02', Date.UTC(2026, 11, 2)), december, firing, Date.UTC(2026, 11, 2));
    expect(nextMonth).toEqual([expect.objectContaining({ alert_id: 'budget/search-prod/2026-11/actual-50', state: 'resolved', summary: 'Resolved (period 2026-11 ended).' })]);
  });
});

describe('channel payloads', () => {
  const [alert] = budgetAlertChanges(budget, evaluate('120'), period, [], NOW).slice(1) as [AlertEvent];
  const resolvedAlert: AlertEvent = { ...alert, state: 'resolved', severity: 'info' };

  it('signs a webhook with HMAC-SHA256 over timestamp and body', () => {
    const request = channelRequest({ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/x', secret: 'a-shared-secret-of-16+' }, alert, NOW);
    expect(JSON.parse(request.body)).toEqual(alert);
    expect(request.headers['x-spendline-timestamp']).toBe(String(NOW / 1000));
    expect(request.headers['x-spendline-signature']).toBe(`sha256=${webhookSignature('a-shared-secret-of-16+', String(NOW / 1000), request.body)}`);
    expect(webhookSignature('another-secret-of-16+', String(NOW / 1000), request.body)).not.toBe(webhookSignature('a-shared-secret-of-16+', String(NOW / 1000), request.body));
  });

  it('triggers and resolves PagerDuty with the alert id as the dedup key', () => {
    const channel: Channel = { name: 'pd', type: 'pagerduty', url: 'http://127.0.0.1:1/v2/enqueue', routing_key: 'R0UTING' };
    expect(JSON.parse(channelRequest(channel, alert, NOW).body)).toMatchObject({ routing_key: 'R0UTING', event_action: 'trigger', dedup_key: alert.alert_id, payload: { severity: 'critical', source: 'spendline/budget/search-prod' } });
    expect(JSON.parse(channelRequest(channel, resolvedAlert, NOW).body)).toEqual({ routing_key: 'R0UTING', event_action: 'resolve', dedup_key: alert.alert_id });
  });

  it('gives Slack blocks with the numbers and Alertmanager labels with an end when resolved', () => {
    const slack = JSON.parse(channelRequest({ name: 's', type: 'slack', url: 'http://127.0.0.1:1/s' }, alert, NOW).body);
    expect(slack.blocks[2].fields.map((field: { text: string }) => field.text)).toEqual(['*Spent*\n120 of 100 USD', '*Used*\n1.2', '*Projected*\n120 USD', '*Period*\n2026-11']);
    const [firing] = JSON.parse(channelRequest({ name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:1/api/v2/alerts' }, alert, NOW).body);
    expect(firing).toMatchObject({ labels: { alertname: 'SpendlineBudget', alert_id: alert.alert_id, severity: 'critical', team: 'search' } });
    expect(firing.endsAt).toBeUndefined();
    const [ended] = JSON.parse(channelRequest({ name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:1/api/v2/alerts' }, resolvedAlert, NOW).body);
    expect(ended.endsAt).toBe(new Date(NOW).toISOString());
  });
});

describe('deliverAlert', () => {
  let server: Server;
  let url = '';
  const received: string[] = [];
  let failuresLeft = 0;
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/flaky' && failuresLeft > 0) {
          failuresLeft -= 1;
          response.writeHead(503).end();
          return;
        }
        received.push(`${request.url} ${body.length}`);
        response.writeHead(request.url === '/gone' ? 410 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries a failing channel with backoff, gives up on a 4xx at once, and never lets one channel hold up another', async () => {
    failuresLeft = 2;
    const [alert] = budgetAlertChanges(budget, evaluate('60'), period, [], NOW) as [AlertEvent];
    const channels = new Map<string, Channel>([
      ['flaky', { name: 'flaky', type: 'slack', url: `${url}/flaky` }],
      ['gone', { name: 'gone', type: 'slack', url: `${url}/gone` }],
      ['ok', { name: 'ok', type: 'alertmanager', url: `${url}/ok` }],
    ]);
    const records = await deliverAlert({ ...alert, channels: ['flaky', 'gone', 'ok', 'missing'] }, channels, { attempts: 4, backoffMs: 10, timeoutMs: 2_000 });
    expect(records.map((record) => [record.channel, record.outcome, record.attempts, record.status_code])).toEqual([
      ['flaky', 'delivered', 3, 200],
      ['gone', 'failed', 1, 410],
      ['ok', 'delivered', 1, 200],
      ['missing', 'failed', 0, 0],
    ]);
    expect(records[3]!.error).toBe('no channel named missing in the channels file');
  });
});
