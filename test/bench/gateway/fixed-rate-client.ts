import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { summarize, type LatencySummary } from './latency-summary.ts';

/**
 * An open-loop HTTP client at a fixed rate: request i is due at i / rate
 * seconds after the start, whether or not earlier ones have been answered
 * (a slow answer does not hold the next request back, so queueing shows in
 * the latencies instead of lowering the rate). Requests go over keep-alive
 * connections, opened as needed up to MAX_CONNECTIONS (as an SDK's pool
 * does); beyond that they wait for a free one, and the wait counts in their
 * latency.
 *
 * Node's timers fire at most every millisecond, so the requests due within
 * one millisecond leave together (1 at 1,000/s, about 5 at 5,000/s); how
 * late each left against its schedule is reported as send lag.
 *
 * Latency of a request: from just before it is written to the end of the
 * response body (`complete`), and to the response headers (`firstByte`),
 * measured with process.hrtime.bigint() (nanoseconds), reported in µs, for
 * 2xx answers only.
 */

/** The connection pool's bound, the same as the gateway's own towards an upstream. */
const MAX_CONNECTIONS = 512;

export interface FixedRateSpec {
  readonly url: string;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** A request not answered within this is destroyed and counted as an error. */
  readonly timeoutMs: number;
}

export interface FixedRateResult {
  readonly sent: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  /** 2xx answers whose body length differs from the first one's (a truncated or altered answer). */
  readonly bodyMismatches: number;
  readonly bodyBytes: number;
  /** ok answers per second, from the first request due to the last answer. */
  readonly achievedPerSecond: number;
  readonly connections: number;
  readonly latencyUs: { readonly complete: LatencySummary; readonly firstByte: LatencySummary };
  /** How late requests left against their schedule (the client's own delay, not the server's), µs. */
  readonly sendLagUs: { readonly p50: number; readonly p99: number; readonly max: number };
}

export function runFixedRate(spec: FixedRateSpec): Promise<FixedRateResult> {
  const target = new URL(spec.url);
  const body = Buffer.from(spec.body);
  const headers = { ...spec.headers, 'content-length': String(body.length) };
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_CONNECTIONS });
  const total = Math.max(1, Math.round(spec.rate * spec.seconds));
  const intervalNs = 1e9 / spec.rate;
  const complete = new Float64Array(total);
  const firstByte = new Float64Array(total);
  const lags = new Float64Array(total);
  const sockets = new WeakSet<Socket>();
  const counts = { ok: 0, non2xx: 0, errors: 0, bodyMismatches: 0, connections: 0 };
  let expectedBytes: number | null = null;
  let issued = 0;
  let settled = 0;
  let lastEndNs = 0;
  const started = process.hrtime.bigint();
  const elapsedNs = () => Number(process.hrtime.bigint() - started);

  return new Promise((resolve) => {
    const done = () => {
      settled += 1;
      if (settled < total || issued < total) return;
      agent.destroy();
      const lag = summarize(lags, total);
      resolve({
        sent: total,
        ...counts,
        bodyBytes: expectedBytes ?? 0,
        achievedPerSecond: Math.round((counts.ok / lastEndNs) * 1e9),
        latencyUs: { complete: summarize(complete, counts.ok), firstByte: summarize(firstByte, counts.ok) },
        sendLagUs: { p50: lag.p50, p99: lag.p99, max: lag.max },
      });
    };

    const send = (index: number) => {
      let finished = false;
      const finish = (outcome: 'ok' | 'non2xx' | 'error', sentNs: number, headersNs: number, bytes: number) => {
        if (finished) return;
        finished = true;
        const endNs = elapsedNs();
        lastEndNs = Math.max(lastEndNs, endNs);
        if (outcome === 'ok') {
          complete[counts.ok] = (endNs - sentNs) / 1e3;
          firstByte[counts.ok] = (headersNs - sentNs) / 1e3;
          counts.ok += 1;
          expectedBytes ??= bytes;
          if (bytes !== expectedBytes) counts.bodyMismatches += 1;
        } else counts[outcome === 'non2xx' ? 'non2xx' : 'errors'] += 1;
        done();
      };
      const sentNs = elapsedNs();
      lags[index] = (sentNs - index * intervalNs) / 1e3;
      const request = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers, agent }, (response) => {
        const headersNs = elapsedNs();
        let bytes = 0;
        response.on('data', (part: Buffer) => (bytes += part.length));
        response.on('end', () => finish((response.statusCode ?? 0) >= 200 && (response.statusCode ?? 0) < 300 ? 'ok' : 'non2xx', sentNs, headersNs, bytes));
        response.on('error', () => finish('error', sentNs, headersNs, bytes));
      });
      request.on('socket', (socket: Socket) => {
        if (sockets.has(socket)) return;
        sockets.add(socket);
        counts.connections += 1;
      });
      request.setTimeout(spec.timeoutMs, () => request.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)));
      request.on('error', () => finish('error', sentNs, sentNs, 0));
      request.end(body);
    };

    const tick = () => {
      const now = elapsedNs();
      while (issued < total && issued * intervalNs <= now) send(issued++);
      if (issued < total) setTimeout(tick, Math.max(1, Math.floor((issued * intervalNs - elapsedNs()) / 1e6)));
    };
    tick();
  });
}
