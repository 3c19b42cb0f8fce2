import { createHash } from 'node:crypto';
import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS } from '@spendline/emitter/usage-event';
import type { CallbackAdapter, CallbackDefaults } from './callback-batch.ts';
import { applySpendlineHeaders, NAMED_DIMENSIONS, splitTag, tagText } from './callback-attribution.ts';
import { EventDraft, type ItemMapping } from './event-draft.ts';
import { jsonNumberToDecimal } from './json-number-decimal.ts';
import { liteLlmPayload, liteLlmUsage, type LiteLlmPayload, type LiteLlmUsage } from './litellm-payload.ts';
import { firstCount, present } from './payload-fields.ts';
import { catalogProvider, isKnownProvider } from '../ingest/provider-names.ts';
import { totalInputTokens, totalOutputTokens } from './token-conventions.ts';

const OPERATIONS: Readonly<Record<string, 'chat' | 'embedding' | 'image' | 'audio'>> = {
  completion: 'chat',
  acompletion: 'chat',
  text_completion: 'chat',
  atext_completion: 'chat',
  anthropic_messages: 'chat',
  responses: 'chat',
  aresponses: 'chat',
  generate_content: 'chat',
  agenerate_content: 'chat',
  embedding: 'embedding',
  aembedding: 'embedding',
  image_generation: 'image',
  aimage_generation: 'image',
  image_edit: 'image',
  aimage_edit: 'image',
  transcription: 'audio',
  atranscription: 'audio',
  speech: 'audio',
  aspeech: 'audio',
};

/**
 * One LiteLLM standard logging payload as a usage event (JSON form). Exact
 * rules, each documented in docs/sending-usage.md (LiteLLM):
 * - event_id: `<call id>@<startTime>`, one per attempt, the same when a
 *   payload is sent again (the call id is `litellm_call_id`, else `call_id` as
 *   some releases name it, else `id` in releases without either); no trace or
 *   span id (LiteLLM's trace_id is its own UUID, not a W3C id);
 * - tokens from the usage object LiteLLM logged, parts inside totals, a cache
 *   hit of LiteLLM's own cache as zero tokens (no provider was called);
 * - `response_cost` as reported_cost, exact, unless LiteLLM says it could not price;
 * - owner: the virtual key (hash as api_key_id, team alias or id as team) wins,
 *   then `metadata.spend_logs_metadata.<dimension>`, then `x-spendline-*`
 *   headers, then LiteLLM's end user; free tags from request_tags.
 */
