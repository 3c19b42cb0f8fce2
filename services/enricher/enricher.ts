import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { SerialProducer } from '@spendline/emitter/kafka';
import { retryUntilStopped } from '@spendline/emitter/retry';
import type { Kafka } from 'kafkajs';
import { deadLetterMessage } from '../dlq/dead-letter.ts';
import { BatchConsumer, type BatchContext, type KafkaMessage } from '../kafka/batch-consumer.ts';
import type { Topics } from '../kafka/topics.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import type { PolicySource } from '../attribution/policy-source.ts';
import { enrichMessage } from './enrich-message.ts';

export interface EnricherOptions {
  readonly kafka: Kafka;
  readonly topics: Topics;
  readonly groupId: string;
  readonly registry: AvroSchemaRegistry;
  /** Prices as currently on disk: a changed contracts file takes effect without a restart. */
  readonly pricing: PricingSource;
  /** The attribution policy as currently on disk, likewise. */
  readonly attribution: PolicySource;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly concurrency?: number;
  /** The consumer died for good (see BatchConsumer); the process should exit. */
  readonly onFatal?: (err: Error) => void;
}

/**
 * usage.raw.v1 → usage.enriched.v1 (and usage.dlq.v1). Each batch's output is
 * acknowledged by Kafka before the batch's offsets are committed. Output is
 * keyed by event_id, so every copy of an event lands in one partition and the
 * sink can drop repeats without races.
 */
export class Enricher {
  readonly #options: EnricherOptions;
  readonly #producer: SerialProducer;
  readonly #consumer: BatchConsumer;
  readonly #log: Logger;

  constructor(options: EnricherOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'enricher' });
    this.#producer = new SerialProducer(options.kafka);
    this.#consumer = new BatchConsumer(
      options.kafka,
      { groupId: options.groupId, topic: options.topics.raw, handle: (messages, context) => this.#handle(messages, context), concurrency: options.concurrency ?? 3, onFatal: options.onFatal },
      this.#log,
      options.metrics,
    );
  }

  get ready(): boolean {
    return this.#consumer.ready;
  }

  async start(): Promise<void> {
    await this.#producer.connect();
    await this.#consumer.start();
    this.#log.info({ from: this.#options.topics.raw, to: this.#options.topics.enriched }, 'enricher started');
  }

  async stop(): Promise<void> {
    await this.#consumer.stop();
    await this.#producer.close();
  }

  async #handle(messages: readonly KafkaMessage[], context: BatchContext): Promise<void> {
    const { registry, pricing, attribution, topics, metrics } = this.#options;
    const now = Date.now();
    const policies = { pricing: pricing.current(now), attribution: attribution.current(now) };
    const enriched = [];
    const dead = [];
    const statuses: string[] = [];
    for (const message of messages) {
      const outcome = enrichMessage({ topic: context.topic, partition: context.partition, ...message }, registry, policies, now);
      if (outcome.kind === 'enriched') {
        enriched.push({ key: outcome.eventId, value: outcome.value });
        statuses.push(outcome.enriched.attribution?.status ?? 'unassessed');
      } else {
        dead.push(deadLetterMessage(registry, outcome.letter));
        this.#log.warn({ topic: context.topic, partition: context.partition, offset: outcome.letter.source_offset, reasonCode: outcome.letter.reason_code, reason: outcome.letter.reason }, 'raw event sent to DLQ');
      }
    }
    const output = [
      { topic: topics.enriched, messages: enriched },
      { topic: topics.dlq, messages: dead },
    ];
    await retryUntilStopped(() => this.#producer.send(output), {
      what: 'producing enriched events',
      shouldContinue: context.isRunning,
      onRetry: (err, attempt, delayMs) => {
        metrics.retries.inc({ operation: 'enricher_produce' });
        this.#log.warn({ err, attempt, delayMs }, 'producing enriched events failed; retrying');
        context.heartbeat().catch(() => {});
      },
    });
    metrics.messagesProduced.inc({ topic: topics.enriched }, enriched.length);
    for (const status of statuses) metrics.eventsAttributed.inc({ status, policy: policies.attribution.version });
    if (dead.length > 0) {
      metrics.messagesProduced.inc({ topic: topics.dlq }, dead.length);
      for (const message of dead) metrics.deadLettered.inc({ stage: 'enricher', reason_code: message.headers['spendline-reason-code'] });
    }
    await context.heartbeat();
  }
}
