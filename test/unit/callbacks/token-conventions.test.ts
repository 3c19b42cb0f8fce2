import { describe, expect, it } from 'vitest';
import { totalInputTokens, totalOutputTokens } from '../../../services/callbacks/token-conventions.ts';

describe('totalInputTokens', () => {
  it.each([
    // OpenAI and current LiteLLM: the parts are inside prompt_tokens.
    ['OpenAI cached tokens', 1830, 1024, 0, 1830],
    ['LiteLLM Anthropic, reads and writes inside (current releases)', 98_807, 66_360, 32_435, 98_807],
    ['no cache at all', 500, 0, 0, 500],
    ['everything cached', 4096, 4096, 0, 4096],
    // LiteLLM releases that added only the reads: the writes cannot fit.
    ['LiteLLM reads-only release', 66_372, 66_360, 32_435, 98_807],
    // Anthropic's raw input_tokens: not even the reads fit.
    ["Anthropic's own input_tokens", 12, 66_360, 32_435, 98_807],
    ["Anthropic's own input_tokens, reads only", 3, 2_000, 0, 2_003],
  ])('%s', (_what, prompt, read, write, total) => {
    expect(totalInputTokens(prompt, read, write)).toBe(total);
  });
});

describe('totalOutputTokens', () => {
  it.each([
    ['reasoning inside completion_tokens (OpenAI, LiteLLM)', 900, 640, 900],
    ['no reasoning', 212, 0, 212],
    ['all reasoning', 640, 640, 640],
    ["reasoning outside (Gemini's candidatesTokenCount)", 300, 1_200, 1_500],
  ])('%s', (_what, completion, reasoning, total) => {
    expect(totalOutputTokens(completion, reasoning)).toBe(total);
  });
});
