/**
 * npm run bench:reports — how fast the reports answer over a month of usage.
 *
 * Loads BENCH_EVENTS (default 10,000,000) synthetic usage rows for one
 * calendar month (2026-10, UTC) straight into usage_events_v1 of a fresh
 * embedded chDB database, after the migrations, so the hourly rollups
 * (materialized views, sql/004 on) are maintained by ClickHouse on every
 * insert as in production. Each row goes through the code the enricher and the sink run:
 * attributeEvent (built-in policy) → priceUsageEvent (bundled catalog, exact
 * decimal costs) → the row toUsageRow makes, inserted as JSONEachRow in batches of
 * BENCH_BATCH rows (default 100,000).
 *
 * Shape of the data, from the Azure LLM inference traces (2023, code and conv):
 *   - token sizes: ContextTokens/GeneratedTokens of the trace rows, code-trace
 *     sizes for coding features and conversation-trace sizes for the others;
 *   - arrivals: the traces' merged inter-arrival gaps, repeated, warped onto the
 *     month by an hourly intensity (a UTC business-day curve, weekends at 45 %),
 *     which keeps their burstiness. The traces span one hour, so the diurnal and
 *     weekly shape is an assumption of this bench, not something they show.
 * Owners: ~40 teams with 2-6 features each, 200 tenants, 20,000 users (each in
 * one tenant), prod/staging/dev, 32 priced models of 10 providers plus one
 * self-hosted model the catalog does not know (unpriced). Calls come in
 * sessions (one user, feature and model; BENCH_SESSION_CALLS calls on average,
 * default 6) interleaved from BENCH_SESSIONS_OPEN (default 64) open at once:
 * how many calls share an hourly rollup row depends on this.
 *
 * Then, once ClickHouse's background merges of the load are done (so they do
 * not overlap some queries and not others), times, after BENCH_WARMUP runs, BENCH_REPEAT runs (default 30) of:
 *   1. the month's cost by team (buildCostReportQuery: a rollup);
 *   2. cost by model per day, UTC (a rollup);
 *   3. cost by team from the events (the range starts at .001, not on an hour);
 *   4. the month's chargeback by team (buildChargebackQuery + allocate);
 *   5. the month's FOCUS export (planExport + focusExportPages + CSV), once,
 *      in rows per second.
 * Each answer is checked against totals summed (bigint) while generating.
 * Prints one JSON document.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { usageEventRecord } from '@spendline/emitter/usage-event';
import { z } from 'zod';
import { attributeEvent } from '../../services/attribution/attribute-event.ts';
import { AttributionPolicy } from '../../services/attribution/attribution-policy.ts';
import { allocate } from '../../services/chargeback/allocate.ts';
import { parseAllocationRules } from '../../services/chargeback/allocation-rules.ts';
import { buildChargebackQuery } from '../../services/api/chargeback-query.ts';
import { buildCostReportQuery, rollupAnswers, type CostReportRequest } from '../../services/api/cost-report-query.ts';
import { scopeCondition } from '../../services/api/environment-scope.ts';
import { createClickHouse, formatDateTime64 } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../../services/clickhouse/migrations.ts';
import { loadConfig } from '../../services/config/config.ts';
import type { EnrichedUsageEvent } from '../../services/events/enriched-usage-event.ts';
import { DEFAULT_EXPORT_LIMITS, planExport } from '../../services/exports/export-plan.ts';
import { rowEncoder } from '../../services/exports/export-format.ts';
import { focusExportPages } from '../../services/exports/focus-export.ts';
import { focusColumns } from '../../services/exports/focus.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { decimalUnits, formatDecimal } from '../../services/money/decimal.ts';
import { Contracts } from '../../services/pricing/contracts.ts';
import { PriceCatalog } from '../../services/pricing/price-catalog.ts';
import { priceUsageEvent } from '../../services/pricing/price-usage-event.ts';
import { PricingEngine } from '../../services/pricing/pricing-engine.ts';
import { BUNDLED_PRICE_CATALOG, PROJECT_ROOT, SQL_DIR } from '../../services/project-paths.ts';
import { toUsageRow, USAGE_EVENTS_TABLE, type UsageRow } from '../../services/sink/usage-row.ts';
import { seededRandom } from '../support/seeded-random.ts';

const env = process.env;
const EVENTS = Number(env['BENCH_EVENTS'] ?? 10_000_000);
const BATCH = Number(env['BENCH_BATCH'] ?? 100_000);
const REPEAT = Number(env['BENCH_REPEAT'] ?? 30);
const WARMUP = Number(env['BENCH_WARMUP'] ?? 3);
const SESSION_CALLS = Number(env['BENCH_SESSION_CALLS'] ?? 6);
const SESSIONS_OPEN = Number(env['BENCH_SESSIONS_OPEN'] ?? 64);
const SEED = Number(env['BENCH_SEED'] ?? 20261001);
const traceFiles = (env['BENCH_TRACES'] ?? ['code', 'conv'].map((kind) => join(PROJECT_ROOT, `../shared/data/traces/azure-llm-inference-2023-${kind}.csv`)).join(','))
  .split(',')
  .filter((file) => file && existsSync(file));

const MONTH = '2026-10';
const MONTH_FROM = Date.UTC(2026, 9, 1);
const MONTH_TO = Date.UTC(2026, 10, 1);
const HOUR_MS = 3_600_000;
const HOURS = (MONTH_TO - MONTH_FROM) / HOUR_MS;
const wallStarted = performance.now();
/** 1-minute load average: other work on the machine shows here (the figures assume the bench has it to itself). */
const loadAverage: Record<string, number> = { atStart: loadavg()[0]! };
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

