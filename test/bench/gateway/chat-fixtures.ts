/**
 * What bench:gateway sends and what its mock upstream answers: one OpenAI
 * chat completion of ordinary size, non-streaming (a JSON body with usage)
 * and streaming (a few content chunks, the usage chunk, [DONE]).
 */

export const SERVED_MODEL = 'gpt-4o-mini-2024-07-18';

/** Usage the mock reports: what the gateway reads and prices from. */
export const CHAT_USAGE = {
  prompt_tokens: 412,
  completion_tokens: 57,
  total_tokens: 469,
  prompt_tokens_details: { cached_tokens: 256, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
};

/**
 * The caller's request. A streamed one does not set stream_options, as most
 * SDKs do not: the gateway then re-serializes the body to ask for usage
 * (its costlier path).
 */
export function chatRequest(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a support assistant for an online bookshop. Answer briefly and cite the order number when there is one.' },
      { role: 'user', content: 'Hello, my order 55-1207 was marked as delivered yesterday but nothing arrived. Can you check where it is and what I can do?' },
    ],
    temperature: 0.2,
    max_tokens: 256,
    ...(stream ? { stream: true } : {}),
  });
}

/** Headers of every call: the gateway key and edge attribution the gateway parses. */
export function chatHeaders(key: string): Record<string, string> {
  return {
    authorization: `Bearer ${key}`,
    'content-type': 'application/json',
    'x-spendline-feature': 'order-support',
    'x-spendline-session': 'sess-bench-1',
    'x-spendline-tags': 'release=2026.11, experiment=b',
  };
}

export const CHAT_RESPONSE = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_795_000_000,
  model: SERVED_MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'Sorry about that. Order 55-1207 was left at the front desk of your building; ask the concierge, or reply here and we will send a replacement.' }, finish_reason: 'stop' }],
  usage: CHAT_USAGE,
  system_fingerprint: 'fp_bench',
});

const chunk = (delta: Record<string, unknown>, finish: string | null) => ({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_795_000_000, model: SERVED_MODEL, choices: [{ index: 0, delta, finish_reason: finish }] });

/** The stream, one server-sent event per write. */
export const CHAT_STREAM: readonly string[] = [
  chunk({ role: 'assistant', content: '' }, null),
  chunk({ content: 'Sorry about that. Order 55-1207 was left ' }, null),
  chunk({ content: 'at the front desk of your building; ask the concierge, ' }, null),
  chunk({ content: 'or reply here and we will send a replacement.' }, null),
  chunk({}, 'stop'),
  { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_795_000_000, model: SERVED_MODEL, choices: [], usage: CHAT_USAGE },
  '[DONE]',
].map((event) => `data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`);
