import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import type { SerialProducer } from '@spendline/emitter/kafka';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** Kafka did not acknowledge in time: none of the batch may be reported as accepted. */
export class KafkaUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`Kafka did not acknowledge the events: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'KafkaUnavailableError';
    this.cause = cause;
  }
}

export interface UsagePublisherOptions {
  readonly producer: SerialProducer;
  readonly topic: string;
  readonly registry: AvroSchemaRegistry;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/**
 * Publishes validated usage events to usage.raw.v1 as Avro single-object
 * messages keyed by event_id, and resolves only when every in-sync replica has
 * them. Connects lazily, so an ingest process started while Kafka is down
 * answers 503 until Kafka returns instead of refusing to start.
 */
export class UsagePublisher {
  readonly #options: UsagePublisherOptions;

  constructor(options: UsagePublisherOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#options.producer.connected;
  }

  async publish(events: readonly UsageEventRecord[]): Promise<void> {
    const { producer, topic, registry, timeoutMs, metrics } = this.#options;
    const messages = events.map((event) => ({ key: event.event_id, value: registry.encode(SCHEMA_NAMES.usageEvent, event) }));
    try {
      await withTimeout(producer.send([{ topic, messages }]), timeoutMs);
    } catch (err) {
      this.#options.log.warn({ err, events: events.length }, 'publishing to Kafka failed');
      throw new KafkaUnavailableError(err);
    }
    metrics.messagesProduced.inc({ topic }, messages.length);
  }

  connect(): Promise<void> {
    return this.#options.producer.connect();
  }

  close(): Promise<void> {
    return this.#options.producer.close();
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no acknowledgement within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
    // A send abandoned at the timeout may still succeed later (the client was told 503 and
    // resends; event_id dedup absorbs the copy) or fail (the producer replaces itself).
    work.catch(() => {});
  }
}
