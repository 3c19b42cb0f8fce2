import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { SEVERITIES, type AlertEvent, type AlertSeverity } from './alert-event.ts';

/**
 * Notification channels, as code: a JSON file (SPENDLINE_CHANNELS_FILE) naming
 * each channel, its kind and where it goes. Budgets and detectors name the
 * channels to tell; a channel's min_severity (info, warning or critical;
 * default info) keeps less severe firing alerts from it. Each kind turns an
 * alert into the request its receiver expects: budget alerts show spend
 * against the budget, detector alerts what was observed against the
 * expected range, since when, the money at stake and what drove it.
 */

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 lower-case letters, digits, ".", "_" or "-"');
const url = z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' });
/**
 * The least severe firing alert the channel hears of (default info: every
 * one); a pager can take critical only while a chat channel takes all. A
 * resolution goes to the channels its firing went to, whatever its severity.
 */
const min_severity = z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(', ')}` }).optional();

const channelSchema = z.discriminatedUnion('type', [
  /**
   * Any HTTP receiver: the alert as JSON, signed with HMAC-SHA256 over "<timestamp>.<body>". The
   * secret inline, or in secret_file so the channels file can be committed without it.
   */
  z.strictObject({ name, type: z.literal('webhook'), url, secret: z.string().min(16, 'must be at least 16 characters').optional(), secret_file: z.string().min(1).optional(), min_severity }),
  /** A Slack incoming webhook: blocks with the numbers. */
  z.strictObject({ name, type: z.literal('slack'), url, min_severity }),
  /** PagerDuty Events API v2 (its enqueue URL): trigger and resolve with the alert id as dedup key. */
  z.strictObject({ name, type: z.literal('pagerduty'), url, routing_key: z.string().min(1), min_severity }),
  /** A Prometheus Alertmanager (its /api/v2/alerts URL): alerts with labels, annotations, startsAt/endsAt. */
  z.strictObject({ name, type: z.literal('alertmanager'), url, min_severity }),
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

/** True when a firing alert of this severity is at or above the channel's min_severity. */
export function channelWants(channel: Channel, severity: AlertSeverity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(channel.min_severity ?? 'info');
}

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

/**
 * The HTTP request that tells a channel about an alert. `firing` is the
 * firing state a resolution ends, when known (Alertmanager needs its labels).
 */
export function channelRequest(channel: Channel, alert: AlertEvent, now: number, firing?: AlertEvent): ChannelRequest {
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
          ...(alert.kind === 'budget'
            ? [
                {
                  type: 'section',
                  fields: [
                    { type: 'mrkdwn', text: `*Spent*\n${alert.spent} of ${alert.amount} USD` },
                    { type: 'mrkdwn', text: `*Used*\n${alert.used}` },
                    { type: 'mrkdwn', text: `*Projected*\n${alert.projected ?? '–'} USD` },
                    { type: 'mrkdwn', text: `*Period*\n${alert.period}` },
                  ],
                },
              ]
            : detectorSlackBlocks(alert)),
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
                severity: alert.severity,
                timestamp: new Date(alert.occurred_at).toISOString(),
                custom_details:
                  alert.kind === 'budget'
                    ? { summary: alert.summary, spent: alert.spent, amount: alert.amount, used: alert.used, projected: alert.projected, period: alert.period, report: alert.report_url }
                    : detectorDetails(alert),
              },
            }
          : {}),
      });
    case 'alertmanager': {
      // Alertmanager knows an alert by its labels: a resolution carries the labels (and start) its firing had.
      const identity = alert.state === 'resolved' && firing ? firing : alert;
      return json([
        {
          labels: alertmanagerLabels(identity),
          annotations: alert.kind === 'budget' ? { summary: alert.title, description: alert.summary, report: alert.report_url } : detectorAnnotations(alert),
          startsAt: new Date(identity.occurred_at).toISOString(),
          // A resolved alert is one whose end is now.
          ...(alert.state === 'resolved' ? { endsAt: new Date(alert.occurred_at).toISOString() } : {}),
        },
      ]);
    }
  }
}

/** Observed and the expected range, in the metric's unit: "12.5 USD/min" and "0.8–1.6 USD/min". */
function observedText(alert: AlertEvent): { observed: string; expected: string } {
  const unit = alert.unit ? ` ${alert.unit}` : '';
  const range = alert.expected_low !== null && alert.expected_high !== null ? `${alert.expected_low}–${alert.expected_high}` : (alert.expected ?? '–');
  return { observed: `${alert.observed ?? '–'}${unit}`, expected: `${range}${unit}` };
}

const sinceText = (alert: AlertEvent) => (alert.since === null ? '–' : new Date(alert.since).toISOString());
const atStakeText = (alert: AlertEvent) => (alert.at_stake_per_hour === null ? '–' : `${alert.at_stake_per_hour} USD/h`);
/** The five largest contributors as "dimension=value observed (was expected)". */
const contributorLines = (alert: AlertEvent) => alert.contributors.slice(0, 5).map((c) => `${c.dimension}=${c.value} ${c.observed} (was ${c.expected})`);

function detectorSlackBlocks(alert: AlertEvent): object[] {
  const { observed, expected } = observedText(alert);
  const contributors = contributorLines(alert);
  return [
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Observed*\n${observed}` },
        { type: 'mrkdwn', text: `*Expected*\n${expected}` },
        { type: 'mrkdwn', text: `*Since*\n${sinceText(alert)}` },
        { type: 'mrkdwn', text: `*At stake*\n${atStakeText(alert)}` },
      ],
    },
    ...(contributors.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: `*Top contributors*\n${contributors.map((line) => `• ${line}`).join('\n')}` } }] : []),
    ...(alert.related.length > 0 ? [{ type: 'section', text: { type: 'mrkdwn', text: `*Related*\n${alert.related.length} related series changed with it` } }] : []),
  ];
}

