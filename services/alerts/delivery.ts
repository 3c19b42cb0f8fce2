import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertEvent } from './alert-event.ts';
import { channelRequest, channelWants, type Channel } from './channels.ts';
import type { DeliveryRecord, StoredDelivery } from './alert-store.ts';

export interface DeliveryOptions {
  /** Attempts per channel before giving up (each failure waits backoffMs × 2^attempt). */
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 4, backoffMs: 500, timeoutMs: 5_000 };

/** What the notifier knows beyond the alert itself when it delivers a state. */
export interface DeliveryContext {
  /** The silence in force over a firing alert: every channel records it as silenced, none is told. */
  readonly silence?: { readonly silence_id: string } | null;
  /**
   * For a resolution: the firing state it ends and the channels that firing
   * was sent to. Only those hear of the resolution; without it (the firing
   * was never recorded) nobody does.
   */
  readonly firing?: { readonly alert: AlertEvent; readonly sentTo: ReadonlySet<string> } | null;
}

/** Per channel of the alert: the channel to tell, or the record of why it is not told. */
export type DeliveryStep = { readonly send: Channel; readonly name: string } | { readonly record: DeliveryRecord };

/**
 * Who hears of an alert state, in the alert's channel order. A firing alert
 * goes to the channels whose min_severity it reaches, unless a silence is in
 * force; a resolution to the channels its firing was sent to. An unknown
 * channel name is a failed delivery, not skipped silently.
 */
export function planDelivery(alert: AlertEvent, channels: ReadonlyMap<string, Channel>, context: DeliveryContext = {}): DeliveryStep[] {
  // A resolution also reaches a channel its firing went to that the alert no longer names.
  const sentTo = alert.state === 'resolved' ? [...(context.firing?.sentTo ?? [])] : [];
  const names = [...alert.channels, ...sentTo.filter((name) => !alert.channels.includes(name))];
  return names.map((name): DeliveryStep => {
    const channel = channels.get(name);
    const unsent = (outcome: 'silenced' | 'skipped' | 'failed', error: string): DeliveryStep => ({
      record: { alert_id: alert.alert_id, state: alert.state, channel: name, channel_type: channel?.type ?? 'unknown', attempts: 0, outcome, status_code: 0, error },
    });
    if (alert.state === 'firing') {
      if (context.silence) return unsent('silenced', `silenced by ${context.silence.silence_id}`);
      if (!channel) return unsent('failed', `no channel named ${name} in the channels file`);
      if (!channelWants(channel, alert.severity)) return unsent('skipped', `${alert.severity} is below the channel's min_severity ${channel.min_severity}`);
      return { send: channel, name };
    }
    if (!context.firing?.sentTo.has(name)) return unsent('skipped', 'the firing state was not sent to this channel');
    if (!channel) return unsent('failed', `no channel named ${name} in the channels file`);
    return { send: channel, name };
  });
}

/**
 * The channels a firing state was sent to, from the delivery log: each
 * channel's latest firing delivery that was attempted (delivered, or failed
 * after asking — a timed-out request may still have reached the receiver,
 * and a resolution it does not know of is harmless).
 */
export function firingSentTo(deliveries: readonly StoredDelivery[]): Set<string> {
  const latest = new Map<string, StoredDelivery>();
  for (const delivery of deliveries) {
    const seen = latest.get(delivery.channel);
    if (delivery.state === 'firing' && (!seen || delivery.delivered_at >= seen.delivered_at)) latest.set(delivery.channel, delivery);
  }
  return new Set([...latest.values()].filter((d) => d.outcome === 'delivered' || (d.outcome === 'failed' && d.attempts > 0)).map((d) => d.channel));
}

/**
 * Tells every channel planned for an alert state, each on its own: retries
 * with exponential backoff on a network error, a timeout or a 5xx/429
 * answer, and a channel that keeps failing never holds up the others. One
 * record per channel of the alert, told or not.
 */
export async function deliverAlert(alert: AlertEvent, channels: ReadonlyMap<string, Channel>, options: DeliveryOptions = DEFAULT_DELIVERY, now = Date.now(), context: DeliveryContext = {}): Promise<DeliveryRecord[]> {
  return Promise.all(
    planDelivery(alert, channels, context).map(async (step): Promise<DeliveryRecord> => {
      if ('record' in step) return step.record;
      const { send: channel, name } = step;
      const base = { alert_id: alert.alert_id, state: alert.state, channel: name, channel_type: channel.type };
      const request = channelRequest(channel, alert, now, context.firing?.alert);
      let last = { status: 0, error: '' };
      for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
        try {
          const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(options.timeoutMs) });
          await response.arrayBuffer();
          if (response.ok) return { ...base, attempts: attempt, outcome: 'delivered', status_code: response.status, error: '' };
          last = { status: response.status, error: `HTTP ${response.status}` };
          // A 4xx other than 429 will not get better by asking again.
          if (response.status < 500 && response.status !== 429) return { ...base, attempts: attempt, outcome: 'failed', status_code: last.status, error: last.error };
        } catch (err) {
          last = { status: 0, error: (err as Error).message };
        }
        if (attempt < options.attempts) await sleep(options.backoffMs * 2 ** (attempt - 1));
      }
      return { ...base, attempts: options.attempts, outcome: 'failed', status_code: last.status, error: last.error };
    }),
  );
}
