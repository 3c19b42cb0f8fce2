import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryUntilStopped, StoppedError, type RetryOptions } from '../src/retry.ts';

/** An operation that fails `failures` times, then returns `value`; it counts its attempts. */
function flaky<T>(failures: number, value: T, error: (attempt: number) => unknown = (attempt) => new Error(`failure ${attempt}`)) {
  const op = async (): Promise<T> => {
    op.attempts += 1;
    if (op.attempts <= failures) throw error(op.attempts);
    return value;
  };
  op.attempts = 0;
  return op;
}

/** A sleep that records the delays asked for and returns at once. */
function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

function options(overrides: Partial<RetryOptions> = {}): RetryOptions {
  return { what: 'insert batch', shouldContinue: () => true, sleep: recordingSleep().sleep, ...overrides };
}

afterEach(() => vi.restoreAllMocks());

describe('retryUntilStopped', () => {
  it.each([0, 1, 5, 30])('retries through %i failures and returns the result', async (failures) => {
    const op = flaky(failures, 'written');
    const { delays, sleep } = recordingSleep();
    await expect(retryUntilStopped(op, options({ sleep }))).resolves.toBe('written');
    expect(op.attempts).toBe(failures + 1);
    expect(delays).toHaveLength(failures);
  });

  it('reports each retry with the error, the attempt number and the rounded delay', async () => {
    const seen: [string, number, number][] = [];
    const { delays, sleep } = recordingSleep();
    await retryUntilStopped(flaky(3, 'ok'), options({ sleep, onRetry: (err, attempt, delayMs) => seen.push([(err as Error).message, attempt, delayMs]) }));
    expect(seen.map(([message, attempt]) => [message, attempt])).toEqual([
      ['failure 1', 1],
      ['failure 2', 2],
      ['failure 3', 3],
    ]);
    expect(seen.map(([, , delayMs]) => delayMs)).toEqual(delays.map((delay) => Math.round(delay)));
  });

  it('stops with StoppedError, without another attempt, once shouldContinue turns false', async () => {
    const op = flaky(Number.POSITIVE_INFINITY, 'never');
    let checks = 0;
    const stoppedAfterThree = () => {
      checks += 1;
      return checks <= 3;
    };
    const error = await retryUntilStopped(op, options({ shouldContinue: stoppedAfterThree })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoppedError);
    expect((error as Error).message).toBe('stopped while retrying insert batch');
    expect(op.attempts).toBe(3);
  });

  it('does not run the operation at all when already stopping', async () => {
    const op = flaky(0, 'x');
    await expect(retryUntilStopped(op, options({ shouldContinue: () => false }))).rejects.toThrow(StoppedError);
    expect(op.attempts).toBe(0);
  });

  it('rethrows a non-retryable error at once, without sleeping', async () => {
    const fatal = new TypeError('row does not fit the table');
    const op = flaky(Number.POSITIVE_INFINITY, 'never', (attempt) => (attempt === 3 ? fatal : new Error('timeout')));
    const { delays, sleep } = recordingSleep();
    const isRetryable = (err: unknown) => !(err instanceof TypeError);
    await expect(retryUntilStopped(op, options({ sleep, isRetryable }))).rejects.toBe(fatal);
    expect(op.attempts).toBe(3);
    expect(delays).toHaveLength(2);
  });

  it('doubles the delay from initialDelayMs up to maxDelayMs (jitter pinned to its minimum, half the step)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { delays, sleep } = recordingSleep();
    await retryUntilStopped(flaky(7, 'ok'), options({ sleep, initialDelayMs: 100, maxDelayMs: 1000 }));
    // steps: 100, 200, 400, 800, then capped at 1000; the jitter factor is 0.5 + random / 2
    expect(delays).toEqual([50, 100, 200, 400, 500, 500, 500]);
  });

  it('keeps every jittered delay between half and all of its capped step', async () => {
    const { delays, sleep } = recordingSleep();
    await retryUntilStopped(flaky(20, 'ok'), options({ sleep, initialDelayMs: 10, maxDelayMs: 2000 }));
    delays.forEach((delay, index) => {
      const step = Math.min(2000, 10 * 2 ** index);
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    });
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(delays.at(-1)).toBeGreaterThanOrEqual(1000);
  });

  it('defaults to 200 ms growing to a 10 s cap', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { delays, sleep } = recordingSleep();
    await retryUntilStopped(flaky(8, 'ok'), options({ sleep }));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  it('really waits between attempts with the default sleep', async () => {
    const started = performance.now();
    await retryUntilStopped(flaky(2, 'ok'), { what: 'x', shouldContinue: () => true, initialDelayMs: 20, maxDelayMs: 20 });
    // Two waits of at least 10 ms each (half of the 20 ms step).
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });

  it('cuts a long default backoff short once the service stops', async () => {
    let running = true;
    const started = performance.now();
    setTimeout(() => (running = false), 50);
    const stopped = retryUntilStopped(flaky(5, 'ok'), { what: 'insert', shouldContinue: () => running, initialDelayMs: 10_000, maxDelayMs: 10_000 });
    await expect(stopped).rejects.toBeInstanceOf(StoppedError);
    // The first backoff alone is 5 to 10 s; stopping ends it within a sleep slice.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
