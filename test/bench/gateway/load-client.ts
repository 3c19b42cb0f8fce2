/**
 * bench:gateway's load generator, in its own process so that it shares no
 * event loop with what it measures. Two ways to load:
 *  - fixedRate: the open-loop client of fixed-rate-client.ts, µs latencies;
 *  - autocannon: the ecosystem's load generator, as a cross-check. Its
 *    `overallRate` is a budget per connection per second (each connection
 *    sends its share back to back, then waits for the next second), and its
 *    latency histogram counts whole milliseconds.
 */
import autocannon from 'autocannon';
import { serve } from './child-ipc.ts';
import { runFixedRate, type FixedRateSpec } from './fixed-rate-client.ts';

export interface AutocannonSpec {
  readonly url: string;
  readonly rate: number;
  readonly seconds: number;
  readonly connections: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface AutocannonSummary {
  readonly sent: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly achievedPerSecond: number;
  /** Whole milliseconds: autocannon's histogram counts integers. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
}

const handlers = {
  fixedRate: (spec: FixedRateSpec) => runFixedRate(spec),
  autocannon: async (spec: AutocannonSpec): Promise<AutocannonSummary> => {
    const result = await autocannon({
      url: spec.url,
      method: 'POST',
      headers: { ...spec.headers },
      body: spec.body,
      connections: spec.connections,
      overallRate: spec.rate,
      duration: spec.seconds,
      timeout: 10,
    });
    return {
      sent: result.requests.sent,
      ok: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      achievedPerSecond: Math.round(result['2xx'] / result.duration),
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p99_9, max: result.latency.max },
    };
  },
};
export type LoadClientHandlers = typeof handlers;

serve(handlers);