export function liteLlmUsageEvent(item: unknown, defaults: CallbackDefaults): ItemMapping {
  if (item === null) return invalid('', 'is null: LiteLLM logged no standard logging payload for this call');
  if (typeof item !== 'object' || Array.isArray(item)) return invalid('', 'must be a LiteLLM standard logging payload (a JSON object)');
  if (typeof (item as Record<string, unknown>)['startTime'] === 'string' && 'cost' in item) {
    return invalid('', "is LiteLLM's legacy generic API payload (litellm.generic_api_use_v1); Spendline reads the standard logging payload: unset generic_api_use_v1");
  }
  const checked = validate(liteLlmPayload, item);
  if (!checked.ok) return { kind: 'invalid', issues: checked.issues };
  const payload = checked.value;
  const draft = new EventDraft();

  const callId = callIdOf(payload);
  draft.set('event_id', attemptId(callId?.id ?? payload.id, payload.startTime), callId?.source ?? 'id');

  const startMs = Math.round(payload.startTime * 1000);
  if (!(startMs >= EVENT_LIMITS.minOccurredAtMs && startMs < EVENT_LIMITS.maxOccurredAtMs)) {
    return invalid('startTime', `must be seconds since the epoch between 2015 and 2100 (got ${payload.startTime}; milliseconds?)`);
  }
  draft.set('occurred_at', new Date(startMs).toISOString(), 'startTime');
  if (typeof payload.endTime === 'number') {
    draft.set('latency_ms', Math.round(payload.endTime * 1000) - startMs, 'endTime');
    const firstToken = payload.completionStartTime;
    // LiteLLM sets completionStartTime to endTime when nothing was streamed.
    if (typeof firstToken === 'number' && (payload.stream === true || firstToken < payload.endTime)) {
      draft.set('ttft_ms', Math.round(firstToken * 1000) - startMs, 'completionStartTime');
    }
  }

  const provider = providerOf(payload);
  if (provider) draft.set('provider', catalogProvider('litellm', provider.name), provider.source);
  else draft.source('provider', 'custom_llm_provider');
  const model = modelOf(payload, provider?.name);
  if (model) draft.set('model', model.name, model.source);
  else draft.source('model', 'model');
  const callType = present(payload.call_type);
  draft.set('operation', callType === undefined ? 'chat' : Object.hasOwn(OPERATIONS, callType) ? OPERATIONS[callType] : 'other', 'call_type');

  const failed = (payload.status ?? (present(payload.error_str) ? 'failure' : 'success')) === 'failure';
  draft.set('status', failed ? 'error' : 'ok', 'status');
  if (failed) {
    const info = payload.error_information;
    const code = typeof info?.error_code === 'number' ? String(info.error_code) : present(info?.error_code);
    if (code) draft.set('error_code', code, 'error_information.error_code');
    else draft.set('error_code', present(info?.error_class), 'error_information.error_class');
  }

  if (payload.cache_hit === true) {
    // Served from LiteLLM's response cache: no provider saw a token.
    draft.set('input_tokens', 0, 'cache_hit').set('output_tokens', 0, 'cache_hit');
  } else {
    const tokens = usageOf(payload);
    if (!tokens.ok) return { kind: 'invalid', issues: tokens.issues };
    setTokens(draft, payload, tokens.usage, tokens.path);
  }

  if (payload.response_cost_failure_debug_info === null || payload.response_cost_failure_debug_info === undefined) {
    const cost = typeof payload.response_cost === 'number' ? jsonNumberToDecimal(payload.response_cost) : null;
    draft.set('reported_cost', cost, 'response_cost');
  }

  setOwner(draft, payload, defaults);
  return draft.build();
}

/**
 * The identity of one attempt. LiteLLM's proxy gives every retry and fallback of
 * a request the same call id and logs each attempt (a failed one, then the one
 * that answered and cost money): the call id alone would store the first and
 * drop the rest as copies. The attempt's start time, as LiteLLM wrote it,
 * tells attempts apart and is the same in a payload sent again. An id too long
 * for an event_id is replaced by its digest, as deterministic.
 */
export function attemptId(callId: string, startTime: number): string {
  const id = `${callId}@${String(startTime)}`;
  return id.length <= EVENT_LIMITS.maxIdLength ? id : `litellm-${createHash('sha256').update(id).digest('hex')}`;
}

/** LiteLLM's call id, under whichever name the payload's release gave it. */
function callIdOf(payload: LiteLlmPayload): { id: string; source: 'litellm_call_id' | 'call_id' } | undefined {
  const current = present(payload.litellm_call_id);
  if (current) return { id: current, source: 'litellm_call_id' };
  const other = present(payload.call_id);
  return other ? { id: other, source: 'call_id' } : undefined;
}

function invalid(path: string, message: string): ItemMapping {
  return { kind: 'invalid', issues: [{ path, message }] };
}

function providerOf(payload: LiteLlmPayload): { name: string; source: string } | undefined {
  const named = present(payload.custom_llm_provider);
  if (named) return { name: named, source: 'custom_llm_provider' };
  // Failures before a deployment answered may lack it; the error or the "provider/model" name still tell.
  const failing = present(payload.error_information?.llm_provider);
  if (failing) return { name: failing, source: 'error_information.llm_provider' };
  const prefix = payload.model.split('/', 1)[0]!;
  return payload.model.includes('/') && isKnownProvider('litellm', prefix) ? { name: prefix, source: 'model' } : undefined;
}

