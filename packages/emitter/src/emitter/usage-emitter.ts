import { setTimeout as sleep } from 'node:timers/promises';
import { encodeUsageEvent } from '../encode-usage-event.ts';
import type { FieldIssue } from '../field-issues.ts';
import { createKafka } from '../kafka/kafka-client.ts';
import { SerialProducer } from '../kafka/serial-producer.ts';
import { childLogger, stderrLogger, type Logger } from '../logger.ts';
import { retryUntilStopped, StoppedError } from '../retry.ts';
import type { UsageEventRecord } from '../usage-event.ts';
import type { EmitResult, EmitterCounts, FlushResult, RefusalReason } from './emit-result.ts';
import { EventBuffer } from './event-buffer.ts';
import { resolveTunables, type EmitterTunables, type UsageEmitterHooks, type UsageEmitterOptions } from './emitter-options.ts';
import { SpillFile } from './spill-file.ts';

/**
 * Sends usage events to Kafka without ever making the caller wait for it.
 *
 * emit() checks and Avro-encodes an event synchronously and puts it in a
 * bounded memory buffer; a background loop produces batches keyed by event_id
 * with acks=all, retrying with backoff for as long as Kafka is slow or down.
 * When the buffer is full, events are appended to the spill file instead
 * (spill-file.ts); once the buffer is empty again the loop replays the file,
 * oldest first, and empties it only after Kafka acknowledged all of it. An
 * emitter started on a file a previous process left replays it the same way.
 * Nothing accepted is dropped: it is acknowledged by Kafka or on disk. Resends
 * (a lost acknowledgement, a crash mid-replay, a flush timeout racing an
 * acknowledgement) are possible and harmless: consumers deduplicate on
 * event_id. Buffered and spilled events are not kept in emit order.
 *
 * One emitter per process and spill directory; call close() on shutdown.
 */
export class UsageEmitter {
  readonly #topic: string;
  readonly #now: () => number;
  readonly #hooks: UsageEmitterHooks;
  readonly #settings: EmitterTunables;
  readonly #log: Logger;
  readonly #producer: SerialProducer;
  readonly #buffer: EventBuffer;
  readonly #spill: SpillFile;
  readonly #counts = { emitted: 0, sent: 0, replayed: 0, spilled: 0, refused: 0 };
  readonly #drainWaiters = new Set<() => void>();
  readonly #syncTimer: NodeJS.Timeout;
  readonly #loop: Promise<void>;
  /** Bumped whenever the buffer is emptied into the spill file, so an acknowledgement then in flight drops nothing newer. */
  #epoch = 0;
  #closed = false;
  #stopped = false;
  /** Set once close() stops waiting for the loop: a send settling later must change nothing. */
  #abandoned = false;
  #closing: Promise<FlushResult> | null = null;
  #flushes = 0;
  /** Consecutive failed sends, for logging the outage once and its end. */
  #failures = 0;
  #wake: (() => void) | null = null;

