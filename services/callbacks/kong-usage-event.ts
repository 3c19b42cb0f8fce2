import { EVENT_LIMITS } from '@spendline/emitter/usage-event';
import { validate } from '@spendline/emitter/field-issues';
import type { CallbackAdapter, CallbackDefaults } from './callback-batch.ts';
import { applySpendlineHeaders, NAMED_DIMENSIONS, tagText } from './callback-attribution.ts';
import { EventDraft, type ItemMapping } from './event-draft.ts';
import { jsonNumberToDecimal } from './json-number-decimal.ts';
import { kongLogEntry, type KongAiBlock, type KongLogEntry } from './kong-log-entry.ts';
import { present } from './payload-fields.ts';
import { catalogProvider } from '../ingest/provider-names.ts';
import { totalInputTokens, totalOutputTokens } from './token-conventions.ts';

/** Kong writes this when a plugin ran without a model table (a request it rejected before choosing a model). */
const UNSPECIFIED = 'UNSPECIFIED';
/** W3C traceparent: version 00, trace id, parent span id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * One Kong log entry as a usage event (JSON form), or `ignored` when the
 * request was not a model call (no AI Proxy statistics: http-log logs every
 * route it is enabled on). Exact rules, each in docs/sending-usage.md (gateway callbacks):
 * - event_id: `request.id` (Kong's id of the request), so a batch the plugin's
 *   queue sends again counts once;
 * - tokens from `ai.proxy.usage`, parts inside totals; an AI Semantic Cache hit
 *   as zero tokens; `usage.cost` as reported_cost when Kong was given prices
 *   (it writes 0 otherwise);
 * - owner: `spendline.*` fields the operator adds with custom_fields_by_lua,
 *   then the client's `x-spendline-*` request headers; the authenticated
 *   credential's id as api_key_id; consumer, route, service and workspace as tags;
 * - trace_id from a W3C traceparent request header, but no span id: the
 *   header's span is the caller's, not this call's.
 */
export function kongUsageEvent(item: unknown, defaults: CallbackDefaults): ItemMapping {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return invalid('', 'must be a Kong log entry (a JSON object)');
  const ai = (item as Record<string, unknown>)['ai'];
  if (ai === undefined || ai === null) return { kind: 'ignored', reason: 'no ai block: the request was not proxied to a model by AI Proxy with log_statistics' };
  const checked = validate(kongLogEntry, item);
  if (!checked.ok) return { kind: 'invalid', issues: checked.issues };
  const entry = checked.value;
  const found = aiBlock(entry);
  if (!found) return { kind: 'ignored', reason: 'no ai.proxy usage or meta: no model call statistics in this entry' };
  const { block, path } = found;
  const draft = new EventDraft();

  const requestId = present(entry.request?.id);
  if (!requestId) return invalid('request.id', 'is required (Kong 3.5 and later log it): it identifies the call, so a batch sent again counts once');
  draft.set('event_id', requestId, 'request.id');
  const startMs = Math.round(entry.started_at);
  if (!(startMs >= EVENT_LIMITS.minOccurredAtMs && startMs < EVENT_LIMITS.maxOccurredAtMs)) {
    return invalid('started_at', `must be milliseconds since the epoch between 2015 and 2100 (got ${entry.started_at})`);
  }
  draft.set('occurred_at', new Date(startMs).toISOString(), 'started_at');
  const llmLatency = block.meta?.llm_latency;
  const proxyLatency = entry.latencies?.proxy;
  if (typeof llmLatency === 'number') draft.set('latency_ms', Math.round(llmLatency), `${path}.meta.llm_latency`);
  // Kong writes -1 when no upstream answered.
  else if (typeof proxyLatency === 'number' && proxyLatency >= 0) draft.set('latency_ms', Math.round(proxyLatency), 'latencies.proxy');

  const provider = specified(block.meta?.provider_name);
  if (provider) draft.set('provider', catalogProvider('kong', provider), `${path}.meta.provider_name`);
  else draft.source('provider', `${path}.meta.provider_name`);
  const responseModel = specified(block.meta?.response_model);
  draft.set('model', responseModel ?? specified(block.meta?.request_model), responseModel ? `${path}.meta.response_model` : `${path}.meta.request_model`);
  draft.source('model', `${path}.meta.response_model`);
  draft.set('operation', operationOf(present(entry.upstream_uri) ?? present(entry.request?.uri) ?? ''), 'upstream_uri');

  const status = entry.response?.status;
  const failed = typeof status === 'number' && status >= 400;
  draft.set('status', failed ? 'error' : 'ok', 'response.status');
  if (failed) draft.set('error_code', String(status), 'response.status');

  if (present(block.cache?.cache_status)?.toLowerCase() === 'hit') {
    // Answered by AI Semantic Cache: the provider was not called.
    draft.set('input_tokens', 0, `${path}.cache.cache_status`).set('output_tokens', 0, `${path}.cache.cache_status`);
  } else {
    setTokens(draft, block, `${path}.usage`);
  }
  const cost = block.usage?.cost;
  if (typeof cost === 'number' && cost > 0) draft.set('reported_cost', jsonNumberToDecimal(cost), `${path}.usage.cost`);

  setOwner(draft, entry, found, defaults);
  return draft.build();
}

