import { setTimeout as sleep } from 'node:timers/promises';

/** Raised out of a retry loop when the service is stopping: the work was not done and must not be acknowledged. */
export class StoppedError extends Error {
  constructor(what: string) {
    super(`stopped while retrying ${what}`);
    this.name = 'StoppedError';
  }
}

export interface RetryOptions {
  /** What is being retried, for logs and the error raised on stop. */
  readonly what: string;
  /** Checked before every attempt; false ends the loop with StoppedError. */
  readonly shouldContinue: () => boolean;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Whether this error is worth another attempt; others are rethrown at once. Default: all are. */
  readonly isRetryable?: (err: unknown) => boolean;
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `operation` until it succeeds, with capped exponential backoff and
 * jitter. It never gives up on a retryable error while the service runs:
 * a consumer whose write keeps failing holds its offsets rather than losing data.
 */
export async function retryUntilStopped<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 200;
  const max = options.maxDelayMs ?? 10_000;
  const wait = options.sleep ?? ((ms: number) => sleepWhile(ms, options.shouldContinue));
  for (let attempt = 1; ; attempt += 1) {
    if (!options.shouldContinue()) throw new StoppedError(options.what);
    try {
      return await operation();
    } catch (err) {
      if (options.isRetryable && !options.isRetryable(err)) throw err;
      const delay = Math.min(max, initial * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      options.onRetry?.(err, attempt, Math.round(delay));
      await wait(delay);
    }
  }
}

/** Sleeps up to `ms`, waking early once `shouldContinue` turns false, so a stop never waits out a long backoff. */
async function sleepWhile(ms: number, shouldContinue: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (shouldContinue() && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
}
