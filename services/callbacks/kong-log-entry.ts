import { z } from 'zod';
import { finiteNumber, optionalText, tokenCount } from './payload-fields.ts';

/**
 * A Kong Gateway log entry (kong.log.serialize()) as the http-log plugin posts
 * it: one JSON object per request, or a JSON array of them when the plugin's
 * queue batches (queue.max_batch_size > 1). Requests proxied by the AI Proxy
 * (or AI Proxy Advanced) plugin with `logging.log_statistics` carry an `ai`
 * block (kong/llm/plugin/shared-filters/serialize-analytics.lua):
 * `ai.proxy.usage` and `ai.proxy.meta` since Kong 3.8, `ai["ai-proxy"]` in 3.6
 * and 3.7. Only the fields Spendline reads are declared.
 */

const kongUsage = z.looseObject({
  prompt_tokens: tokenCount,
  completion_tokens: tokenCount,
  total_tokens: tokenCount,
  /** Kong 3.6 wrote the singular names. */
  prompt_token: tokenCount,
  completion_token: tokenCount,
  /** Kong 3.11+: image and audio calls count input and output tokens here instead. */
  input_tokens: tokenCount,
  output_tokens: tokenCount,
  /** Kong 3.11+ breakdowns, OpenAI's names. */
  prompt_tokens_details: z.looseObject({ cached_tokens: tokenCount, audio_tokens: tokenCount }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: tokenCount, audio_tokens: tokenCount }).nullish(),
  /** USD from the plugin's configured input_cost/output_cost per million tokens; 0 when none is configured. */
  cost: finiteNumber.nullish(),
});

const kongMeta = z.looseObject({
  /** config.model.provider of the plugin: openai, azure, anthropic, cohere, mistral, llama2, gemini, bedrock, huggingface, … */
  provider_name: optionalText,
  request_model: optionalText,
  /** The model the provider's answer names (Kong falls back to request_model). */
  response_model: optionalText,
  plugin_id: optionalText,
  /** Milliseconds the provider took for the whole answer (3.8+). */
  llm_latency: finiteNumber.nullish(),
});

export const kongAiBlock = z.looseObject({
  usage: kongUsage.nullish(),
  meta: kongMeta.nullish(),
  /** AI Semantic Cache: "Hit" means the answer came from the cache, not the provider. */
  cache: z.looseObject({ cache_status: optionalText }).nullish(),
});
export type KongAiBlock = z.infer<typeof kongAiBlock>;

const header = z.union([z.string(), z.array(z.string())], { message: 'must be a string or a list of strings (a repeated header)' });
const named = z.looseObject({ id: optionalText, name: optionalText }).nullish();

export const kongLogEntry = z.looseObject({
  request: z
    .looseObject({
      /** Kong's request id (also the X-Kong-Request-Id response header), 3.5+. */
      id: optionalText,
      uri: optionalText,
      headers: z.record(z.string(), header).nullish(),
    })
    .nullish(),
  response: z.looseObject({ status: z.number().int().nullish() }).nullish(),
  upstream_uri: optionalText,
  /** Milliseconds since the epoch when Kong received the request. */
  started_at: finiteNumber,
  latencies: z.looseObject({ proxy: finiteNumber.nullish(), request: finiteNumber.nullish() }).nullish(),
  /** The credential that authenticated the request (a key-auth key's id): never the secret. */
  authenticated_entity: z.looseObject({ id: optionalText }).nullish(),
  consumer: z.looseObject({ id: optionalText, username: optionalText, custom_id: optionalText }).nullish(),
  route: named,
  service: named,
  workspace_name: optionalText,
  ai: z.looseObject({ proxy: kongAiBlock.nullish(), 'ai-proxy': kongAiBlock.nullish(), 'ai-proxy-advanced': kongAiBlock.nullish() }).nullish(),
  /**
   * What the operator adds with the plugin's custom_fields_by_lua, e.g.
   * `spendline.team: return kong.client.get_consumer().custom_id`: Spendline
   * dimensions by name, gateway_id, and free tags.
   */
  spendline: z
    .looseObject({
      tenant_id: optionalText,
      cost_center: optionalText,
      team: optionalText,
      feature: optionalText,
      environment: optionalText,
      user_id: optionalText,
      session_id: optionalText,
      agent_run_id: optionalText,
      gateway_id: optionalText,
      tags: z.record(z.string(), z.unknown()).nullish(),
    })
    .nullish(),
});
export type KongLogEntry = z.infer<typeof kongLogEntry>;
