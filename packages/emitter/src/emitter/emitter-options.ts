import type { Kafka } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { EVENT_LIMITS } from '../usage-event.ts';
import type { RefusalReason } from './emit-result.ts';

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

/**
 * Called as the emitter works, so a host can keep its own metrics (Prometheus
 * counters and gauges, say). Every hook is optional, runs synchronously on the
 * emitter's path and must not throw.
 */
export interface UsageEmitterHooks {
  /** An event was accepted: into the memory buffer, or into the spill file (then `spilled` follows). */
  readonly emitted?: () => void;
  /** Events were written to the spill file: one when the buffer is full, or what was buffered at a flush timeout or close. */
  readonly spilled?: (events: number) => void;
  /** Kafka acknowledged a produce call of `events` events, `replayed` of them read back from the spill file. */
  readonly sent?: (events: number, replayed: number) => void;
  /** An event was refused (emit() returned accepted: false). */
  readonly refused?: (reason: RefusalReason) => void;
  /** A produce call failed; it is retried after `delayMs`, the `attempt`th failure in a row. */
  readonly sendFailed?: (err: unknown, attempt: number, delayMs: number) => void;
  /** After every change of the backlog: events in memory, and spill file bytes not yet replayed. */
  readonly backlog?: (buffered: number, spillBytes: number) => void;
}

/** Where the events go: a kafkajs client the host already has, or the brokers to make one. */
export type KafkaConnection =
  | { readonly kafka: Kafka; readonly brokers?: never; readonly clientId?: never }
  | {
      readonly kafka?: never;
      /** Bootstrap brokers, "host:port". */
      readonly brokers: readonly string[];
      /** The Kafka client id; default 'spendline-emitter'. */
      readonly clientId?: string;
    };

export type UsageEmitterOptions = KafkaConnection &
  Partial<EmitterTunables> & {
    /** Topic the events go to: Spendline's usage.raw.v1 (with its prefix, if the deployment sets one). It must exist. */
    readonly topic: string;
    /** Directory of the spill file and its lock, created if missing; one emitter (one process) per directory. */
    readonly spillDir: string;
    /** Where the emitter (and a kafkajs client it makes) logs; default: warnings and errors to stderr. A pino logger fits as it is. */
    readonly log?: Logger;
    readonly hooks?: UsageEmitterHooks;
    /** Clock for the occurred_at skew check (epoch ms); tests may fix it. */
    readonly now?: () => number;
  };

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
