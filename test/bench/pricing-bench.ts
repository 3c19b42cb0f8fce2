/**
 * npm run bench:pricing — events priced per second on one core with a warm
 * catalog, and the catalog's memory footprint.
 *
 * Prices usage events the way the enricher does (priceUsageEvent: catalog
 * lookup, exact cost, stored-precision strings) for a mix of catalog models,
 * with token counts from the Azure LLM inference traces. Run with
 * --expose-gc (the npm script does) for a clean memory figure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { Contracts } from '../../services/pricing/contracts.ts';
import { PriceCatalog } from '../../services/pricing/price-catalog.ts';
import { priceUsageEvent } from '../../services/pricing/price-usage-event.ts';
import { PricingEngine } from '../../services/pricing/pricing-engine.ts';
import { BUNDLED_PRICE_CATALOG, PROJECT_ROOT } from '../../services/project-paths.ts';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 2_000_000);
const gc = (globalThis as { gc?: () => void }).gc;

function heapMiB(): number {
  gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

const heapBefore = heapMiB();
const loadStarted = performance.now();
const catalog = PriceCatalog.fromFile(BUNDLED_PRICE_CATALOG);
const loadMs = performance.now() - loadStarted;
const heapAfter = heapMiB();
const engine = new PricingEngine(catalog, Contracts.none);

// A realistic mix: the first models of every provider (the catalog's own names), plus dated snapshots.
const models: { provider: string; model: string }[] = [];
for (const provider of catalog.providers) {
  for (const model of provider.models.slice(0, 12)) models.push({ provider: provider.id, model: model.id });
}
models.push({ provider: 'openai', model: 'gpt-4o-2024-08-06' }, { provider: 'anthropic', model: 'claude-sonnet-4-5-20250929' });

const traceFiles = ['code', 'conv'].map((kind) => join(PROJECT_ROOT, `../shared/data/traces/azure-llm-inference-2023-${kind}.csv`)).filter(existsSync);
const sizes: [number, number][] = traceFiles.flatMap((file) =>
  readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map((line) => {
    const [, context, generated] = line.split(',');
    return [Number(context), Number(generated)] as [number, number];
  }),
);
if (sizes.length === 0) for (let i = 0; i < 1000; i += 1) sizes.push([100 + ((i * 97) % 4000), 10 + ((i * 31) % 500)]);

const base: UsageEventRecord = {
  event_id: 'bench', occurred_at: Date.UTC(2026, 10, 23), provider: 'openai', model: 'gpt-4o', api_flavor: null, operation: 'chat',
  input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, input_audio_tokens: 0,
  cache_audio_read_tokens: 0, output_audio_tokens: 0, provider_usage: null, latency_ms: null, ttft_ms: null, status: 'ok',
  error_code: null, tenant_id: null, cost_center: null, team: 'search', feature: null, environment: 'prod', user_id: null, session_id: null, agent_run_id: null,
  api_key_id: null, tags: {}, gateway_id: null, reported_cost: null, trace_id: null, span_id: null,
};
const events: UsageEventRecord[] = Array.from({ length: 10_000 }, (_, i) => {
  const { provider, model } = models[i % models.length]!;
  const [input, output] = sizes[i % sizes.length]!;
  return { ...base, provider, model, input_tokens: input, output_tokens: output, cache_read_tokens: i % 3 === 0 ? Math.floor(input / 2) : 0 };
});

const queries = events.map((event) => ({
  provider: event.provider,
  model: event.model,
  usage: { input_tokens: event.input_tokens, output_tokens: event.output_tokens, cache_read_tokens: event.cache_read_tokens },
  at: event.occurred_at,
  team: event.team,
  environment: event.environment,
}));

// 1. The engine alone: catalog lookup, price in force, exact cost per class (bigint), list and effective.
let priced = 0;
let unpriced = 0;
for (let i = 0; i < 200_000; i += 1) engine.price(queries[i % queries.length]!); // warm-up: JIT and lookup caches
let started = performance.now();
for (let i = 0; i < EVENTS; i += 1) {
  if (engine.price(queries[i % queries.length]!).ok) priced += 1;
  else unpriced += 1;
}
const engineSeconds = (performance.now() - started) / 1000;

// 2. What the enricher does per event: the engine plus the stored-precision decimal strings of the enriched record.
for (let i = 0; i < 200_000; i += 1) priceUsageEvent(engine, events[i % events.length]!);
started = performance.now();
for (let i = 0; i < EVENTS; i += 1) priceUsageEvent(engine, events[i % events.length]!);
const enrichSeconds = (performance.now() - started) / 1000;

process.stdout.write(
  `${JSON.stringify(
    {
      catalog: { version: catalog.version, providers: catalog.providers.length, models: catalog.providers.reduce((n, p) => n + p.models.length, 0) },
      catalogLoadMs: Math.round(loadMs),
      catalogHeapMiB: Number((heapAfter - heapBefore).toFixed(1)),
      modelsInMix: models.length,
      events: EVENTS,
      priced,
      unpriced,
      pricedPerSecondOneCore: Math.round(EVENTS / engineSeconds),
      pricedAndFormattedPerSecondOneCore: Math.round(EVENTS / enrichSeconds),
      measuredGc: gc !== undefined,
    },
    null,
    2,
  )}\n`,
);