// ---------------------------------------------------------------------------------------------
// Deterministic randomness (mulberry32), so every run loads the same month.

const random = seededRandom(SEED);
const below = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[below(items.length)]!;

/** Index drawn from cumulative weights. */
function weighted(cumulative: Float64Array): number {
  const x = random() * cumulative[cumulative.length - 1]!;
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
function cumulativeOf(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((weight, index) => (out[index] = sum += weight));
  return out;
}
const zipf = (n: number, s: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);

// ---------------------------------------------------------------------------------------------
// The traces: token sizes per kind, and the merged inter-arrival gaps (ms).

type Kind = 'code' | 'conv';
const sizes: Record<Kind, { context: Uint32Array; generated: Uint32Array }> = { code: { context: new Uint32Array(0), generated: new Uint32Array(0) }, conv: { context: new Uint32Array(0), generated: new Uint32Array(0) } };
const arrivals: number[] = [];
for (const file of traceFiles) {
  const kind: Kind = file.includes('code') ? 'code' : 'conv';
  const lines = readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean);
  const context = new Uint32Array(lines.length);
  const generated = new Uint32Array(lines.length);
  lines.forEach((line, index) => {
    const [stamp, ctx, gen] = line.split(',');
    // "2023-11-16 18:17:03.9799600": whole seconds by Date, the fraction (sub-ms) by hand; gaps are not money.
    const [whole, fraction = '0'] = stamp!.split('.');
    arrivals.push(Date.parse(`${whole!.replace(' ', 'T')}Z`) + Number(`0.${fraction}`) * 1000);
    context[index] = Number(ctx);
    generated[index] = Number(gen);
  });
  sizes[kind] = { context, generated };
}
for (const kind of ['code', 'conv'] as const) {
  if (sizes[kind].context.length === 0) {
    // Without the traces: a fixed spread, as the other benches do.
    sizes[kind] = { context: Uint32Array.from({ length: 1000 }, (_, i) => 100 + ((i * 97) % 4000)), generated: Uint32Array.from({ length: 1000 }, (_, i) => 10 + ((i * 31) % 500)) };
  }
}
arrivals.sort((a, b) => a - b);
const gaps = arrivals.length > 1 ? Float64Array.from({ length: arrivals.length - 1 }, (_, i) => arrivals[i + 1]! - arrivals[i]!) : Float64Array.from({ length: 1000 }, () => -Math.log(1 - random()) * 100);
const gapSum = gaps.reduce((sum, gap) => sum + gap, 0);

/** Hourly intensity over the month: a UTC business-day curve (peak ~14:30 UTC, Europe and America overlapping), weekends at 45 %. */
const hourWeight = Float64Array.from({ length: HOURS }, (_, h) => {
  const at = new Date(MONTH_FROM + h * HOUR_MS);
  const day = at.getUTCDay();
  const hour = at.getUTCHours() + 0.5;
  return (0.25 + Math.exp(-(((hour - 14.5) / 4.5) ** 2))) * (day === 0 || day === 6 ? 0.45 : 1);
});
const hourCumulative = new Float64Array(HOURS + 1);
hourWeight.forEach((weight, h) => (hourCumulative[h + 1] = hourCumulative[h]! + weight));
/** Trace time of the whole load: the gaps repeated for EVENTS events, plus one more gap so the last call is inside the month. */
const traceSpan = Math.floor(EVENTS / gaps.length) * gapSum + gaps.slice(0, EVENTS % gaps.length).reduce((sum, gap) => sum + gap, 0) + gaps[0]!;

// ---------------------------------------------------------------------------------------------
// Owners and models.

const TEAM_NAMES = [
  'search', 'ads', 'support', 'growth', 'platform', 'payments', 'checkout', 'catalog', 'recommendations', 'fraud',
  'risk', 'identity', 'messaging', 'notifications', 'analytics', 'data-eng', 'ml-infra', 'devex', 'docs', 'sales-eng',
  'marketing', 'legal-ops', 'hr-tools', 'finance-ops', 'security', 'trust-safety', 'mobile', 'web', 'api-gateway', 'billing',
  'logistics', 'inventory', 'pricing', 'partners', 'onboarding', 'community', 'content', 'localization', 'voice', 'research',
] as const;
const FEATURE_WORDS = ['assistant', 'summarize', 'classify', 'extract', 'copilot', 'codegen', 'review', 'translate', 'rag', 'agent', 'triage', 'autocomplete'];
const CODE_WORDS = new Set(['copilot', 'codegen', 'review', 'autocomplete']);
const COST_CENTERS = Array.from({ length: 12 }, (_, i) => `cc-${1000 + i * 10}`);