function detectorDetails(alert: AlertEvent): Record<string, unknown> {
  const { observed, expected } = observedText(alert);
  return {
    summary: alert.summary,
    kind: alert.kind,
    metric: alert.metric,
    scope: alert.scope,
    observed,
    expected,
    since: sinceText(alert),
    at_stake_per_hour: atStakeText(alert),
    score: alert.score,
    top_contributors: contributorLines(alert),
    related_series: alert.related.length,
    report: alert.report_url,
  };
}

/** "model_mix_drift" → "ModelMixDrift". */
function pascalCase(kind: string): string {
  return kind
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
}

/** Alertmanager label names are [a-zA-Z_][a-zA-Z0-9_]*: "tag:env" becomes "tag_env". */
const labelName = (key: string) => key.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, '_');

function alertmanagerLabels(alert: AlertEvent): Record<string, string> {
  if (alert.kind === 'budget') return { alertname: 'SpendlineBudget', alert_id: alert.alert_id, budget: alert.source_id, severity: alert.severity, period: alert.period, ...alert.scope };
  const scope = Object.fromEntries(Object.entries(alert.scope).map(([key, value]) => [labelName(key), value]));
  // The fixed labels win over a scope dimension of the same name.
  return { ...scope, alertname: `Spendline${pascalCase(alert.kind)}`, alert_id: alert.alert_id, kind: alert.kind, source: alert.source_id, metric: alert.metric, severity: alert.severity };
}

function detectorAnnotations(alert: AlertEvent): Record<string, string> {
  const { observed, expected } = observedText(alert);
  return {
    summary: alert.title,
    description: alert.summary,
    observed,
    expected,
    since: sinceText(alert),
    at_stake_per_hour: atStakeText(alert),
    top_contributors: contributorLines(alert).join('; '),
    related_series: String(alert.related.length),
    report: alert.report_url,
  };
}

/** HMAC-SHA256 of "<timestamp>.<body>" in hex: what a receiver recomputes with the shared secret. */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
