import { randomUUID } from 'node:crypto';
import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import type { Kafka } from 'kafkajs';
import type { BudgetStatus } from '../alerts/budget-alert-publisher.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import { BatchConsumer, type KafkaMessage } from '../kafka/batch-consumer.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/**
 * Where every budget stands, as the gateway enforces it: the compacted
 * budget.status.v1 read from its beginning in a consumer group of this
 * process's own (every replica needs every budget), the latest status per
 * budget kept in memory, a tombstone removing a deleted budget. The gateway
 * asks it on every call without any I/O.
 */
export class BudgetStatusFeed {
  readonly #consumer: BatchConsumer;
  readonly #statuses = new Map<string, BudgetStatus>();
  readonly #registry: AvroSchemaRegistry;
  readonly #log: Logger;

  constructor(options: { kafka: Kafka; topic: string; groupPrefix: string; registry: AvroSchemaRegistry; log: Logger; metrics: Metrics; onFatal?: (err: Error) => void }) {
    this.#registry = options.registry;
    this.#log = options.log.child({ component: 'budget-status-feed' });
    this.#consumer = new BatchConsumer(
      options.kafka,
      { groupId: `${options.groupPrefix}-${randomUUID()}`, topic: options.topic, fromBeginning: true, handle: (messages) => this.#handle(messages), onFatal: options.onFatal },
      this.#log,
      options.metrics,
    );
  }

  get ready(): boolean {
    return this.#consumer.ready;
  }

  /** The statuses in force, latest per budget. */
  statuses(): Iterable<BudgetStatus> {
    return this.#statuses.values();
  }

  start(): Promise<void> {
    return this.#consumer.start();
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }

  async #handle(messages: readonly KafkaMessage[]): Promise<void> {
    for (const message of messages) {
      const key = message.key?.toString();
      if (!key) continue;
      if (!message.value) {
        this.#statuses.delete(key);
        continue;
      }
      const decoded = this.#registry.decode<BudgetStatus>(SCHEMA_NAMES.budgetStatus, message.value);
      if (decoded.ok) this.#statuses.set(key, decoded.value);
      else this.#log.warn({ budgetId: key, reason: decoded.reason }, 'unreadable budget status skipped');
    }
  }
}