interface ModelSpec {
  readonly provider: string;
  readonly model: string;
  readonly operation: UsageEventRecord['operation'];
  readonly reasoning?: boolean;
  readonly caching?: 'auto' | 'explicit';
  /** ms per generated token. */
  readonly msPerToken: number;
}
const MODELS: readonly ModelSpec[] = [
  { provider: 'openai', model: 'gpt-4o', operation: 'chat', caching: 'auto', msPerToken: 12 },
  { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', caching: 'auto', msPerToken: 8 },
  { provider: 'openai', model: 'gpt-4.1', operation: 'chat', caching: 'auto', msPerToken: 12 },
  { provider: 'openai', model: 'gpt-4.1-mini', operation: 'chat', caching: 'auto', msPerToken: 8 },
  { provider: 'openai', model: 'gpt-4.1-nano', operation: 'chat', caching: 'auto', msPerToken: 5 },
  { provider: 'openai', model: 'o3', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 15 },
  { provider: 'openai', model: 'o4-mini', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 9 },
  { provider: 'openai', model: 'gpt-5', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 14 },
  { provider: 'openai', model: 'gpt-5-mini', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 9 },
  { provider: 'openai', model: 'gpt-5-nano', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 6 },
  { provider: 'anthropic', model: 'claude-sonnet-4-5', operation: 'chat', caching: 'explicit', msPerToken: 14 },
  { provider: 'anthropic', model: 'claude-haiku-4-5', operation: 'chat', caching: 'explicit', msPerToken: 7 },
  { provider: 'anthropic', model: 'claude-opus-4-1', operation: 'chat', caching: 'explicit', msPerToken: 25 },
  { provider: 'anthropic', model: 'claude-3-5-haiku-latest', operation: 'chat', caching: 'explicit', msPerToken: 8 },
  { provider: 'google', model: 'gemini-2.5-pro', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 12 },
  { provider: 'google', model: 'gemini-2.5-flash', operation: 'chat', caching: 'auto', msPerToken: 5 },
  { provider: 'google', model: 'gemini-2.5-flash-lite', operation: 'chat', caching: 'auto', msPerToken: 4 },
  { provider: 'google', model: 'gemini-2.0-flash', operation: 'chat', caching: 'auto', msPerToken: 5 },
  { provider: 'mistral', model: 'mistral-large-latest', operation: 'chat', msPerToken: 14 },
  { provider: 'mistral', model: 'mistral-small-latest', operation: 'chat', msPerToken: 7 },
  { provider: 'mistral', model: 'codestral-latest', operation: 'chat', msPerToken: 6 },
  { provider: 'deepseek', model: 'deepseek-chat', operation: 'chat', caching: 'auto', msPerToken: 15 },
  { provider: 'deepseek', model: 'deepseek-reasoner', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 18 },
  { provider: 'groq', model: 'llama-3.3-70b-versatile', operation: 'chat', msPerToken: 3 },
  { provider: 'groq', model: 'llama-3.1-8b-instant', operation: 'chat', msPerToken: 1 },
  { provider: 'x-ai', model: 'grok-4', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 14 },
  { provider: 'x-ai', model: 'grok-3-mini', operation: 'chat', reasoning: true, caching: 'auto', msPerToken: 8 },
  { provider: 'cohere', model: 'command-r-plus', operation: 'chat', msPerToken: 12 },
  { provider: 'aws', model: 'amazon.nova-pro-v1:0', operation: 'chat', msPerToken: 10 },
  { provider: 'azure', model: 'gpt-4o', operation: 'chat', caching: 'auto', msPerToken: 12 },
  { provider: 'together', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo', operation: 'chat', msPerToken: 6 },
  { provider: 'openai', model: 'text-embedding-3-small', operation: 'embedding', msPerToken: 0 },
];
/** Served in house; the catalog has no price for it, so its calls are stored unpriced (counted, never free). */
const SELF_HOSTED: ModelSpec = { provider: 'self-hosted', model: 'acme-coder-ft-v3', operation: 'chat', msPerToken: 4 };
const CHAT_MODELS = MODELS.filter((model) => model.operation === 'chat');
const EMBEDDING = MODELS.find((model) => model.operation === 'embedding')!;
const chatPopularity = cumulativeOf(zipf(CHAT_MODELS.length, 0.9));

interface Feature {
  readonly name: string;
  readonly team: string;
  readonly costCenter: string;
  readonly kind: Kind;
  readonly models: readonly ModelSpec[];
  readonly agent: boolean;
}
const features: Feature[] = [];
TEAM_NAMES.forEach((team) => {
  const costCenter = pick(COST_CENTERS);
  const words = [...FEATURE_WORDS].sort(() => random() - 0.5).slice(0, 2 + below(5));
  for (const word of words) {
    const models = word === 'rag' ? [EMBEDDING, CHAT_MODELS[weighted(chatPopularity)]!] : Array.from({ length: 2 + below(2) }, () => CHAT_MODELS[weighted(chatPopularity)]!);
    if (CODE_WORDS.has(word) && random() < 0.3) models.push(SELF_HOSTED);
    features.push({ name: `${team}-${word}`, team, costCenter, kind: CODE_WORDS.has(word) ? 'code' : 'conv', models, agent: word === 'agent' });
  }
});
features.sort(() => random() - 0.5);
const featurePopularity = cumulativeOf(zipf(features.length, 0.8));

const TENANTS = Array.from({ length: 200 }, (_, i) => `tenant-${String(i + 1).padStart(3, '0')}`);
const tenantSize = cumulativeOf(zipf(TENANTS.length, 1.0));
const USERS = 20_000;
const userTenant = Uint16Array.from({ length: USERS }, () => weighted(tenantSize));
const GATEWAYS = ['gw-us-east-1', 'gw-eu-west-1', 'gw-ap-south-1'];
const ERROR_CODES = ['rate_limited', 'timeout', 'server_error', 'context_length_exceeded'];

interface Session {
  readonly id: string;
  readonly feature: Feature | null;
  readonly model: ModelSpec;
  readonly environment: string;
  readonly tenant: string | null;
  readonly user: string;
  readonly agentRun: string | null;
  readonly gateway: string;
  calls: number;
  left: number;
}
let sessionCount = 0;
function openSession(): Session {
  sessionCount += 1;
  const roll = random();
  const environment = roll < 0.9 ? 'prod' : roll < 0.96 ? 'staging' : 'dev';
  // 2 % of traffic arrives with no owner at all (direct API use): unattributed, shown as such.
  const feature = random() < 0.02 ? null : features[weighted(featurePopularity)]!;
  const models = feature?.models ?? CHAT_MODELS;
  const model = random() < 0.05 ? CHAT_MODELS[weighted(chatPopularity)]! : models[below(models.length)]!;
  const production = environment === 'prod';
  const user = production ? Math.floor(USERS * random() ** 1.6) : below(200);
  return {
    id: `sess-${sessionCount}`,
    feature,
    model,
    environment,
    tenant: production ? TENANTS[userTenant[user]!]! : null,
    user: production ? `user-${user}` : `eng-${user}`,
    agentRun: feature?.agent ? `run-${sessionCount}` : null,
    gateway: GATEWAYS[(production ? userTenant[user]! : user) % GATEWAYS.length]!,
    calls: 0,
    // Geometric number of calls with mean SESSION_CALLS.
    left: 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - 1 / SESSION_CALLS)),
  };
}
const openSessions: Session[] = Array.from({ length: SESSIONS_OPEN }, openSession);

