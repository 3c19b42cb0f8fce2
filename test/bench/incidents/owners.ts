import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { TraceKind } from './azure-traces.ts';

/**
 * Who uses which models in the benchmark's company: 8 teams with 2-3
 * features each (three of them agents), 10 chat models and one embedding
 * model of 4 providers, all priced by the bundled catalog (genai-prices), and
 * 3 regional gateways. Written out rather than drawn, so the incidents can
 * name their subjects and a reader can see why a feature's traffic is what it
 * is.
 */

export interface ModelSpec {
  readonly provider: string;
  readonly model: string;
  readonly operation: UsageEventRecord['operation'];
  /** Reasoning models spend about twice the visible output on reasoning tokens. */
  readonly reasoning?: boolean;
  /** Prompt caching: automatic (reads only) or explicit (Anthropic: written on the first call). */
  readonly caching?: 'auto' | 'explicit';
  /** ms per generated token. */
  readonly msPerToken: number;
}

const model = (provider: string, id: string, msPerToken: number, extra: Partial<ModelSpec> = {}): ModelSpec => ({ provider, model: id, operation: 'chat', msPerToken, ...extra });

export const MODELS: Readonly<Record<string, ModelSpec>> = Object.fromEntries(
  [
    model('openai', 'gpt-4o', 12, { caching: 'auto' }),
    model('openai', 'gpt-4o-mini', 8, { caching: 'auto' }),
    model('openai', 'gpt-4.1-mini', 8, { caching: 'auto' }),
    model('openai', 'o4-mini', 9, { caching: 'auto', reasoning: true }),
    model('openai', 'text-embedding-3-small', 0, { operation: 'embedding' }),
    model('anthropic', 'claude-sonnet-4-5', 14, { caching: 'explicit' }),
    model('anthropic', 'claude-haiku-4-5', 7, { caching: 'explicit' }),
    model('google', 'gemini-2.5-pro', 12, { caching: 'auto', reasoning: true }),
    model('google', 'gemini-2.5-flash', 5, { caching: 'auto' }),
    model('google', 'gemini-2.5-flash-lite', 4, { caching: 'auto' }),
    model('mistral', 'mistral-small-latest', 7),
  ].map((spec) => [spec.model, spec]),
);

export interface Feature {
  readonly name: string;
  readonly team: string;
  /** Which trace its token sizes come from. */
  readonly kind: TraceKind;
  /** Relative share of sessions started. */
  readonly weight: number;
  /** Agent features run agent runs: longer sessions with an agent_run_id. */
  readonly agent: boolean;
  /** Model id → relative share of the feature's sessions. */
  readonly models: Readonly<Record<string, number>>;
}

const feature = (name: string, team: string, kind: TraceKind, weight: number, models: Record<string, number>, agent = false): Feature => ({ name, team, kind, weight, agent, models });

export const FEATURES: readonly Feature[] = [
  feature('search-rag', 'search', 'conv', 10, { 'text-embedding-3-small': 1, 'gpt-4o-mini': 1 }),
  feature('search-summarize', 'search', 'conv', 6, { 'gemini-2.5-flash': 2, 'gpt-4o-mini': 1 }),
  feature('search-rerank', 'search', 'conv', 4, { 'gemini-2.5-flash-lite': 1 }),
  feature('support-assistant', 'support', 'conv', 9, { 'claude-haiku-4-5': 2, 'gpt-4o-mini': 1 }),
  feature('support-agent', 'support', 'conv', 2, { 'claude-sonnet-4-5': 1, 'claude-haiku-4-5': 1 }, true),
  feature('support-triage', 'support', 'conv', 4, { 'mistral-small-latest': 1 }),
  feature('growth-copywriter', 'growth', 'conv', 3, { 'gpt-4o': 1, 'gemini-2.5-flash': 1 }),
  feature('growth-classify', 'growth', 'conv', 5, { 'gpt-4o-mini': 1 }),
  feature('platform-codegen', 'platform', 'code', 5, { 'gpt-4.1-mini': 2, 'claude-sonnet-4-5': 1 }),
  feature('platform-review', 'platform', 'code', 2, { 'o4-mini': 1 }),
  feature('platform-agent', 'platform', 'code', 1, { 'gpt-4.1-mini': 2, 'o4-mini': 1 }, true),
  feature('payments-extract', 'payments', 'conv', 4, { 'gpt-4o-mini': 1, 'gemini-2.5-flash-lite': 1 }),
  feature('payments-dispute-summary', 'payments', 'conv', 2, { 'claude-haiku-4-5': 1 }),
  feature('analytics-sql', 'analytics', 'code', 4, { 'gpt-4.1-mini': 1 }),
  feature('analytics-insights', 'analytics', 'conv', 2, { 'gemini-2.5-pro': 1, 'gemini-2.5-flash': 2 }),
  feature('analytics-agent', 'analytics', 'conv', 1, { 'gemini-2.5-flash': 2, 'gpt-4o': 1 }, true),
  feature('devex-copilot', 'devex', 'code', 8, { 'gpt-4o-mini': 1, 'claude-haiku-4-5': 1, 'gpt-4.1-mini': 1 }),
  feature('devex-autocomplete', 'devex', 'code', 7, { 'gemini-2.5-flash-lite': 1, 'mistral-small-latest': 1 }),
  feature('devex-docs', 'devex', 'conv', 2, { 'gpt-4o-mini': 1 }),
  feature('trust-moderation', 'trust-safety', 'conv', 5, { 'mistral-small-latest': 1, 'gpt-4o-mini': 1 }),
  feature('trust-appeals', 'trust-safety', 'conv', 1, { 'claude-sonnet-4-5': 1 }),
];

export const TEAMS = [...new Set(FEATURES.map((f) => f.team))];

export function featureNamed(name: string): Feature {
  const found = FEATURES.find((f) => f.name === name);
  if (!found) throw new Error(`no feature ${name} in the benchmark's owners`);
  return found;
}

/** Regional gateways; a user's calls go through the gateway of their region (share of users). */
export const GATEWAYS: readonly { readonly id: string; readonly share: number }[] = [
  { id: 'gw-us-east-1', share: 0.5 },
  { id: 'gw-eu-west-1', share: 0.33 },
  { id: 'gw-ap-south-1', share: 0.17 },
];

/** End users of production traffic (Zipf-active), in tenants; engineers use staging and dev. */
export const PROD_USERS = 3000;
export const TENANTS = 40;
export const ENGINEERS = 60;

/** Mean calls of a session, and of an agent run. */
export const SESSION_CALLS = 5;
export const AGENT_RUN_CALLS = 25;
/**
 * Seconds between a session's calls, on average: a person chatting, a
 * developer's editor asking for completions, an agent's tool loop. As many
 * sessions are open as the recent call rate needs at these paces, so a burst
 * of traffic is more people at work, not the same few calling faster.
 */
export const CALL_SPACING_S: Readonly<Record<'chat' | 'code' | 'agent', number>> = { chat: 30, code: 10, agent: 8 };
/** Sessions of a kind open however quiet it is. */
export const MIN_SESSIONS_OPEN = 4;
/** Share of calls that fail (rate limits, timeouts, ...). */
export const ERROR_RATE = 0.015;
export const ERROR_CODES = ['rate_limited', 'timeout', 'server_error', 'context_length_exceeded'];