function invalid(path: string, message: string): ItemMapping {
  return { kind: 'invalid', issues: [{ path, message }] };
}

function specified(value: string | null | undefined): string | undefined {
  const text = present(value);
  return text === UNSPECIFIED ? undefined : text;
}

/** The AI Proxy statistics: `ai.proxy` since 3.8, keyed by plugin name before. */
function aiBlock(entry: KongLogEntry): { block: KongAiBlock; path: string } | undefined {
  for (const key of ['proxy', 'ai-proxy', 'ai-proxy-advanced'] as const) {
    const block = entry.ai?.[key];
    if (block && (block.usage || block.meta)) return { block, path: `ai.${key}` };
  }
  return undefined;
}

/** Kong's statistics do not say the route type; the OpenAI-style path the request went to does. */
function operationOf(path: string): 'chat' | 'embedding' | 'image' | 'audio' {
  if (/\/embeddings(?:$|[/?])/.test(path)) return 'embedding';
  if (/\/images\//.test(path)) return 'image';
  if (/\/audio\//.test(path)) return 'audio';
  return 'chat';
}

function setTokens(draft: EventDraft, block: KongAiBlock, path: string): void {
  const usage = block.usage;
  const [prompt, promptField] = firstOf(usage, ['prompt_tokens', 'prompt_token', 'input_tokens']);
  const [completion, completionField] = firstOf(usage, ['completion_tokens', 'completion_token', 'output_tokens']);
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;
  draft
    .set('input_tokens', totalInputTokens(prompt, cacheRead, 0), `${path}.${promptField}`)
    .set('output_tokens', totalOutputTokens(completion, reasoning), `${path}.${completionField}`)
    .set('cache_read_tokens', cacheRead, `${path}.prompt_tokens_details.cached_tokens`)
    .set('reasoning_tokens', reasoning, `${path}.completion_tokens_details.reasoning_tokens`)
    .set('input_audio_tokens', usage?.prompt_tokens_details?.audio_tokens ?? 0, `${path}.prompt_tokens_details.audio_tokens`)
    .set('output_audio_tokens', usage?.completion_tokens_details?.audio_tokens ?? 0, `${path}.completion_tokens_details.audio_tokens`);
}

type CountField = 'prompt_tokens' | 'prompt_token' | 'input_tokens' | 'completion_tokens' | 'completion_token' | 'output_tokens';

function firstOf(usage: KongAiBlock['usage'], fields: readonly CountField[]): [number, CountField] {
  for (const field of fields) {
    const count = usage?.[field];
    if (typeof count === 'number') return [count, field];
  }
  return [0, fields[0]!];
}

function setOwner(draft: EventDraft, entry: KongLogEntry, { block, path }: { block: KongAiBlock; path: string }, defaults: CallbackDefaults): void {
  const operator = entry.spendline;
  // The operator's custom fields are Kong's own knowledge; request headers are the client's claim.
  for (const dimension of NAMED_DIMENSIONS) draft.set(dimension, present(operator?.[dimension]), `spendline.${dimension}`);
  const headers = entry.request?.headers;
  applySpendlineHeaders(draft, headers, 'request.headers');
  draft.set('api_key_id', present(entry.authenticated_entity?.id), 'authenticated_entity.id');
  draft.set('environment', defaults.environment, 'environment (query parameter)');
  draft.set('gateway_id', present(operator?.gateway_id) ?? defaults.gatewayId, 'spendline.gateway_id');
  // Where a dimension the attribution policy requires would have come from.
  for (const dimension of NAMED_DIMENSIONS) draft.source(dimension, `spendline.${dimension}`);

  const traceparent = headers?.['traceparent'];
  const trace = TRACEPARENT.exec((Array.isArray(traceparent) ? traceparent[0] : traceparent)?.trim().toLowerCase() ?? '');
  if (trace && !/^0+$/.test(trace[1]!)) draft.set('trace_id', trace[1], 'request.headers.traceparent');

  const consumer = entry.consumer;
  draft.tag('kong.consumer', present(consumer?.username) ?? present(consumer?.custom_id) ?? present(consumer?.id), 'consumer');
  draft.tag('kong.route', present(entry.route?.name) ?? present(entry.route?.id), 'route');
  draft.tag('kong.service', present(entry.service?.name) ?? present(entry.service?.id), 'service');
  draft.tag('kong.workspace', present(entry.workspace_name), 'workspace_name');
  draft.tag('kong.cache_status', present(block.cache?.cache_status), `${path}.cache.cache_status`);
  for (const [key, value] of Object.entries(operator?.tags ?? {})) draft.tag(key, tagText(value), `spendline.tags.${key}`);
}

export const kongAdapter: CallbackAdapter = { name: 'kong', itemName: 'a Kong log entry', map: kongUsageEvent };