// ---------------------------------------------------------------------------------------------
// Events: record → attribution (built-in policy) → pricing (bundled catalog) → stored row.

const policy = AttributionPolicy.builtIn;
const engine = new PricingEngine(PriceCatalog.fromFile(BUNDLED_PRICE_CATALOG), Contracts.none);
const excluded = new Set(policy.nonProductionEnvironments);
/** Expected answers, summed exactly while generating: default-scope cost by team over the month, and from its first millisecond on. */
const expectedByTeam = new Map<string, bigint>();
const expectedByTeamAfterFirstMs = new Map<string, bigint>();
const expectedEventsByTeam = new Map<string, number>();
let unpricedRows = 0;

let traceClock = 0;
let hour = 0;
let nextIndex = 0;
const tracePosition = { code: 0, conv: 0 };

function nextRecord(index: number): UsageEventRecord {
  // Arrival: advance trace time by the next trace gap, warp it onto the month by the hourly intensity.
  traceClock += gaps[index % gaps.length]!;
  const target = (traceClock / traceSpan) * hourCumulative[HOURS]!;
  while (hour < HOURS - 1 && hourCumulative[hour + 1]! <= target) hour += 1;
  const occurredAt = Math.min(MONTH_TO - 1, MONTH_FROM + hour * HOUR_MS + Math.floor(((target - hourCumulative[hour]!) / hourWeight[hour]!) * HOUR_MS));

  const slot = below(openSessions.length);
  const session = openSessions[slot]!;
  session.calls += 1;
  session.left -= 1;
  if (session.left <= 0) openSessions[slot] = openSession();

  const kind = session.feature?.kind ?? 'conv';
  const trace = sizes[kind];
  const at = tracePosition[kind]++ % trace.context.length;
  const context = trace.context[at]!;
  const generated = trace.generated[at]!;
  const model = session.model;
  const failed = random() < 0.015;
  const embedding = model.operation === 'embedding';
  const reasoning = model.reasoning && !failed ? generated * 2 : 0;
  const output = embedding || failed ? 0 : generated + reasoning;
  // Later calls of a conversation re-send its start: read from the prompt cache where the provider has one;
  // Anthropic's explicit caching writes it on the first call.
  const cacheable = Math.floor(context * 0.6);
  const cacheRead = model.caching && session.calls > 1 && kind === 'conv' ? cacheable : 0;
  const cacheWrite = model.caching === 'explicit' && session.calls === 1 && kind === 'conv' && context >= 1024 ? cacheable : 0;
  const ttft = embedding ? 0 : 120 + Math.floor(context / 40) + below(300);
  const latency = failed ? 50 + below(30_000) : ttft + output * model.msPerToken + below(40);
  return {
    event_id: randomUUID(),
    occurred_at: occurredAt,
    provider: model.provider,
    model: model.model,
    api_flavor: null,
    operation: model.operation,
    input_tokens: context,
    output_tokens: output,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: reasoning,
    input_audio_tokens: 0,
    cache_audio_read_tokens: 0,
    output_audio_tokens: 0,
    provider_usage: null,
    latency_ms: latency,
    ttft_ms: embedding || failed ? null : ttft,
    status: failed ? 'error' : 'ok',
    error_code: failed ? pick(ERROR_CODES) : null,
    tenant_id: session.tenant,
    cost_center: session.feature?.costCenter ?? null,
    team: session.feature?.team ?? null,
    feature: session.feature?.name ?? null,
    environment: session.environment,
    user_id: session.user,
    session_id: session.id,
    agent_run_id: session.agentRun,
    api_key_id: session.feature ? `key-${session.feature.team}-${session.environment}` : `key-direct-${session.user}`,
    tags: {},
    gateway_id: session.gateway,
    reported_cost: null,
    trace_id: null,
    span_id: null,
  };
}

