import type { Kafka, Message, Producer } from 'kafkajs';
import { createIdempotentProducer } from './kafka-client.ts';

/**
 * An idempotent kafkajs producer used safely:
 *
 * - One request at a time. When a produce request fails, kafkajs winds the
 *   partition sequence numbers back; a send queued behind it would reuse
 *   them, and if the failed request had in fact been written, the broker
 *   acknowledges the later send as a duplicate without writing it — a lost
 *   event answered with success. Serialising sends leaves nothing queued
 *   behind a failure.
 * - Replaced after any failed send: the next send gets a fresh producer id,
 *   so no rewound sequence is ever reused.
 * - Sends that arrive while a request is in flight are coalesced into the
 *   next one (group commit), so serialising costs little throughput.
 * - Requests are split so each stays under maxRequestBytes: the broker refuses
 *   a record batch over message.max.bytes (1 MiB by default) for good, and a
 *   consumer catching up on a backlog produces large batches.
 */

export interface TopicMessages {
  readonly topic: string;
  readonly messages: readonly Message[];
}

interface PendingSend {
  readonly batches: readonly TopicMessages[];
  resolve(): void;
  reject(err: unknown): void;
}

/** Keeps each produce request well under the broker's default message.max.bytes (1 MiB). */
const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

export class SerialProducer {
  readonly #kafka: Kafka;
  readonly #retries: number;
  readonly #maxRequestBytes: number;
  #producer: Promise<Producer> | null = null;
  #connected = false;
  #pending: PendingSend[] = [];
  #draining = false;
  /** Settles when the current drain has sent everything queued. */
  #idle: Promise<void> = Promise.resolve();

  constructor(kafka: Kafka, options: { retries?: number; maxRequestBytes?: number } = {}) {
    this.#kafka = kafka;
    this.#retries = options.retries ?? 5;
    this.#maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  /** True while a producer is connected and no send has failed since. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Connects now (optional: sends connect on demand). */
  async connect(): Promise<void> {
    await this.#current();
  }

  /**
   * Sends every message with acks from all in-sync replicas and resolves when
   * Kafka acknowledged all of them. On failure some of them may have been
   * written: callers resend the whole set, and event_id keeps that harmless.
   */
  send(batches: readonly TopicMessages[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ batches, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        this.#idle = this.#drain();
      }
    });
  }

  /** Waits for sends in flight, then disconnects. */
  async close(): Promise<void> {
    await this.#idle;
    const producer = this.#discard();
    await producer?.then((p) => p.disconnect()).catch(() => {});
  }

  /**
   * Sends queued messages until none are left. The flag drops in the same
   * synchronous step that finds the queue empty (no await in between), so a
   * send() arriving later starts a new drain and one arriving earlier is
   * picked up by this one.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const group = this.#pending.splice(0);
        try {
          const producer = await this.#current();
          for (const topicMessages of chunk(group.flatMap((send) => send.batches), this.#maxRequestBytes)) {
            await producer.sendBatch({ acks: -1, topicMessages: topicMessages.map((t) => ({ topic: t.topic, messages: [...t.messages] })) });
          }
          for (const send of group) send.resolve();
        } catch (err) {
          // Not awaited: disconnecting from an unreachable broker can take long, and the
          // replacement producer does not depend on it.
          void this.#discard()?.then((p) => p.disconnect()).catch(() => {});
          for (const send of group) send.reject(err);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #current(): Promise<Producer> {
    this.#producer ??= (async () => {
      const producer = createIdempotentProducer(this.#kafka, this.#retries);
      try {
        await producer.connect();
      } catch (err) {
        this.#producer = null;
        await producer.disconnect().catch(() => {});
        throw err;
      }
      this.#connected = true;
      return producer;
    })();
    return this.#producer;
  }

  /** Forgets the current producer (the next send makes a new one) and returns it for disconnecting. */
  #discard(): Promise<Producer> | null {
    const producer = this.#producer;
    this.#producer = null;
    this.#connected = false;
    return producer;
  }
}

/** Splits messages into requests of at most maxBytes of keys and values (a single larger message goes alone). */
export function chunk(batches: readonly TopicMessages[], maxBytes: number): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let size = 0;
  const flush = () => {
    if (current.size > 0) requests.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    size = 0;
  };
  for (const { topic, messages } of batches) {
    for (const message of messages) {
      const bytes = byteLength(message.key) + byteLength(message.value);
      if (size > 0 && size + bytes > maxBytes) flush();
      const list = current.get(topic) ?? [];
      list.push(message);
      current.set(topic, list);
      size += bytes;
    }
  }
  flush();
  return requests;
}

function byteLength(value: Message['key'] | Message['value']): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}
