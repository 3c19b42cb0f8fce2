import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertEvent } from './budget-alerts.ts';
import { channelRequest, type Channel } from './channels.ts';
import type { DeliveryRecord } from './alert-store.ts';

export interface DeliveryOptions {
  /** Attempts per channel before giving up (each failure waits backoffMs × 2^attempt). */
  readonly attempts: number;
  readonly backoffMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 4, backoffMs: 500, timeoutMs: 5_000 };

/**
 * Tells every channel of an alert, each on its own: retries with exponential
 * backoff on a network error, a timeout or a 5xx/429 answer, and a channel
 * that keeps failing never holds up the others. An unknown channel name is
 * recorded as a failed delivery, not skipped silently.
 */
export async function deliverAlert(alert: AlertEvent, channels: ReadonlyMap<string, Channel>, options: DeliveryOptions = DEFAULT_DELIVERY, now = Date.now()): Promise<DeliveryRecord[]> {
  return Promise.all(
    alert.channels.map(async (name): Promise<DeliveryRecord> => {
      const channel = channels.get(name);
      const base = { alert_id: alert.alert_id, state: alert.state, channel: name };
      if (!channel) return { ...base, channel_type: 'unknown', attempts: 0, outcome: 'failed', status_code: 0, error: `no channel named ${name} in the channels file` };
      const request = channelRequest(channel, alert, now);
      let last = { status: 0, error: '' };
      for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
        try {
          const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(options.timeoutMs) });
          await response.arrayBuffer();
          if (response.ok) return { ...base, channel_type: channel.type, attempts: attempt, outcome: 'delivered', status_code: response.status, error: '' };
          last = { status: response.status, error: `HTTP ${response.status}` };
          // A 4xx other than 429 will not get better by asking again.
          if (response.status < 500 && response.status !== 429) return { ...base, channel_type: channel.type, attempts: attempt, outcome: 'failed', status_code: last.status, error: last.error };
        } catch (err) {
          last = { status: 0, error: (err as Error).message };
        }
        if (attempt < options.attempts) await sleep(options.backoffMs * 2 ** (attempt - 1));
      }
      return { ...base, channel_type: channel.type, attempts: options.attempts, outcome: 'failed', status_code: last.status, error: last.error };
    }),
  );
}
