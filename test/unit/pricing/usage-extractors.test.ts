import { describe, expect, it } from 'vitest';
import type { TokenUsage } from '../../../services/pricing/cost-calculation.ts';
import type { CatalogProvider } from '../../../services/pricing/price-catalog.ts';
import { extractUsage } from '../../../services/pricing/usage-extractors.ts';
import { catalog } from '../../support/pricing.ts';

function provider(id: string): CatalogProvider {
  const found = catalog.providerById(id);
  if (!found.ok) throw new Error(found.reason);
  return found.value;
}

const AUDIO = (tokenCount: number) => ({ modality: 'AUDIO', tokenCount });
const TEXT = (tokenCount: number) => ({ modality: 'TEXT', tokenCount });

describe('extraction per provider and flavour', () => {
  it.each<[string, string, string | undefined, unknown, TokenUsage, string | null]>([
    [
      // input_tokens = 10 + cache_creation 5 + cache_read 20 (summed into the same dest)
      'anthropic default sums cache tokens into input',
      'anthropic',
      undefined,
      { model: 'claude-sonnet-4-5', usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 20, output_tokens: 7 } },
      { input_tokens: 35, cache_write_tokens: 5, cache_read_tokens: 20, output_tokens: 7 },
      'claude-sonnet-4-5',
    ],
    ['anthropic default without the optional cache fields', 'anthropic', 'default', { usage: { input_tokens: 10, output_tokens: 7 } }, { input_tokens: 10, output_tokens: 7 }, null],
    [
      'openai chat with nested details',
      'openai',
      'chat',
      {
        model: 'gpt-4o-2024-08-06',
        usage: { prompt_tokens: 1000, completion_tokens: 200, prompt_tokens_details: { cached_tokens: 300, audio_tokens: 0 }, completion_tokens_details: { audio_tokens: 50, reasoning_tokens: 80 } },
      },
      { input_tokens: 1000, cache_read_tokens: 300, input_audio_tokens: 0, output_audio_tokens: 50, output_tokens: 200 },
      'gpt-4o-2024-08-06',
    ],
    [
      'openai responses',
      'openai',
      'responses',
      { model: 'o3', usage: { input_tokens: 900, input_tokens_details: { cached_tokens: 100 }, output_tokens: 40, output_tokens_details: { reasoning_tokens: 30 } } },
      { input_tokens: 900, cache_read_tokens: 100, output_tokens: 40 },
      'o3',
    ],
    [
      // input = promptTokenCount 100 + toolUsePromptTokenCount 20; input audio = 30 (prompt) + 5 (tool use); output = 40 + thoughts 60
      'google default with array-match audio details',
      'google',
      undefined,
      {
        modelVersion: 'gemini-2.5-flash',
        usageMetadata: {
          promptTokenCount: 100,
          toolUsePromptTokenCount: 20,
          cachedContentTokenCount: 50,
          promptTokensDetails: [TEXT(70), AUDIO(30)],
          toolUsePromptTokensDetails: [AUDIO(5)],
          cacheTokensDetails: [TEXT(40), AUDIO(10)],
          candidatesTokenCount: 40,
          candidatesTokensDetails: [TEXT(40)],
          thoughtsTokenCount: 60,
        },
      },
      { input_tokens: 120, cache_read_tokens: 50, cache_audio_read_tokens: 10, input_audio_tokens: 35, output_tokens: 100 },
      'gemini-2.5-flash',
    ],
    [
      // array-match compares case-insensitively; the first matching element is taken
      'google array-match: lower-case modality, first match',
      'google',
      'default',
      { usageMetadata: { promptTokenCount: 10, promptTokensDetails: [{ modality: 'audio', tokenCount: 3 }, AUDIO(4)], candidatesTokensDetails: [{ tokenCount: 9 }, AUDIO(2)] } },
      { input_tokens: 10, input_audio_tokens: 3, output_audio_tokens: 2 },
      null,
    ],
    [
      'aws default (Converse) sums cache reads and writes into input',
      'aws',
      undefined,
      { usage: { inputTokens: 100, cacheReadInputTokens: 30, cacheWriteInputTokens: 10, outputTokens: 5 } },
      { input_tokens: 140, cache_read_tokens: 30, cache_write_tokens: 10, output_tokens: 5 },
      null,
    ],
    ['cohere default reads the nested root usage.billed_units', 'cohere', undefined, { model: 'command-r-plus', usage: { billed_units: { input_tokens: 12, output_tokens: 34 }, tokens: { input_tokens: 99, output_tokens: 99 } } }, { input_tokens: 12, output_tokens: 34 }, 'command-r-plus'],
  ])('%s', (_name, providerId, flavor, body, usage, model) => {
    expect(extractUsage(provider(providerId), body, flavor)).toEqual({ ok: true, usage, model });
  });
});

describe('the body may be the usage object alone', () => {
  it.each<[string, string, string | undefined, unknown, TokenUsage]>([
    ['anthropic usage object', 'anthropic', undefined, { input_tokens: 10, cache_read_input_tokens: 4, output_tokens: 2 }, { input_tokens: 14, cache_read_tokens: 4, output_tokens: 2 }],
    ['openai chat usage object', 'openai', 'chat', { prompt_tokens: 10, completion_tokens: 2 }, { input_tokens: 10, output_tokens: 2 }],
    ['google usageMetadata object', 'google', undefined, { promptTokenCount: 10, candidatesTokenCount: 2 }, { input_tokens: 10, output_tokens: 2 }],
    ['cohere billed_units under its parent', 'cohere', undefined, { billed_units: { input_tokens: 3, output_tokens: 4 } }, { input_tokens: 3, output_tokens: 4 }],
    ['cohere billed_units object', 'cohere', undefined, { input_tokens: 3, output_tokens: 4 }, { input_tokens: 3, output_tokens: 4 }],
  ])('%s', (_name, providerId, flavor, body, usage) => {
    expect(extractUsage(provider(providerId), body, flavor)).toEqual({ ok: true, usage, model: null });
  });
});

