import { StoppedError } from '@spendline/emitter/retry';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

export interface BatchContext {
  readonly topic: string;
  readonly partition: number;
  /** Keeps the group membership alive during long work. */
  heartbeat(): Promise<void>;
  /** False once stop() was called: long retries should give up (uncommitted work is redone later). */
  isRunning(): boolean;
}

/**
 * Handles one batch of one partition and resolves only when its effects are
 * durable (rows in ClickHouse, messages acknowledged by Kafka). Throwing
 * StoppedError abandons the batch without committing it.
 */
export type BatchHandler = (messages: readonly KafkaMessage[], context: BatchContext) => Promise<void>;

export interface BatchConsumerOptions {
  readonly groupId: string;
  readonly topic: string;
  readonly handle: BatchHandler;
  /** Partitions handled at once. */
  readonly concurrency?: number;
  /** Broker-side batching: wait up to maxWaitMs for at least minBytes. */
  readonly minBytes?: number;
  readonly maxWaitMs?: number;
  readonly maxBytesPerPartition?: number;
  /** Called when kafkajs gives up on the consumer for good; the process should exit and be restarted. */
  readonly onFatal?: (err: Error) => void;
  /** Where a group with no committed offsets starts: the oldest message (default), or only new ones (a watcher of the live stream). */
  readonly fromBeginning?: boolean;
}

/**
 * A thin kafkajs loop: it owns batching and offsets only. Offsets are
 * committed after the handler's effects are durable, never before, so a crash
 * replays work instead of losing it.
 */
export class BatchConsumer {
  readonly #consumer: Consumer;
  readonly #options: BatchConsumerOptions;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #running = false;
  #joined = false;

  constructor(kafka: Kafka, options: BatchConsumerOptions, log: Logger, metrics: Metrics) {
    this.#options = options;
    this.#log = log;
    this.#metrics = metrics;
    this.#consumer = kafka.consumer({
      groupId: options.groupId,
      // A member that vanished without leaving (a kill -9) holds its partitions until this expires;
      // a live one heartbeats every second, during long batches too (see eachBatch).
      sessionTimeout: 10_000,
      // Longer than one ClickHouse attempt can take (the HTTP client gives up at 60 s): during a
      // rebalance the group waits this long for a member to finish its batch, so an insert in
      // flight completes before another member is given the partition.
      rebalanceTimeout: 120_000,
      heartbeatInterval: 1_000,
      minBytes: options.minBytes ?? 1,
      maxWaitTimeInMs: options.maxWaitMs ?? 500,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1024 * 1024,
    });
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, ({ payload }) => {
      this.#joined = true;
      this.#log.info({ memberId: payload.memberId, assignment: payload.memberAssignment }, 'joined consumer group');
    });
    this.#consumer.on(this.#consumer.events.CRASH, ({ payload }) => {
      this.#joined = false;
      // kafkajs restarts the consumer after a retriable error (a coordinator still loading, say).
      if (payload.restart) this.#log.warn({ err: payload.error }, 'consumer restarting after a retriable error');
      else this.#log.error({ err: payload.error }, 'consumer crashed');
      if (!payload.restart && this.#running) options.onFatal?.(payload.error);
    });
  }

  /** True once the consumer has joined its group and while it runs. */
  get ready(): boolean {
    return this.#running && this.#joined;
  }

  async start(): Promise<void> {
    const { topic, groupId } = this.#options;
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topic, fromBeginning: this.#options.fromBeginning ?? true });
    this.#running = true;
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.concurrency ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale, commitOffsetsIfNecessary }) => {
        if (batch.isEmpty() || !isRunning() || isStale()) return;
        // kafkajs heartbeats only between batches or when asked: keep the membership alive while
        // the handler works, and learn of a rebalance that takes this partition away.
        let lost = false;
        const beat = async () => {
          try {
            await heartbeat();
          } catch (err) {
            if (MEMBERSHIP_LOST.has((err as { type?: string }).type ?? '')) lost = true;
          }
        };
        const beating = setInterval(() => void beat(), 1_000);
        const context: BatchContext = {
          topic: batch.topic,
          partition: batch.partition,
          heartbeat: beat,
          isRunning: () => this.#running && isRunning() && !isStale() && !lost,
        };
        try {
          await this.#options.handle(batch.messages, context);
        } catch (err) {
          if (err instanceof StoppedError) return;
          throw err;
        } finally {
          clearInterval(beating);
        }
        // The partition may belong to another member now: its new owner redoes the batch.
        if (lost) return;
        const last = batch.lastOffset();
        // Explicit offsets through the batch payload: unlike consumer.commitOffsets, this still
        // commits while stop() is draining, so a clean shutdown keeps the batch it finished.
        await commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
        });
        resolveOffset(last);
        this.#metrics.messagesConsumed.inc({ group: groupId, topic: batch.topic }, batch.messages.length);
        this.#metrics.consumerLag.set({ group: groupId, topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
      },
    });
  }

  /** Finishes the batch in hand (or abandons a retry loop), then leaves the group. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#consumer.disconnect();
  }
}

/** Heartbeat answers meaning this member no longer owns its partitions (or soon will not). */
const MEMBERSHIP_LOST = new Set(['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

export type { KafkaMessage };