function add<K>(map: Map<K, bigint>, key: K, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

const TWO = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
let dayCached = -1;
let dayPrefix = '';
/** formatDateTime64, without a Date per call: the sink's text for a DateTime64(3, 'UTC') ("2026-10-05 14:03:07.123"). */
function dateTime64(epochMs: number): string {
  const day = Math.floor(epochMs / 86_400_000);
  if (day !== dayCached) {
    dayCached = day;
    dayPrefix = formatDateTime64(day * 86_400_000).slice(0, 11);
  }
  let rest = epochMs - day * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${dayPrefix}${TWO[h]}:${TWO[m]}:${TWO[sec]}.${THREE[rest - sec * 1000]}`;
}

/**
 * The row toUsageRow writes for an enriched event, built as one object literal
 * (toUsageRow's spreads cost about 12 µs a row, more than attribution and
 * pricing together). The first CHECKED_ROWS rows are compared with toUsageRow's,
 * text for text, so a change to the sink's row shows up here as an error.
 */
function usageRow(enriched: EnrichedUsageEvent, partition: number, offset: number): UsageRow {
  const e = enriched.event;
  const outcome = enriched.attribution;
  const lineage = outcome?.lineage ?? [];
  return {
    event_id: e.event_id,
    occurred_at: dateTime64(e.occurred_at),
    received_at: dateTime64(enriched.received_at),
    enriched_at: dateTime64(enriched.enriched_at),
    provider: e.provider,
    model: e.model,
    api_flavor: e.api_flavor ?? '',
    operation: e.operation,
    input_tokens: e.input_tokens,
    output_tokens: e.output_tokens,
    cache_read_tokens: e.cache_read_tokens,
    cache_write_tokens: e.cache_write_tokens,
    reasoning_tokens: e.reasoning_tokens,
    input_audio_tokens: e.input_audio_tokens,
    cache_audio_read_tokens: e.cache_audio_read_tokens,
    output_audio_tokens: e.output_audio_tokens,
    provider_usage: e.provider_usage ?? '',
    latency_ms: e.latency_ms,
    ttft_ms: e.ttft_ms,
    status: e.status,
    error_code: e.error_code ?? '',
    tenant_id: e.tenant_id ?? '',
    cost_center: e.cost_center ?? '',
    team: e.team ?? '',
    feature: e.feature ?? '',
    environment: e.environment ?? '',
    user_id: e.user_id ?? '',
    session_id: e.session_id ?? '',
    agent_run_id: e.agent_run_id ?? '',
    api_key_id: e.api_key_id ?? '',
    tags: e.tags,
    gateway_id: e.gateway_id ?? '',
    attribution_status: outcome?.status ?? '',
    attribution_missing: outcome?.missing ?? [],
    attribution_requirement: outcome?.requirement ?? '',
    attribution_rules: lineage.length === 0 ? [] : [...new Set(lineage.map((change) => change.rule))],
    attribution_lineage: lineage.length === 0 ? '[]' : JSON.stringify(lineage),
    attribution_policy: outcome?.policy_version ?? '',
    reported_cost: e.reported_cost,
    currency: enriched.currency,
    cost: enriched.cost,
    list_cost: enriched.list_cost,
    input_cost: enriched.input_cost,
    output_cost: enriched.output_cost,
    cost_breakdown: enriched.cost_breakdown,
    cost_status: enriched.cost_status,
    unpriced_reason: enriched.unpriced_reason ?? '',
    unpriced_code: enriched.unpriced_code ?? '',
    price_version: enriched.price_version,
    catalog_model: enriched.catalog_model,
    contract_id: enriched.contract_id ?? '',
    sign: 1,
    pricing_run: 0,
    priced_at: dateTime64(enriched.enriched_at),
    source_partition: partition,
    source_offset: offset,
  };
}
const CHECKED_ROWS = 10_000;

function nextRow(): UsageRow {
  const index = nextIndex++;
  const record = nextRecord(index);
  const attributed = attributeEvent(policy, record);
  const priced = priceUsageEvent(engine, attributed.event);
  const receivedAt = record.occurred_at + (record.latency_ms ?? 0) + 5 + below(45);
  const enriched: EnrichedUsageEvent = { ...priced, received_at: receivedAt, enriched_at: receivedAt + 20 + below(180), attribution: attributed.attribution };
  const row = usageRow(enriched, index % 3, Math.floor(index / 3));
  if (index < CHECKED_ROWS) {
    // What the enricher would accept, stored as the sink stores it.
    const checked = usageEventRecord.safeParse(record);
    if (!checked.success) throw new Error(`generated event ${index} is not a valid usage event: ${checked.error.message}`);
    const sink = JSON.stringify(toUsageRow(enriched, index % 3, String(Math.floor(index / 3))));
    if (JSON.stringify(row) !== sink) throw new Error(`row ${index} differs from toUsageRow's:\n${JSON.stringify(row)}\n${sink}`);
  }
  if (priced.cost_status === 'unpriced') unpricedRows += 1;
  const owner = attributed.event.team ?? '';
  if (!excluded.has(attributed.event.environment ?? '')) {
    const cost = decimalUnits(priced.cost);
    add(expectedByTeam, owner, cost);
    if (record.occurred_at > MONTH_FROM) add(expectedByTeamAfterFirstMs, owner, cost);
    expectedEventsByTeam.set(owner, (expectedEventsByTeam.get(owner) ?? 0) + 1);
  }
  return row;
}

