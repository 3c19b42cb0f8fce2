import { z } from 'zod';
import { finiteNumber, optionalText, tokenCount } from './payload-fields.ts';

/**
 * LiteLLM's StandardLoggingPayload (litellm/types/utils.py), the object its
 * generic API logger (callback_type generic_api, or GENERIC_LOGGER_ENDPOINT)
 * posts for every successful and failed call: one per request (log_format
 * "single"), a JSON array of them (the default "json_array", up to its batch
 * size of 512), or one per line ("ndjson"). Only the fields Spendline reads are
 * declared; the rest (messages, response content, model_map_information,
 * guardrail information, fields of later LiteLLM versions) pass unread.
 */

/** LiteLLM's Usage object (OpenAI's shape plus Anthropic's cache fields), as it dumps it into metadata.usage_object. */
export const liteLlmUsage = z.looseObject({
  /** All prompt tokens. LiteLLM makes Anthropic's cache reads and writes part of it (see mapping). */
  prompt_tokens: tokenCount,
  /** All generated tokens, reasoning included. */
  completion_tokens: tokenCount,
  total_tokens: tokenCount,
  prompt_tokens_details: z
    .looseObject({
      cached_tokens: tokenCount,
      /** LiteLLM's name for Anthropic's cache_creation_input_tokens inside the details. */
      cache_creation_tokens: tokenCount,
      /** Anthropic's raw input_tokens (tokens neither read from nor written to the cache), where LiteLLM sets it. */
      text_tokens: tokenCount,
      audio_tokens: tokenCount,
    })
    .nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: tokenCount, audio_tokens: tokenCount }).nullish(),
  cache_read_input_tokens: tokenCount,
  cache_creation_input_tokens: tokenCount,
});
export type LiteLlmUsage = z.infer<typeof liteLlmUsage>;

const liteLlmMetadata = z.looseObject({
  /** SHA-256 of the LiteLLM virtual key: an id, never the secret. */
  user_api_key_hash: optionalText,
  user_api_key_alias: optionalText,
  user_api_key_team_id: optionalText,
  user_api_key_team_alias: optionalText,
  user_api_key_user_id: optionalText,
  user_api_key_org_id: optionalText,
  user_api_key_end_user_id: optionalText,
  /** Key/value pairs a request (or its key) attaches for spend logs: where Spendline dimensions can be set by name. */
  spend_logs_metadata: z.record(z.string(), z.unknown()).nullish(),
  /** The client's `x-` headers, where LiteLLM logs them: `x-spendline-*` attribute the call as they do at Spendline's gateway. */
  requester_custom_headers: z.record(z.string(), z.unknown()).nullish(),
  usage_object: liteLlmUsage.nullish(),
});

export const liteLlmPayload = z.looseObject({
  /** The provider's response id, or LiteLLM's call id when there is no response (failures). */
  id: z.string().min(1, 'must not be empty'),
  /**
   * LiteLLM's own id of the call (a UUID, also sent to the client as
   * x-litellm-call-id). Releases name it differently: `litellm_call_id` in
   * current ones, `call_id` in others (litellm/types/utils.py
   * StandardLoggingPayload), none before either; the generic API logger posts
   * the payload as it is built. Both are read, litellm_call_id first.
   */
  litellm_call_id: optionalText,
  call_id: optionalText,
  /** LiteLLM's id grouping the retries and fallbacks of one request (a UUID, not a W3C trace id). */
  trace_id: optionalText,
  call_type: optionalText,
  stream: z.boolean().nullish(),
  status: z.enum(['success', 'failure'], { message: 'must be "success" or "failure"' }).nullish(),
  /** USD, as a JSON number. */
  response_cost: finiteNumber.nullish(),
  /** Set when LiteLLM could not price the call: then response_cost is a placeholder 0. */
  response_cost_failure_debug_info: z.unknown().optional(),
  custom_llm_provider: optionalText,
  prompt_tokens: tokenCount,
  completion_tokens: tokenCount,
  total_tokens: tokenCount,
  /** Seconds since the epoch (Python time floats). */
  startTime: finiteNumber,
  endTime: finiteNumber.nullish(),
  /** First token for a streamed call; equal to endTime otherwise. */
  completionStartTime: finiteNumber.nullish(),
  /** The model as the request named it for the provider (no router alias). */
  model: z.string(),
  model_group: optionalText,
  metadata: liteLlmMetadata.nullish(),
  cache_hit: z.boolean().nullish(),
  request_tags: z.array(z.string()).nullish(),
  end_user: optionalText,
  error_str: optionalText,
  error_information: z
    .looseObject({
      error_code: z.union([z.string(), z.number()]).nullish(),
      error_class: optionalText,
      llm_provider: optionalText,
    })
    .nullish(),
  hidden_params: z.looseObject({ litellm_model_name: optionalText, usage_object: liteLlmUsage.nullish() }).nullish(),
  /** The response LiteLLM returned (content may be redacted); Spendline reads only its `model` and `usage`. */
  response: z.unknown().optional(),
});
export type LiteLlmPayload = z.infer<typeof liteLlmPayload>;
