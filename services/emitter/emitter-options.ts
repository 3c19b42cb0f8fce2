import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { EVENT_LIMITS } from '@spendline/emitter/usage-event';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** The emitter's tunables and their defaults, in one place. */
export const EMITTER_DEFAULTS = {
  /** Events held in memory until Kafka acknowledges them; beyond it, new events go to the spill file. */
  bufferCapacity: 10_000,
  /** Most events in one produce call (SerialProducer still splits a call into requests under 512 KiB). */
  maxBatch: 1_000,
  /** How long a partly filled batch waits for company before it is sent (ms). */
  lingerMs: 5,
  /** First wait after a failed send (ms); doubles per attempt, with jitter, up to retryMaxDelayMs. */
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 5_000,
  /**
   * kafkajs retries inside one send. Low on purpose: the emitter retries forever
   * itself, and a short send keeps close() quick while Kafka is down.
   */
  producerRetries: 2,
  /** How often appended spill lines are fdatasync'ed (ms): what a machine crash (not a process crash) may lose. */
  spillSyncIntervalMs: 1_000,
  /** flush() and close() wait this long for Kafka before moving what is left to the spill file (ms). */
  flushTimeoutMs: 10_000,
  /**
   * After close()'s flush, how long a send still in flight may take before it is
   * abandoned (ms). Its events are already in the spill file; if Kafka takes
   * them after all, the next start resends them (duplicates, never losses).
   */
  closeGraceMs: 1_000,
  /** occurred_at may be this far ahead of the emitter's clock (ms); the enricher applies the same bound. */
  maxFutureSkewMs: EVENT_LIMITS.maxFutureSkewMs,
} as const;

export type EmitterTunables = { -readonly [K in keyof typeof EMITTER_DEFAULTS]: number };

export interface UsageEmitterOptions extends Partial<EmitterTunables> {
  /** The Kafka client; the emitter makes its own SerialProducer from it (idempotent, acks=all). */
  readonly kafka: Kafka;
  /** Topic the events go to (the prefixed usage.raw.v1); it must exist. */
  readonly topic: string;
  /** Encodes each event with the current UsageEvent schema, as single-object Avro. */
  readonly registry: AvroSchemaRegistry;
  /** Directory of the spill file and its lock; one emitter (one process) per directory. */
  readonly spillDir: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Clock for the occurred_at skew check (epoch ms); tests may fix it. */
  readonly now?: () => number;
}

/** Fills in defaults and refuses values that cannot work, naming the option. */
export function resolveTunables(options: Partial<EmitterTunables>): EmitterTunables {
  const resolved = { ...EMITTER_DEFAULTS } as EmitterTunables;
  for (const key of Object.keys(EMITTER_DEFAULTS) as (keyof EmitterTunables)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const minimum = key === 'bufferCapacity' || key === 'maxBatch' || key === 'spillSyncIntervalMs' ? 1 : 0;
    if (!Number.isSafeInteger(value) || value < minimum) throw new Error(`usage emitter option ${key} must be an integer of at least ${minimum}, got ${value}`);
    resolved[key] = value;
  }
  return resolved;
}
