import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { SerialProducer } from '@spendline/emitter/kafka';
import type { Kafka } from 'kafkajs';
import { deadLetterFor, deadLetterMessage } from '../dlq/dead-letter.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import { BatchConsumer, type BatchContext, type KafkaMessage } from '../kafka/batch-consumer.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AlertStore } from './alert-store.ts';
import { SEVERITIES, type AlertEvent } from './alert-event.ts';
import type { Channel } from './channels.ts';
import { deliverAlert, firingSentTo, type DeliveryContext, type DeliveryOptions } from './delivery.ts';
import { silencedBy, type Silence, type SilenceStore } from './silence-store.ts';

export interface AlertNotifierOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** Where an alert that cannot be read goes, with the reason. */
  readonly dlqTopic: string;
  readonly groupId: string;
  readonly registry: AvroSchemaRegistry;
  readonly store: AlertStore;
  readonly channels: ReadonlyMap<string, Channel>;
  readonly delivery?: DeliveryOptions;
  /** Silences to honour: a firing alert a silence covers is recorded, and nobody is told. None: nothing is silenced. */
  readonly silences?: SilenceStore;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly onFatal?: (err: Error) => void;
}

/**
 * alerts.v1 → notification channels, each alert state once. Messages are keyed
 * by alert id, so every copy of an alert is in one partition and handled by one
 * notifier at a time; a state already recorded (published twice by two
 * evaluators, or again after a restart) is skipped. A new state is delivered to
 * its channels, then recorded with its delivery log, then the offset is
 * committed: a crash in between delivers it again (receivers deduplicate by
 * alert id — PagerDuty's dedup key), never loses it. A firing alert that
 * comes again with a higher severity (a detector incident that grew) is told
 * again: the pager hears that it got worse.
 *
 * Who is told: a firing state goes to the alert's channels whose
 * min_severity it reaches, or to none while a silence covers it; a
 * resolution goes to the channels its firing was sent to (from the delivery
 * log), so a silenced or filtered firing is not followed by a stray
 * resolution. Every channel of the alert gets a delivery record either way.
 */
export class AlertNotifier {
  readonly #options: AlertNotifierOptions;
  readonly #consumer: BatchConsumer;
  readonly #producer: SerialProducer;
  readonly #log: Logger;

  constructor(options: AlertNotifierOptions) {
    this.#options = options;
    this.#producer = new SerialProducer(options.kafka);
    this.#log = options.log.child({ component: 'notifier' });
    this.#consumer = new BatchConsumer(options.kafka, { groupId: options.groupId, topic: options.topic, handle: (messages, context) => this.#handle(messages, context), concurrency: 3, onFatal: options.onFatal }, this.#log, options.metrics);
  }

  get ready(): boolean {
    return this.#consumer.ready;
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    await this.#consumer.start();
  }

  async stop(): Promise<void> {
    await this.#consumer.stop();
    await this.#producer.close();
  }

  async #handle(messages: readonly KafkaMessage[], context: BatchContext): Promise<void> {
    const { registry, store, channels } = this.#options;
    const alerts: AlertEvent[] = [];
    const dead = [];
    for (const message of messages) {
      const decoded = message.value ? registry.decode<AlertEvent>(SCHEMA_NAMES.alert, message.value) : { ok: false as const, reason: 'message has no value' };
      if (decoded.ok) alerts.push(decoded.value);
      else {
        this.#log.warn({ partition: context.partition, offset: message.offset, reason: decoded.reason }, 'undecodable alert sent to DLQ');
        dead.push(deadLetterMessage(registry, deadLetterFor('notifier', { topic: context.topic, partition: context.partition, ...message }, 'undecodable', decoded.reason, Date.now())));
      }
    }
    // Parked before the batch's offsets can be committed: nothing unreadable is dropped.
    if (dead.length > 0) await this.#producer.send([{ topic: this.#options.dlqTopic, messages: dead }]);
    const known = new Map((await store.latest({ ids: [...new Set(alerts.map((alert) => alert.alert_id))] })).map((alert) => [alert.alert_id, alert]));
    let silences: Silence[] | null = null;
    for (const alert of alerts) {
      const previous = known.get(alert.alert_id);
      // A state is told once; a firing alert again only when its severity rose (an incident that grew).
      const escalated = previous?.state === 'firing' && alert.state === 'firing' && SEVERITIES.indexOf(alert.severity) > SEVERITIES.indexOf(previous.severity);
      if (previous?.state === alert.state && !escalated) continue;
      const now = Date.now();
      let routing: DeliveryContext;
      if (alert.state === 'firing') {
        silences ??= this.#options.silences ? await this.#options.silences.active(now) : [];
        routing = { silence: silencedBy(alert, silences, now) };
      } else {
        // The previous state of a resolution is its firing (unless the firing was never seen).
        routing = { firing: previous ? { alert: previous, sentTo: firingSentTo(await store.deliveries([alert.alert_id])) } : null };
      }
      const deliveries = await deliverAlert(alert, channels, this.#options.delivery, now, routing);
      await store.record([alert], deliveries);
      known.set(alert.alert_id, alert);
      this.#log.info({ alertId: alert.alert_id, state: alert.state, silence: routing.silence?.silence_id, deliveries: deliveries.map((d) => `${d.channel}:${d.outcome}`) }, 'alert notified');
      await context.heartbeat();
    }
  }
}