/** A batch of rows, built in slices that give the event loop back, so the previous batch's insert (serialised here, run by chDB on its own thread) overlaps with building this one. */
async function nextBatch(size: number): Promise<UsageRow[]> {
  const rows: UsageRow[] = new Array(size);
  for (let i = 0; i < size; i += 1) {
    rows[i] = nextRow();
    if (i % 2_000 === 1_999) await yieldToLoop();
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// A fresh embedded database with the migrations applied.

const log = createLogger(env['LOG_LEVEL'] ?? 'warn');
const dir = mkdtempSync(join(tmpdir(), 'spendline-reports-bench-'));
const loaded = loadConfig({ LOG_LEVEL: env['LOG_LEVEL'] ?? 'warn', SPENDLINE_DATA_DIR: dir, CLICKHOUSE_DATABASE: `bench_${randomUUID().slice(0, 8)}` });
if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
const clickhouse = await createClickHouse(loaded.value.clickhouse, log);
await migrate(clickhouse, readMigrations(SQL_DIR), log);

process.stderr.write(`loading ${EVENTS.toLocaleString('en')} events for ${MONTH} in batches of ${BATCH.toLocaleString('en')}...\n`);
const loadStarted = performance.now();
let generateMs = 0;
let insertWaitMs = 0;
let pending: Promise<void> | null = null;
let inserted = 0;
let lastReport = loadStarted;
while (inserted < EVENTS || pending) {
  let rows: UsageRow[] | null = null;
  if (inserted < EVENTS) {
    const size = Math.min(BATCH, EVENTS - inserted);
    const started = performance.now();
    rows = await nextBatch(size);
    generateMs += performance.now() - started;
  }
  if (pending) {
    const started = performance.now();
    await pending;
    insertWaitMs += performance.now() - started;
    pending = null;
  }
  if (rows) {
    pending = clickhouse.insert('bench_load', USAGE_EVENTS_TABLE, rows);
    inserted += rows.length;
  }
  if (performance.now() - lastReport > 15_000) {
    lastReport = performance.now();
    const seconds = (lastReport - loadStarted) / 1000;
    process.stderr.write(`  ${inserted.toLocaleString('en')} rows handed over in ${seconds.toFixed(0)} s (${Math.round(inserted / seconds).toLocaleString('en')} rows/s), rss ${mib(process.memoryUsage().rss)} MiB\n`);
  }
}
const loadSeconds = (performance.now() - loadStarted) / 1000;
process.stderr.write(`loaded in ${loadSeconds.toFixed(1)} s\n`);

const countRow = z.object({ n: z.coerce.number() });
const [eventCount] = await clickhouse.query({ name: 'bench_count', sql: 'SELECT count() AS n FROM {db:Identifier}.usage_events_v1', schema: countRow });
// Every hourly rollup the migrations made (materialized views; their rows live in an inner table, .inner_id.<uuid>).
const rollupTables = await clickhouse.query({
  name: 'bench_rollups',
  sql: "SELECT name, toString(uuid) AS id FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name",
  params: { db: clickhouse.database },
  schema: z.object({ name: z.string(), id: z.string() }),
});
const rollups: Record<string, { rows: number; eventsPerRow: number }> = {};
for (const { name } of rollupTables) {
  const [count] = await clickhouse.query({ name: 'bench_rollup_count', sql: 'SELECT count() AS n FROM {db:Identifier}.{rollup:Identifier}', params: { rollup: name }, schema: countRow });
  rollups[name] = { rows: count!.n, eventsPerRow: Math.round((eventCount!.n / count!.n) * 100) / 100 };
}
const tableName = new Map(rollupTables.map((table) => [`.inner_id.${table.id}`, table.name]));
const partsRow = z.object({ table: z.string(), parts: z.coerce.number(), total_rows: z.coerce.number(), bytes: z.coerce.number() });
const storage = async () =>
  (
    await clickhouse.query({
      name: 'bench_parts',
      sql: `SELECT table, count() AS parts, sum(rows) AS total_rows, sum(bytes_on_disk) AS bytes
            FROM system.parts
            WHERE database = {db:String} AND active AND (table = 'usage_events_v1' OR startsWith(table, '.inner'))
            GROUP BY table ORDER BY table`,
      params: { db: clickhouse.database },
      schema: partsRow,
    })
  ).map((row) => ({ ...row, name: tableName.get(row.table) ?? row.table }));
const storageAfterLoad = await storage();

// The inserts leave parts that ClickHouse merges in the background; on two cores those merges slow
// every query they overlap. Wait until none runs and the part counts have held for 5 s (at most
// BENCH_SETTLE_SECONDS), so all queries are timed alike.
const settleStarted = performance.now();
const settleLimitMs = Number(env['BENCH_SETTLE_SECONDS'] ?? 300) * 1000;
let mergesLeft = 0;
let partsSeen = '';
let stableSince = performance.now();
for (;;) {
  const [merges] = await clickhouse.query({ name: 'bench_merges', sql: 'SELECT count() AS n FROM system.merges WHERE database = {db:String}', params: { db: clickhouse.database }, schema: countRow });
  mergesLeft = merges!.n;
  const parts = JSON.stringify((await storage()).map((row) => row.parts));
  if (parts !== partsSeen || mergesLeft > 0) {
    partsSeen = parts;
    stableSince = performance.now();
  }
  if ((mergesLeft === 0 && performance.now() - stableSince >= 5_000) || performance.now() - settleStarted > settleLimitMs) break;
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
const settleSeconds = Math.round((performance.now() - settleStarted) / 100) / 10;
const storageAtTiming = await storage();
loadAverage['whenTimingStarts'] = loadavg()[0]!;
process.stderr.write(`background merges settled in ${settleSeconds} s (${mergesLeft} still running)\n`);

// ---------------------------------------------------------------------------------------------
// Timing.

interface Timing {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly runs: number;
  readonly rows: number;
}
async function time(name: string, run: () => Promise<number>): Promise<Timing> {
  process.stderr.write(`timing ${name}...\n`);
  let rows = 0;
  for (let i = 0; i < WARMUP; i += 1) rows = await run();
  const samples: number[] = [];
  for (let i = 0; i < REPEAT; i += 1) {
    const started = performance.now();
    rows = await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  // Nearest rank.
  const quantile = (q: number) => samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)]!;
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return { p50Ms: round(quantile(0.5)), p95Ms: round(quantile(0.95)), minMs: round(samples[0]!), maxMs: round(samples.at(-1)!), runs: REPEAT, rows };
}

const costRow = z
  .object({
    total_cost: z.string(),
    total_list_cost: z.string(),
    total_events: z.coerce.number(),
    total_input_tokens: z.coerce.number(),
    total_output_tokens: z.coerce.number(),
    total_unpriced_events: z.coerce.number(),
  })
  .catchall(z.union([z.string(), z.number()]));
const scope = scopeCondition({ kind: 'default' }, policy);
const checks: Record<string, boolean> = {};

/** Compares rows keyed by `key` with the expected exact totals. */
function matches(rows: readonly Record<string, unknown>[], key: string, cost: string, expected: ReadonlyMap<string, bigint>): boolean {
  const got = new Map(rows.map((row) => [String(row[key]), decimalUnits(String(row[cost]))]));
  return got.size === expected.size && [...expected].every(([owner, units]) => got.get(owner) === units);
}

/** The table or view a built query reads (its first FROM). */
function source(sql: string): string {
  return /FROM \{db:Identifier\}\.(\w+)/.exec(sql)?.[1] ?? 'unknown';
}

async function costReport(request: CostReportRequest, check?: (rows: z.output<typeof costRow>[]) => void): Promise<number> {
  const built = buildCostReportQuery(request);
  const rows = await clickhouse.query({ name: 'cost_report', sql: built.sql, params: built.params, schema: costRow });
  check?.(rows);
  return rows.length;
}

const byTeam: CostReportRequest = { from: MONTH_FROM, to: MONTH_TO, groupBy: ['team'], scope };
const byModelDaily: CostReportRequest = { from: MONTH_FROM, to: MONTH_TO, groupBy: ['model'], scope, granularity: 'day', timezone: 'UTC', wholeHourZone: true };
const byTeamRaw: CostReportRequest = { ...byTeam, from: MONTH_FROM + 1 };
if (!rollupAnswers(byTeam) || !rollupAnswers(byModelDaily) || rollupAnswers(byTeamRaw)) throw new Error('the cost report builder no longer picks the sources this bench expects');
const sourceOf = (request: CostReportRequest) => source(buildCostReportQuery(request).sql);

await costReport(byTeam, (rows) => {
  checks['costByTeamRollupEqualsGeneratedTotals'] = matches(rows, 'team', 'total_cost', expectedByTeam);
  checks['costByTeamRollupEventCounts'] = rows.every((row) => row.total_events === expectedEventsByTeam.get(String(row['team'])));
});
await costReport(byTeamRaw, (rows) => (checks['costByTeamEventsEqualsGeneratedTotals'] = matches(rows, 'team', 'total_cost', expectedByTeamAfterFirstMs)));
let dailyGrandTotal = 0n;
await costReport(byModelDaily, (rows) => rows.forEach((row) => (dailyGrandTotal += decimalUnits(row.total_cost))));
checks['costByModelDailySumsToMonthTotal'] = dailyGrandTotal === [...expectedByTeam.values()].reduce((sum, units) => sum + units, 0n);

const queries: Record<string, unknown> = {
  costByTeamMonth: { source: sourceOf(byTeam), ...(await time('cost by team, month (rollup)', () => costReport(byTeam))) },
  costByModelPerDay: { source: sourceOf(byModelDaily), ...(await time('cost by model per day (rollup)', () => costReport(byModelDaily))) },
  costByTeamMonthFromEvents: { source: `${sourceOf(byTeamRaw)} (from = .001)`, ...(await time('cost by team, month (events)', () => costReport(byTeamRaw))) },
};

// 4. Chargeback: the route's work apart from HTTP — the direct-cost query and the exact allocation.
const directRow = z.object({ owner_key: z.string(), direct_cost: z.string(), direct_list_cost: z.string(), total_events: z.coerce.number(), total_unpriced_events: z.coerce.number() });
const allocation = parseAllocationRules(
  JSON.stringify({
    version: 'bench',
    pools: [
      { id: 'unattributed', by: 'team', source: { unattributed: true }, spread: { method: 'proportional' } },
      { id: 'platform', by: 'team', source: { owners: ['platform', 'ml-infra'] }, spread: { method: 'proportional' } },
      { id: 'support-plan', by: 'team', source: { fixed_monthly: '25000' }, spread: { method: 'even' } },
    ],
  }),
);
async function chargeback(check?: (direct: ReadonlyMap<string, bigint>, grandTotal: bigint) => void): Promise<number> {
  const built = buildChargebackQuery({ from: MONTH_FROM, to: MONTH_TO, by: 'team', scope });
  const rows = await clickhouse.query({ name: 'chargeback_direct', sql: built.sql, params: built.params, schema: directRow });
  const direct = new Map(rows.map((row) => [row.owner_key, decimalUnits(row.direct_cost)]));
  const result = allocate(direct, allocation.pools.filter((pool) => pool.by === 'team'));
  check?.(direct, result.grandTotal);
  return result.owners.length;
}
await chargeback((direct, grandTotal) => {
  checks['chargebackDirectEqualsGeneratedTotals'] = direct.size === expectedByTeam.size && [...expectedByTeam].every(([owner, units]) => direct.get(owner) === units);
  checks['chargebackGrandTotalIsSpendPlusFee'] = grandTotal === [...expectedByTeam.values()].reduce((sum, units) => sum + units, 0n) + decimalUnits('25000');
});
queries['chargebackByTeamMonth'] = {
  source: `${source(buildChargebackQuery({ from: MONTH_FROM, to: MONTH_TO, by: 'team', scope }).sql)}, then allocate (3 pools: unattributed proportional, platform teams proportional, fixed fee even)`,
  ...(await time('chargeback by team, month', () => chargeback())),
};

// 5. FOCUS export of the month, as GET /v1/exports/focus makes it (production limits): the day plan, the
// slices (a day with more stored rows than a slice holds is read in owner-hash parts), FOCUS 1.2 rows, CSV.
async function focusExport(): Promise<Record<string, number | boolean | string>> {
  const limits = DEFAULT_EXPORT_LIMITS;
  const range = { from: MONTH_FROM, to: MONTH_TO, scope };
  const started = performance.now();
  const slices = await planExport(clickhouse, range, 'day', limits.sliceRows);
  const encoder = rowEncoder('csv', focusColumns('1.2'));
  let bytes = Buffer.byteLength(encoder.header);
  let rows = 0;
  let billed = 0n;
  let firstPageMs = -1;
  for await (const page of focusExportPages(clickhouse, range, slices, { version: '1.2', sliceRows: limits.sliceRows })) {
    if (firstPageMs < 0) firstPageMs = performance.now() - started;
    for (let at = 0; at < page.length; at += limits.chunkRows) bytes += Buffer.byteLength(encoder.encode(page.slice(at, at + limits.chunkRows)));
    for (const row of page) billed += decimalUnits(String(row['BilledCost']));
    rows += page.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    rows,
    seconds: Math.round(seconds * 10) / 10,
    rowsPerSecond: Math.round(rows / seconds),
    firstPageMs: Math.round(firstPageMs),
    csvMiB: mib(bytes),
    slices: slices.length,
    clickhouseReads: slices.reduce((sum, slice) => sum + Math.max(1, Math.ceil(slice.rows / limits.sliceRows)), 0),
    sliceRows: limits.sliceRows,
    billedCostEqualsGeneratedTotal: billed === [...expectedByTeam.values()].reduce((sum, units) => sum + units, 0n),
  };
}
process.stderr.write('FOCUS export of the month...\n');
const focus = await focusExport();
checks['focusBilledCostEqualsGeneratedTotal'] = focus['billedCostEqualsGeneratedTotal'] === true;
queries['focusExportMonth'] = { source: 'planExport + focusExportPages (buildFocusQuery) + CSV, FOCUS 1.2, one run', ...focus };

const storageAtEnd = await storage();
loadAverage['atEnd'] = loadavg()[0]!;
const chargebackP95 = (queries['chargebackByTeamMonth'] as Timing).p95Ms;
const report = {
  machine: {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    loadAverage1m: Object.fromEntries(Object.entries(loadAverage).map(([when, load]) => [when, Math.round(load * 100) / 100])),
  },
  data: {
    month: MONTH,
    traces: traceFiles.map((file) => file.split('/').at(-1)),
    teams: TEAM_NAMES.length,
    features: features.length,
    tenants: TENANTS.length,
    users: USERS,
    models: MODELS.length + 1,
    sessions: sessionCount,
    meanCallsPerSession: SESSION_CALLS,
    unpricedRows,
    defaultScopeCost: formatDecimal([...expectedByTeam.values()].reduce((sum, units) => sum + units, 0n)),
  },
  load: {
    rows: eventCount!.n,
    batchRows: BATCH,
    seconds: Math.round(loadSeconds * 10) / 10,
    rowsPerSecond: Math.round(EVENTS / loadSeconds),
    buildRowsSeconds: Math.round(generateMs / 100) / 10,
    waitingForInsertsSeconds: Math.round(insertWaitMs / 100) / 10,
    rollups,
    partsAfterLoad: Object.fromEntries(storageAfterLoad.map((row) => [row.name, row.parts])),
    mergeSettleSeconds: settleSeconds,
    mergesRunningWhenTimed: mergesLeft,
    partsWhenTimed: Object.fromEntries(storageAtTiming.map((row) => [row.name, row.parts])),
    partsAtEnd: Object.fromEntries(storageAtEnd.map((row) => [row.name, row.parts])),
    diskMiB: Object.fromEntries(storageAtEnd.map((row) => [row.name, mib(row.bytes)])),
  },
  queries,
  checks,
  goal: { chargebackP95UnderMs: 100, chargebackP95Ms: chargebackP95, met: chargebackP95 < 100 },
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  wallSeconds: Math.round((performance.now() - wallStarted) / 1000),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

await clickhouse.close();
rmSync(dir, { recursive: true, force: true });
