/**
 * Gateways report prompt and completion totals without saying whether the
 * cache and reasoning parts are inside them, and the answer changed between
 * releases: LiteLLM's Anthropic usage added cache reads and writes to
 * prompt_tokens (current releases), or only the reads (some 1.6x releases);
 * Kong's Anthropic driver reports Anthropic's raw input_tokens (neither). Usage
 * events count the parts inside the totals (OpenAI / OpenTelemetry convention).
 *
 * The convention is inferred only where the numbers prove it: parts larger than
 * the total cannot be inside it. Numbers consistent with parts inside the total
 * are read that way, which is what every current release does.
 */

/** All input tokens, given a prompt total and its cache parts. */
export function totalInputTokens(prompt: number, cacheRead: number, cacheWrite: number): number {
  // Reads and writes both fit: they are inside the total.
  if (cacheRead + cacheWrite <= prompt) return prompt;
  // The reads fit but reads and writes do not: the writes were left out (LiteLLM's reads-only releases).
  if (cacheRead <= prompt) return prompt + cacheWrite;
  // Not even the reads fit: the total is Anthropic's uncached input_tokens.
  return prompt + cacheRead + cacheWrite;
}

/** All output tokens, given a completion total and its reasoning part. */
export function totalOutputTokens(completion: number, reasoning: number): number {
  // More reasoning than completion: the total left it out (Gemini's candidatesTokenCount excludes its thoughts; a gateway passing it on unchanged does too).
  return reasoning <= completion ? completion : completion + reasoning;
}