/** The served model: the provider's answer names it (a dated snapshot, the real model behind an Azure deployment), else the request's. */
function modelOf(payload: LiteLlmPayload, provider: string | undefined): { name: string; source: string } | undefined {
  const response = payload.response;
  const served = typeof response === 'object' && response !== null && !Array.isArray(response) ? (response as Record<string, unknown>)['model'] : undefined;
  const chosen = typeof served === 'string' && present(served) ? { name: served.trim(), source: 'response.model' } : present(payload.model) ? { name: payload.model.trim(), source: 'model' } : undefined;
  if (!chosen) return undefined;
  // LiteLLM's "bedrock/us.anthropic.claude-…" or "openai/gpt-4o": the provider is a field of its own.
  const slash = chosen.name.indexOf('/');
  const prefix = slash > 0 ? chosen.name.slice(0, slash) : '';
  return prefix && (prefix === provider || isKnownProvider('litellm', prefix)) ? { ...chosen, name: chosen.name.slice(slash + 1) } : chosen;
}

type UsageRead = { ok: true; usage: LiteLlmUsage | undefined; path: string } | { ok: false; issues: FieldIssue[] };

/** The usage object LiteLLM logged: metadata.usage_object (recent releases), hidden_params.usage_object, or the response's own. */
function usageOf(payload: LiteLlmPayload): UsageRead {
  if (payload.metadata?.usage_object) return { ok: true, usage: payload.metadata.usage_object, path: 'metadata.usage_object' };
  if (payload.hidden_params?.usage_object) return { ok: true, usage: payload.hidden_params.usage_object, path: 'hidden_params.usage_object' };
  const response = payload.response;
  const usage = typeof response === 'object' && response !== null ? (response as Record<string, unknown>)['usage'] : undefined;
  if (typeof usage !== 'object' || usage === null) return { ok: true, usage: undefined, path: '' };
  const read = validate(liteLlmUsage, usage, ['response', 'usage']);
  return read.ok ? { ok: true, usage: read.value, path: 'response.usage' } : { ok: false, issues: read.issues };
}

function setTokens(draft: EventDraft, payload: LiteLlmPayload, usage: LiteLlmUsage | undefined, path: string): void {
  const at = (field: string) => (path === '' ? field : `${path}.${field}`);
  const promptFromUsage = usage?.prompt_tokens ?? null;
  const prompt = firstCount(promptFromUsage, payload.prompt_tokens) ?? 0;
  const promptSource = typeof promptFromUsage === 'number' ? at('prompt_tokens') : 'prompt_tokens';
  const completionFromUsage = usage?.completion_tokens ?? null;
  const completion = firstCount(completionFromUsage, payload.completion_tokens) ?? 0;
  const completionSource = typeof completionFromUsage === 'number' ? at('completion_tokens') : 'completion_tokens';

  const details = usage?.prompt_tokens_details;
  const cacheRead = firstCount(details?.cached_tokens, usage?.cache_read_input_tokens) ?? 0;
  const cacheReadSource = typeof details?.cached_tokens === 'number' ? at('prompt_tokens_details.cached_tokens') : at('cache_read_input_tokens');
  const cacheWrite = firstCount(usage?.cache_creation_input_tokens, details?.cache_creation_tokens) ?? 0;
  const cacheWriteSource = typeof usage?.cache_creation_input_tokens === 'number' ? at('cache_creation_input_tokens') : at('prompt_tokens_details.cache_creation_tokens');
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens ?? 0;

  draft
    .set('input_tokens', totalInputTokens(prompt, cacheRead, cacheWrite), promptSource)
    .set('output_tokens', totalOutputTokens(completion, reasoning), completionSource)
    .set('cache_read_tokens', cacheRead, cacheReadSource)
    .set('cache_write_tokens', cacheWrite, cacheWriteSource)
    .set('reasoning_tokens', reasoning, at('completion_tokens_details.reasoning_tokens'))
    .set('input_audio_tokens', details?.audio_tokens ?? 0, at('prompt_tokens_details.audio_tokens'))
    .set('output_audio_tokens', usage?.completion_tokens_details?.audio_tokens ?? 0, at('completion_tokens_details.audio_tokens'));
}

