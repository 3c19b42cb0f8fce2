import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { SerialProducer } from '@spendline/emitter/kafka';
import { retryUntilStopped } from '@spendline/emitter/retry';
import type { Kafka } from 'kafkajs';
import { isDataError, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { SinkConfig } from '../config/config.ts';
import { deadLetterFor, deadLetterMessage, type DeadLetter } from '../dlq/dead-letter.ts';
import { BatchConsumer, type BatchContext, type KafkaMessage } from '../kafka/batch-consumer.ts';
import type { Topics } from '../kafka/topics.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { storedEventIds } from './stored-event-ids.ts';
import { decodeEnriched, firstPerEventId, toUsageRow, USAGE_EVENTS_TABLE, type UsageRow } from './usage-row.ts';

export interface SinkOptions {
  readonly kafka: Kafka;
  readonly clickhouse: ClickHouse;
  readonly topics: Topics;
  readonly registry: AvroSchemaRegistry;
  readonly config: SinkConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly concurrency?: number;
  /** The consumer died for good (see BatchConsumer); the process should exit. */
  readonly onFatal?: (err: Error) => void;
}

interface PendingRow {
  readonly row: UsageRow;
  readonly message: KafkaMessage;
}

interface RefusedRow {
  readonly entry: PendingRow;
  readonly reason: string;
}

interface WriteOutcome {
  readonly written: number;
  /** Already stored: a redelivery or a resent event. */
  readonly skipped: number;
  readonly refused: readonly RefusedRow[];
}

/** Rows grouped by the month of occurred_at ('YYYY-MM', the table's partition key). */
function groupByMonth<T extends PendingRow>(entries: readonly T[]): T[][] {
  const months = new Map<string, T[]>();
  for (const entry of entries) {
    const month = String(entry.row['occurred_at']).slice(0, 7);
    const group = months.get(month);
    if (group) group.push(entry);
    else months.set(month, [entry]);
  }
  return [...months.values()];
}

/**
 * usage.enriched.v1 → ClickHouse usage_events_v1, in batches bounded by size
 * (SINK_MAX_BATCH_ROWS, SINK_MIN_BATCH_BYTES) and time (SINK_MAX_WAIT_MS).
 *
 * Flush order per batch: drop event ids already stored → insert → dead-letter
 * what cannot be stored → commit offsets (done by BatchConsumer). A failed
 * insert is retried, never committed past. Because the stored-id check runs
 * inside every retry and enriched messages are keyed by event_id (one
 * partition, one consumer at a time), replays and resent events are counted once.
 */
export class Sink {
  readonly #options: SinkOptions;
  readonly #consumer: BatchConsumer;
  readonly #producer: SerialProducer;
  readonly #log: Logger;

  constructor(options: SinkOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'sink' });
    this.#producer = new SerialProducer(options.kafka);
    this.#consumer = new BatchConsumer(
      options.kafka,
      {
        groupId: options.config.groupId,
        topic: options.topics.enriched,
        handle: (messages, context) => this.#handle(messages, context),
        concurrency: options.concurrency ?? 3,
        onFatal: options.onFatal,
        minBytes: options.config.minBatchBytes,
        maxWaitMs: options.config.maxWaitMs,
      },
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
    this.#log.info({ from: this.#options.topics.enriched, table: USAGE_EVENTS_TABLE }, 'sink started');
  }

  async stop(): Promise<void> {
    await this.#consumer.stop();
    await this.#producer.close();
  }

  async #handle(messages: readonly KafkaMessage[], context: BatchContext): Promise<void> {
    const { registry, metrics, config } = this.#options;
    const now = Date.now();
    const dead: DeadLetter[] = [];
    const pending: PendingRow[] = [];
    for (const message of messages) {
      const source = { topic: context.topic, partition: context.partition, ...message };
      const decoded = decodeEnriched(registry, message.value);
      if (!decoded.ok) {
        dead.push(deadLetterFor('sink', source, 'undecodable', decoded.reason, now));
        continue;
      }
      // A record the enricher did not write (produced straight to this topic) may still break
      // the mapping; it goes to the DLQ instead of stopping the partition.
      try {
        pending.push({ row: toUsageRow(decoded.enriched, context.partition, message.offset), message });
      } catch (err) {
        dead.push(deadLetterFor('sink', source, 'invalid_event', `cannot map the event to a row: ${(err as Error).message}`, now));
      }
    }
    const { unique, repeats } = firstPerEventId(pending.map((entry) => ({ ...entry, event_id: entry.row.event_id })));
    metrics.duplicatesSkipped.inc(repeats);

    for (let start = 0; start < unique.length; start += config.maxBatchRows) {
      const chunk = unique.slice(start, start + config.maxBatchRows);
      const { written, skipped, refused } = await retryUntilStopped(() => this.#writeNew(chunk), {
        what: `inserting ${chunk.length} rows`,
        shouldContinue: context.isRunning,
        onRetry: (err, attempt, delayMs) => {
          metrics.retries.inc({ operation: 'sink_insert' });
          this.#log.warn({ err, attempt, delayMs, partition: context.partition }, 'insert failed; retrying');
          context.heartbeat().catch(() => {});
        },
      });
      metrics.rowsWritten.inc(written);
      metrics.duplicatesSkipped.inc(skipped);
      for (const { entry, reason } of refused) {
        dead.push(deadLetterFor('sink', { topic: context.topic, partition: context.partition, ...entry.message }, 'unwritable', reason, now));
      }
    }
    if (dead.length > 0) await this.#deadLetter(dead, context);
  }

  /**
   * Inserts the rows not stored yet, one insert per month (the table's
   * partition: an insert spanning more than 100 partitions is refused), and
   * returns what happened, including rows ClickHouse refused as data.
   */
  async #writeNew(chunk: readonly (PendingRow & { event_id: string })[]): Promise<WriteOutcome> {
    const { clickhouse, metrics } = this.#options;
    const timer = metrics.insertDuration.startTimer();
    const stored = await storedEventIds(clickhouse, chunk.map((entry) => entry.event_id));
    const fresh = chunk.filter((entry) => !stored.has(entry.event_id));
    const refused: RefusedRow[] = [];
    for (const month of groupByMonth(fresh)) refused.push(...(await this.#insertIsolatingRefused(month)));
    timer();
    return { written: fresh.length - refused.length, skipped: chunk.length - fresh.length, refused };
  }

  /**
   * Inserts rows; when ClickHouse refuses the data itself, halves the batch
   * until the refused rows are found, so one bad row cannot block a partition.
   * Any other error propagates (and the caller retries).
   */
  async #insertIsolatingRefused(entries: readonly PendingRow[]): Promise<RefusedRow[]> {
    if (entries.length === 0) return [];
    try {
      await this.#options.clickhouse.insert('usage_events', USAGE_EVENTS_TABLE, entries.map((entry) => entry.row));
      return [];
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (entries.length === 1) return [{ entry: entries[0]!, reason: `ClickHouse refused the row: ${(err as Error).message}` }];
      const middle = Math.ceil(entries.length / 2);
      return [
        ...(await this.#insertIsolatingRefused(entries.slice(0, middle))),
        ...(await this.#insertIsolatingRefused(entries.slice(middle))),
      ];
    }
  }

  async #deadLetter(letters: readonly DeadLetter[], context: BatchContext): Promise<void> {
    const { registry, topics, metrics } = this.#options;
    for (const letter of letters) {
      this.#log.warn({ partition: letter.source_partition, offset: letter.source_offset, reasonCode: letter.reason_code, reason: letter.reason }, 'enriched event sent to DLQ');
    }
    await retryUntilStopped(
      () => this.#producer.send([{ topic: topics.dlq, messages: letters.map((letter) => deadLetterMessage(registry, letter)) }]),
      { what: 'producing dead letters', shouldContinue: context.isRunning, onRetry: () => context.heartbeat().catch(() => {}) },
    );
    metrics.messagesProduced.inc({ topic: topics.dlq }, letters.length);
    for (const letter of letters) metrics.deadLettered.inc({ stage: 'sink', reason_code: letter.reason_code });
  }
}
