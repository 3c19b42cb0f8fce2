import type { UsageEmitterHooks } from '@spendline/emitter';
import type { Metrics } from './metrics.ts';

/**
 * The gateway's usage emitter reported on Spendline's Prometheus metrics: the
 * spendline_emitter_* series, messages produced to `topic`, and send retries
 * (operation emitter_send).
 */
export function emitterMetricsHooks(metrics: Metrics, topic: string): UsageEmitterHooks {
  return {
    emitted: () => metrics.emitterEventsEmitted.inc(),
    spilled: (events) => metrics.emitterEventsSpilled.inc(events),
    sent: (events, replayed) => {
      metrics.emitterEventsSent.inc(events);
      metrics.emitterEventsReplayed.inc(replayed);
      metrics.messagesProduced.inc({ topic }, events);
    },
    refused: (reason) => metrics.emitterEventsRefused.inc({ reason }),
    sendFailed: () => metrics.retries.inc({ operation: 'emitter_send' }),
    backlog: (buffered, spillBytes) => {
      metrics.emitterEventsBuffered.set(buffered);
      metrics.emitterSpillBytes.set(spillBytes);
    },
  };
}
