import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { validate } from '../validation/issues.ts';
import type { AlertEvent } from './budget-alerts.ts';

/**
 * Notification channels, as code: a JSON file (SPENDLINE_CHANNELS_FILE) naming
 * each channel, its kind and where it goes. Budgets name the channels to tell.
 * Each kind turns an alert into the request its receiver expects.
 */

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, ".", "_" or "-"');
const url = z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' });

const channelSchema = z.discriminatedUnion('type', [
  /**
   * Any HTTP receiver: the alert as JSON, signed with HMAC-SHA256 over "<timestamp>.<body>". The
   * secret inline, or in secret_file so the channels file can be committed without it.
   */
  z.strictObject({ name, type: z.literal('webhook'), url, secret: z.string().min(16, 'must be at least 16 characters').optional(), secret_file: z.string().min(1).optional() }),
  /** A Slack incoming webhook: blocks with the numbers. */
  z.strictObject({ name, type: z.literal('slack'), url }),
  /** PagerDuty Events API v2 (its enqueue URL): trigger and resolve with the alert id as dedup key. */
  z.strictObject({ name, type: z.literal('pagerduty'), url, routing_key: z.string().min(1) }),
  /** A Prometheus Alertmanager (its /api/v2/alerts URL): alerts with labels, annotations, startsAt/endsAt. */
  z.strictObject({ name, type: z.literal('alertmanager'), url }),
]);

export const channelsFile = z.strictObject({ channels: z.array(channelSchema).max(100) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.channels.forEach((channel, index) => {
    if (seen.has(channel.name)) ctx.addIssue({ code: 'custom', path: ['channels', index, 'name'], message: `repeats channel ${channel.name}` });
    seen.add(channel.name);
    if (channel.type === 'webhook' && (channel.secret === undefined) === (channel.secret_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['channels', index], message: 'a webhook needs exactly one of secret and secret_file' });
    }
  });
});

export type Channel = z.output<typeof channelSchema>;

/** Reads and validates the channels file; secrets from secret_file are read now. */
export function loadChannels(file: string | null): Map<string, Channel> {
  if (!file) return new Map();
  const checked = validate(channelsFile, JSON.parse(readFileSync(file, 'utf8')));
  if (!checked.ok) throw new Error(`invalid channels file: ${checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return new Map(
    checked.value.channels.map((channel) => [
      channel.name,
      channel.type === 'webhook' && channel.secret_file ? { ...channel, secret: readFileSync(channel.secret_file, 'utf8').trim(), secret_file: undefined } : channel,
    ]),
  );
}

export interface ChannelRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The HTTP request that tells a channel about an alert. */
export function channelRequest(channel: Channel, alert: AlertEvent, now: number): ChannelRequest {
  const json = (value: unknown, headers: Record<string, string> = {}) => ({ url: channel.url, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) });
  switch (channel.type) {
    case 'webhook': {
      const body = JSON.stringify(alert);
      const timestamp = String(Math.floor(now / 1000));
      return {
        url: channel.url,
        headers: { 'content-type': 'application/json', 'x-spendline-timestamp': timestamp, 'x-spendline-signature': `sha256=${webhookSignature(channel.secret ?? '', timestamp, body)}` },
        body,
      };
    }
    case 'slack':
      return json({
        text: alert.title,
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: alert.title.slice(0, 150) } },
          { type: 'section', text: { type: 'mrkdwn', text: alert.summary } },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: `*Spent*\n${alert.spent} of ${alert.amount} USD` },
              { type: 'mrkdwn', text: `*Used*\n${alert.used}` },
              { type: 'mrkdwn', text: `*Projected*\n${alert.projected ?? '–'} USD` },
              { type: 'mrkdwn', text: `*Period*\n${alert.period}` },
            ],
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: `${alert.state} · ${alert.severity} · ${alert.alert_id} · report: ${alert.report_url}` }] },
        ],
      });
    case 'pagerduty':
      return json({
        routing_key: channel.routing_key,
        event_action: alert.state === 'firing' ? 'trigger' : 'resolve',
        dedup_key: alert.alert_id,
        ...(alert.state === 'firing'
          ? {
              payload: {
                summary: alert.title.slice(0, 1024),
                source: `spendline/${alert.kind}/${alert.source_id}`,
                severity: alert.severity === 'critical' ? 'critical' : 'warning',
                timestamp: new Date(alert.occurred_at).toISOString(),
                custom_details: { summary: alert.summary, spent: alert.spent, amount: alert.amount, used: alert.used, projected: alert.projected, period: alert.period, report: alert.report_url },
              },
            }
          : {}),
      });
    case 'alertmanager':
      return json([
        {
          labels: { alertname: 'SpendlineBudget', alert_id: alert.alert_id, budget: alert.source_id, severity: alert.severity, period: alert.period, ...alert.scope },
          annotations: { summary: alert.title, description: alert.summary, report: alert.report_url },
          startsAt: new Date(alert.occurred_at).toISOString(),
          // A resolved alert is one whose end is now.
          ...(alert.state === 'resolved' ? { endsAt: new Date(alert.occurred_at).toISOString() } : {}),
        },
      ]);
  }
}

/** HMAC-SHA256 of "<timestamp>.<body>" in hex: what a receiver recomputes with the shared secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