function setOwner(draft: EventDraft, payload: LiteLlmPayload, defaults: CallbackDefaults): void {
  const metadata = payload.metadata;
  // The virtual key is LiteLLM's own knowledge of who called: it wins over what the request claims.
  const keyHash = present(metadata?.user_api_key_hash);
  draft.set('api_key_id', keyHash ?? present(metadata?.user_api_key_alias), keyHash ? 'metadata.user_api_key_hash' : 'metadata.user_api_key_alias');
  const teamAlias = present(metadata?.user_api_key_team_alias);
  draft.set('team', teamAlias ?? present(metadata?.user_api_key_team_id), teamAlias ? 'metadata.user_api_key_team_alias' : 'metadata.user_api_key_team_id');

  const spendLogs = metadata?.spend_logs_metadata ?? {};
  for (const dimension of NAMED_DIMENSIONS) {
    const value = spendLogs[dimension];
    if (typeof value === 'string') draft.set(dimension, present(value), `metadata.spend_logs_metadata.${dimension}`);
  }
  applySpendlineHeaders(draft, metadata?.requester_custom_headers, 'metadata.requester_custom_headers');
  const endUser = present(payload.end_user);
  draft.set('user_id', endUser ?? present(metadata?.user_api_key_end_user_id), endUser ? 'end_user' : 'metadata.user_api_key_end_user_id');
  draft.set('environment', defaults.environment, 'environment (query parameter)');
  draft.set('gateway_id', defaults.gatewayId, 'gateway_id (query parameter)');
  // Where a dimension the attribution policy requires would have come from.
  draft.source('team', 'metadata.user_api_key_team_alias');
  for (const dimension of NAMED_DIMENSIONS) draft.source(dimension, `metadata.spend_logs_metadata.${dimension}`);

  // What LiteLLM knows beyond the dimensions, as tags the attribution policy's rules can read. Not its
  // internal user id: LiteLLM's UI users are e-mail addresses, and Spendline stores no personal data.
  const callId = callIdOf(payload);
  draft.tag('litellm.call_id', callId?.id, callId?.source ?? 'litellm_call_id');
  draft.tag('litellm.key_alias', present(metadata?.user_api_key_alias), 'metadata.user_api_key_alias');
  if (teamAlias) draft.tag('litellm.team_id', present(metadata?.user_api_key_team_id), 'metadata.user_api_key_team_id');
  draft.tag('litellm.org_id', present(metadata?.user_api_key_org_id), 'metadata.user_api_key_org_id');
  draft.tag('litellm.model_group', present(payload.model_group), 'model_group');
  draft.tag('litellm.trace_id', present(payload.trace_id), 'trace_id');
  draft.tag('litellm.call_type', present(payload.call_type), 'call_type');
  if (payload.cache_hit === true) draft.tag('litellm.cache_hit', 'true', 'cache_hit');
  for (const [key, value] of Object.entries(spendLogs)) {
    if (!(NAMED_DIMENSIONS as readonly string[]).includes(key)) draft.tag(key, tagText(value), `metadata.spend_logs_metadata.${key}`);
  }
  (payload.request_tags ?? []).forEach((text, index) => {
    const tag = splitTag(text);
    if (tag) draft.tag(tag[0], tag[1], `request_tags[${index}]`);
  });
}

export const liteLlmAdapter: CallbackAdapter = { name: 'litellm', itemName: 'a LiteLLM standard logging payload', map: liteLlmUsageEvent };
