import { describe, expect, it } from 'vitest';
import { modelIdentity } from '../../../services/exports/model-identity.ts';

describe('modelIdentity', () => {
  it.each<[string, string, string, string | null]>([
    ['openai', 'gpt-4o-mini', 'OpenAI', null],
    ['openai', 'gpt-4o-2024-08-06', 'OpenAI', '2024-08-06'],
    ['azure', 'gpt-4.1-mini', 'OpenAI', null],
    ['openai', 'o3-mini', 'OpenAI', null],
    ['anthropic', 'claude-3-5-sonnet-20241022', 'Anthropic', '20241022'],
    ['aws', 'anthropic.claude-3-5-sonnet-20241022-v2:0', 'Anthropic', '20241022-v2:0'],
    ['aws', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 'Anthropic', '20250514-v1:0'],
    ['google', 'claude-3-5-sonnet@20241022', 'Anthropic', '20241022'],
    ['google', 'gemini-2.5-pro', 'Google', null],
    ['groq', 'llama-3.3-70b-versatile', 'Meta', null],
    ['together', 'meta-llama/Llama-3.3-70B-Instruct-Turbo', 'Meta', null],
    ['aws', 'meta.llama3-70b-instruct-v1:0', 'Meta', null],
    ['mistral', 'mistral-large-latest', 'Mistral AI', null],
    ['cohere', 'command-r-plus', 'Cohere', null],
    ['deepseek', 'deepseek-chat', 'DeepSeek', null],
    ['x-ai', 'grok-4', 'xAI', null],
    ['self-hosted', 'house-model-7b', 'self-hosted', null],
  ])('%s %s: made by %s, version %s', (provider, model, developer, version) => {
    expect(modelIdentity(provider, model)).toEqual({ developer, id: model, version });
  });
});
