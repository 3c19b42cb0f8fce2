/**
 * Load generator for bench:pipeline, run as its own process so it does not
 * share the pipeline's event loop. Posts usage events built from the Azure
 * LLM inference traces (real prompt and completion sizes) to POST /v1/events.
 *
 * Input (environment): BENCH_URL, BENCH_TOKEN, BENCH_EVENTS, BENCH_BATCH,
 * BENCH_CONCURRENCY, BENCH_RATE (events/s, 0 = as fast as accepted),
 * BENCH_GATEWAY (tags the events of one phase), BENCH_TRACES (CSV files).
 * Output: one JSON line with what was sent and how fast.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const env = process.env;
const url = env['BENCH_URL']!;
const token = env['BENCH_TOKEN']!;
const total = Number(env['BENCH_EVENTS'] ?? 100_000);
const batchSize = Number(env['BENCH_BATCH'] ?? 500);
const concurrency = Number(env['BENCH_CONCURRENCY'] ?? 4);
const rate = Number(env['BENCH_RATE'] ?? 0);
const gateway = env['BENCH_GATEWAY'] ?? 'bench';
const traceFiles = (env['BENCH_TRACES'] ?? '').split(',').filter((file) => file && existsSync(file));

/** [context tokens, generated tokens] pairs from the traces, or a fixed spread without them. */
const sizes: [number, number][] = traceFiles.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [, context, generated] = line.split(',');
      return [Number(context), Number(generated)] as [number, number];
    }),
);
if (sizes.length === 0) for (let i = 0; i < 1000; i += 1) sizes.push([100 + ((i * 97) % 4000), 10 + ((i * 31) % 500)]);

const MODELS = [
  ['openai', 'gpt-4o-mini'],
  ['openai', 'gpt-4.1'],
  ['anthropic', 'claude-sonnet-4-20250514'],
  ['google', 'gemini-2.5-flash'],
] as const;
const TEAMS = ['search', 'ads', 'support', 'growth', 'platform'];

function event(index: number) {
  const [input, output] = sizes[index % sizes.length]!;
  const [provider, model] = MODELS[index % MODELS.length]!;
  return {
    event_id: randomUUID(),
    occurred_at: new Date().toISOString(),
    provider,
    model,
    input_tokens: input,
    output_tokens: output,
    cache_read_tokens: index % 3 === 0 ? Math.floor(input / 2) : 0,
    latency_ms: 200 + (index % 1500),
    team: TEAMS[index % TEAMS.length],
    feature: `feature-${index % 12}`,
    environment: 'prod',
    user_id: `user-${index % 500}`,
    gateway_id: gateway,
  };
}

let next = 0;
let accepted = 0;
let failed = 0;
const started = performance.now();

async function worker(): Promise<void> {
  for (;;) {
    const from = next;
    if (from >= total) return;
    const to = Math.min(total, from + batchSize);
    next = to;
    if (rate > 0) {
      // Paced mode: do not send batch `from` before its slot in a steady stream.
      const due = started + (from / rate) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const body = JSON.stringify(Array.from({ length: to - from }, (_, i) => event(from + i)));
    for (;;) {
      const response = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      const result = (await response.json()) as { accepted?: number };
      if (response.status === 200) {
        accepted += result.accepted ?? 0;
        break;
      }
      failed += 1;
      if (response.status !== 503) throw new Error(`POST /v1/events answered ${response.status}: ${JSON.stringify(result).slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, () => worker()));
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ accepted, failedRequests: failed, seconds, eventsPerSecond: accepted / seconds })}\n`);