  /**
   * Opens the spill directory (creating it; throws if another process holds
   * it) and starts sending in the background, first whatever spill file a
   * previous run left. Throws on an option that cannot work, naming it.
   */
  constructor(options: UsageEmitterOptions) {
    this.#settings = resolveTunables(options);
    this.#topic = options.topic;
    this.#now = options.now ?? Date.now;
    this.#hooks = options.hooks ?? {};
    const log = options.log ?? stderrLogger;
    this.#log = childLogger(log, { component: 'usage-emitter', topic: options.topic });
    if (typeof options.topic !== 'string' || options.topic === '') throw new Error('usage emitter option topic must name the usage.raw.v1 topic');
    const kafka = options.kafka ?? createKafka({ brokers: brokerList(options.brokers), clientId: options.clientId ?? 'spendline-emitter' }, log);
    this.#producer = new SerialProducer(kafka, { retries: this.#settings.producerRetries });
    this.#buffer = new EventBuffer(this.#settings.bufferCapacity);
    this.#spill = SpillFile.open(options.spillDir, this.#log);
    if (this.#spill.pendingBytes > 0) this.#log.info({ spillFile: this.#spill.path, bytes: this.#spill.pendingBytes }, 'replaying the spill file a previous run left');
    this.#syncTimer = setInterval(() => this.#syncSpill(), this.#settings.spillSyncIntervalMs).unref();
    this.#backlogChanged();
    this.#loop = this.#run();
  }

  /**
   * Takes one event — checked and Avro-encoded at once, as encodeUsageEvent()
   * does — or says at once why not. Never waits for Kafka and never throws over it.
   */
  emit(event: UsageEventRecord): EmitResult {
    if (this.#closed) return this.#refuse('closed', [{ path: '', message: 'the emitter is closed' }], event);
    const encoded = encodeUsageEvent(event, { now: this.#now(), maxFutureSkewMs: this.#settings.maxFutureSkewMs });
    if (!encoded.ok) return this.#refuse('invalid', encoded.issues, event);
    const message = encoded.message;
    if (this.#buffer.push(message)) {
      this.#accepted();
      this.#wakeLoop();
      return { accepted: true, spilled: false };
    }
    const firstSpilled = this.#spill.pendingBytes === 0;
    try {
      this.#spill.append([message]);
    } catch (err) {
      this.#log.error({ err, event_id: message.key, spillFile: this.#spill.path }, 'buffer full and spill file not writable: event refused');
      return this.#refuse('spill_failed', [{ path: '', message: `buffer full and spill file not writable: ${(err as Error).message}` }], event);
    }
    if (firstSpilled) this.#log.warn({ capacity: this.#buffer.capacity, spillFile: this.#spill.path }, 'buffer full: usage events go to the spill file until Kafka catches up');
    this.#counts.spilled += 1;
    this.#accepted();
    this.#hooks.spilled?.(1);
    return { accepted: true, spilled: true };
  }

  /**
   * Resolves once Kafka acknowledged everything buffered and spilled, or at
   * the timeout after moving what is still in memory to the (synced) spill file.
   */
  async flush(timeoutMs: number = this.#settings.flushTimeoutMs): Promise<FlushResult> {
    if (this.#closed && this.#stopped) return { drained: this.#isDrained(), spilled: 0 };
    this.#flushes += 1;
    this.#wakeLoop();
    try {
      const drained = this.#isDrained() || (await this.#drainedWithin(timeoutMs));
      const spilled = drained ? 0 : this.#spillBuffer('flush timed out');
      this.#syncSpill();
      return { drained, spilled };
    } finally {
      this.#flushes -= 1;
    }
  }

  /** Flushes, stops sending and disconnects. Whatever Kafka did not take is then in the spill file, for the next start. Later calls get the first call's result. */
  close(timeoutMs: number = this.#settings.flushTimeoutMs): Promise<FlushResult> {
    this.#closing ??= this.#close(timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<FlushResult> {
    const flushed = await this.flush(timeoutMs);
    this.#closed = true;
    this.#stopped = true;
    this.#wakeLoop();
    const { closeGraceMs } = this.#settings;
    const loopEnded = await settlesWithin(this.#loop, closeGraceMs);
    if (!loopEnded) this.#log.warn({ closeGraceMs }, 'a send to Kafka is still in flight at close; abandoning it (its events stay in the spill file)');
    // Events emitted while the flush finished, and any batch still in flight.
    this.#abandoned = true;
    const late = this.#spillBuffer('emitter closing');
    clearInterval(this.#syncTimer);
    this.#spill.close();
    // The producer closes after its send in flight: not worth waiting for twice.
    const producerClosed = this.#producer.close();
    if (loopEnded) await settlesWithin(producerClosed, closeGraceMs);
    else producerClosed.catch(() => {});
    this.#log.info({ ...this.counts(), drained: flushed.drained && late === 0 }, 'usage emitter closed');
    return { drained: flushed.drained && late === 0, spilled: flushed.spilled + late };
  }

  /** Running totals since this emitter started, and its backlog now. */
  counts(): EmitterCounts {
    return { ...this.#counts, buffered: this.#buffer.size, spillBytes: this.#spill.pendingBytes };
  }

  async #run(): Promise<void> {
    const { maxBatch, lingerMs, retryInitialDelayMs, retryMaxDelayMs } = this.#settings;
    while (!this.#stopped) {
      if (this.#isDrained()) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      if (this.#flushes === 0 && this.#buffer.size < maxBatch && this.#spill.pendingBytes === 0) await sleep(lingerMs);
      try {
        await retryUntilStopped(() => this.#sendBatch(), {
          what: 'sending usage events',
          shouldContinue: () => !this.#stopped,
          initialDelayMs: retryInitialDelayMs,
          maxDelayMs: retryMaxDelayMs,
          onRetry: (err, _attempt, delayMs) => this.#sendFailed(err, delayMs),
        });
      } catch (err) {
        if (err instanceof StoppedError) return;
        throw err;
      }
    }
  }

  /** One produce call: the oldest buffered events, topped up from the spill file. */
  async #sendBatch(): Promise<void> {
    const epoch = this.#epoch;
    const { maxBatch } = this.#settings;
    const fromBuffer = this.#buffer.peek(maxBatch);
    const fromSpill = fromBuffer.length < maxBatch && this.#spill.pendingBytes > 0 ? this.#spill.read(maxBatch - fromBuffer.length) : null;
    const messages = fromSpill ? [...fromBuffer, ...fromSpill.events] : fromBuffer;
    if (messages.length > 0) await this.#producer.send([{ topic: this.#topic, messages }]);
    // close() gave up on this send and has put the buffer in the (now closed) spill file.
    if (this.#abandoned) return;
    if (this.#failures > 0) {
      this.#log.info({ failedAttempts: this.#failures, buffered: this.#buffer.size, spillBytes: this.#spill.pendingBytes }, 'Kafka acknowledges usage events again');
      this.#failures = 0;
    }
    if (epoch === this.#epoch) this.#buffer.drop(fromBuffer.length);
    if (fromSpill) this.#spill.commit(fromSpill.end);
    const replayed = fromSpill?.events.length ?? 0;
    this.#counts.sent += messages.length;
    this.#counts.replayed += replayed;
    this.#hooks.sent?.(messages.length, replayed);
    this.#backlogChanged();
    if (this.#isDrained()) for (const waiter of [...this.#drainWaiters]) waiter();
  }

  #sendFailed(err: unknown, delayMs: number): void {
    this.#failures += 1;
    this.#hooks.sendFailed?.(err, this.#failures, delayMs);
    const fields = { err, failedAttempts: this.#failures, retryInMs: delayMs, buffered: this.#buffer.size, spillBytes: this.#spill.pendingBytes };
    // Once when the outage starts, then every tenth attempt: a long outage must not flood the log.
    if (this.#failures === 1 || this.#failures % 10 === 0) this.#log.warn(fields, 'Kafka did not acknowledge usage events; retrying (new events wait in the buffer, then the spill file)');
    else this.#log.debug(fields, 'send of usage events failed again');
  }

  /** Moves every buffered event to the spill file; returns how many. */
  #spillBuffer(reason: string): number {
    const events = this.#buffer.takeAll();
    if (events.length === 0) return 0;
    this.#epoch += 1;
    try {
      this.#spill.append(events);
    } catch (err) {
      for (const event of events) this.#buffer.push(event);
      const eventIds = events.map((event) => event.key);
      this.#log.error({ err, events: events.length, eventIds, spillFile: this.#spill.path, reason }, 'could not move unsent usage events to the spill file; they are only in memory');
      return 0;
    }
    this.#counts.spilled += events.length;
    this.#hooks.spilled?.(events.length);
    this.#backlogChanged();
    this.#log.warn({ events: events.length, spillFile: this.#spill.path, reason }, 'unsent usage events moved to the spill file');
    return events.length;
  }

  #drainedWithin(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#drainWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#drainWaiters.delete(done);
        resolve(false);
      }, timeoutMs);
      this.#drainWaiters.add(done);
    });
  }

  #isDrained(): boolean {
    return this.#buffer.size === 0 && this.#spill.pendingBytes === 0;
  }

  #wakeLoop(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #accepted(): void {
    this.#counts.emitted += 1;
    this.#hooks.emitted?.();
    this.#backlogChanged();
  }

  #refuse(reason: RefusalReason, issues: readonly FieldIssue[], event: UsageEventRecord): EmitResult {
    this.#counts.refused += 1;
    this.#hooks.refused?.(reason);
    if (reason === 'invalid') this.#log.warn({ event_id: (event as { event_id?: unknown } | null)?.event_id, issues }, 'usage event refused: invalid');
    return { accepted: false, reason, issues };
  }

  #syncSpill(): void {
    try {
      this.#spill.sync();
    } catch (err) {
      this.#log.error({ err, spillFile: this.#spill.path }, 'could not sync the spill file');
    }
  }

  #backlogChanged(): void {
    this.#hooks.backlog?.(this.#buffer.size, this.#spill.pendingBytes);
  }
}

function brokerList(brokers: unknown): readonly string[] {
  if (!Array.isArray(brokers) || brokers.length === 0 || !brokers.every((broker) => typeof broker === 'string' && broker !== '')) {
    throw new Error('usage emitter needs a kafka client, or brokers as a non-empty list of "host:port"');
  }
  return brokers;
}

/** Whether `work` settles within `ms` (either way); it is not cancelled if not. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