describe('missing and invalid values', () => {
  it.each<[string, string, string | undefined, unknown, string]>([
    ['required value missing', 'openai', 'chat', { usage: { prompt_tokens: 10 } }, 'missing value at usage.completion_tokens'],
    ['required value null', 'anthropic', undefined, { usage: { input_tokens: null, output_tokens: 1 } }, 'missing value at usage.input_tokens'],
    ['required value a float', 'openai', 'chat', { usage: { prompt_tokens: 10.5, completion_tokens: 1 } }, 'expected usage.prompt_tokens to be a whole number, got 10.5'],
    ['required value a string', 'openai', 'chat', { usage: { prompt_tokens: '10', completion_tokens: 1 } }, 'expected usage.prompt_tokens to be a whole number, got "10"'],
    ['required value a boolean', 'anthropic', undefined, { usage: { input_tokens: true, output_tokens: 1 } }, 'expected usage.input_tokens to be a whole number, got true'],
    ['required value negative', 'openai', 'chat', { usage: { prompt_tokens: -1, completion_tokens: 1 } }, 'usage.prompt_tokens must not be negative, got -1'],
    ['optional value negative', 'openai', 'chat', { usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: -3 } } }, 'usage.prompt_tokens_details.cached_tokens must not be negative, got -3'],
    ['required value beyond a safe integer', 'anthropic', undefined, { usage: { input_tokens: 2 ** 53, output_tokens: 1 } }, 'expected usage.input_tokens to be a whole number, got 9007199254740992'],
    ['nested root missing', 'cohere', undefined, { usage: { tokens: { input_tokens: 1 } } }, 'missing value at usage.billed_units'],
    ['root not an object', 'anthropic', undefined, { usage: 5 }, 'expected usage to be an object'],
    ['no usage anywhere', 'anthropic', undefined, { id: 'msg_1', model: 'claude-sonnet-4-5' }, 'missing value at usage'],
    ['all-optional extractor finds nothing', 'google', undefined, { usageMetadata: { promptTokensDetails: [TEXT(5)] } }, 'no usage information found at usageMetadata'],
    ['body not an object', 'anthropic', undefined, [1, 2], 'the body must be a JSON object (the provider response or its usage object)'],
    ['body null', 'anthropic', undefined, null, 'the body must be a JSON object (the provider response or its usage object)'],
  ])('%s', (_name, providerId, flavor, body, reason) => {
    expect(extractUsage(provider(providerId), body, flavor)).toEqual({ ok: false, reason });
  });

  it.each<[string, unknown, TokenUsage]>([
    ['missing', {}, { input_tokens: 10, output_tokens: 2 }],
    ['a float', { cached_tokens: 1.5 }, { input_tokens: 10, output_tokens: 2 }],
    ['a string', { cached_tokens: '4' }, { input_tokens: 10, output_tokens: 2 }],
    ['null', { cached_tokens: null }, { input_tokens: 10, output_tokens: 2 }],
    ['present', { cached_tokens: 4 }, { input_tokens: 10, cache_read_tokens: 4, output_tokens: 2 }],
  ])('an optional value that is %s is skipped unless valid', (_name, details, usage) => {
    const body = { usage: { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: details } };
    expect(extractUsage(provider('openai'), body, 'chat')).toEqual({ ok: true, usage, model: null });
  });

  it('skips an optional path whose parent is not an object', () => {
    const body = { usage: { prompt_tokens: 10, completion_tokens: 2, prompt_tokens_details: 7 } };
    expect(extractUsage(provider('openai'), body, 'chat')).toEqual({ ok: true, usage: { input_tokens: 10, output_tokens: 2 }, model: null });
  });
});

describe('flavour, provider and model name', () => {
  it.each([
    ['openai', undefined, 'unknown api_flavor "default" for provider openai; allowed: chat, responses, embeddings'],
    ['openai', 'Chat', 'unknown api_flavor "Chat" for provider openai; allowed: chat, responses, embeddings'],
    ['anthropic', 'responses', 'unknown api_flavor "responses" for provider anthropic; allowed: default, chat'],
  ])('%s with flavour %j is an error listing the flavours', (providerId, flavor, reason) => {
    expect(extractUsage(provider(providerId), { usage: { prompt_tokens: 1, completion_tokens: 1 } }, flavor)).toEqual({ ok: false, reason });
  });

  it.each(['perplexity', 'together', 'voyageai'])('%s has no extractors', (providerId) => {
    expect(extractUsage(provider(providerId), { usage: { prompt_tokens: 1 } })).toEqual({ ok: false, reason: `no usage extraction is defined for provider ${providerId}` });
  });

  it.each<[string, unknown, string | null]>([
    ['a string at model_path', { modelVersion: 'gemini-2.5-flash-001', usageMetadata: { promptTokenCount: 1 } }, 'gemini-2.5-flash-001'],
    ['the default path "model" is not google\'s', { model: 'gemini-2.5-flash', usageMetadata: { promptTokenCount: 1 } }, null],
    ['a number at model_path', { modelVersion: 25, usageMetadata: { promptTokenCount: 1 } }, null],
    ['absent', { usageMetadata: { promptTokenCount: 1 } }, null],
  ])('model name: %s', (_name, body, model) => {
    expect(extractUsage(provider('google'), body)).toEqual({ ok: true, usage: { input_tokens: 1 }, model });
  });
});
