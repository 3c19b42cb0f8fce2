import { describe, expect, it } from 'vitest';
import type { PriceCatalogData } from '../../../services/pricing/catalog/catalog-schema.ts';
import { PriceCatalog, type CatalogProvider, type Lookup } from '../../../services/pricing/price-catalog.ts';
import { catalog } from '../../support/pricing.ts';

function id(lookup: Lookup<CatalogProvider>): string {
  if (!lookup.ok) throw new Error(lookup.reason);
  return lookup.value.id;
}

function provider(providerId: string): CatalogProvider {
  const found = catalog.providerById(providerId);
  if (!found.ok) throw new Error(found.reason);
  return found.value;
}

/** "<provider that owns the model>/<model id>" for a model looked up under `providerId`. */
function model(providerId: string, name: string): string {
  const found = catalog.findModel(provider(providerId), name);
  if (!found.ok) throw new Error(found.reason);
  return `${found.value.providerId}/${found.value.id}`;
}

/** A tiny catalog for order rules the bundled data cannot show. */
function tinyCatalog(providers: Partial<PriceCatalogData['providers'][number]>[]): PriceCatalog {
  return new PriceCatalog({
    format: 'spendline-price-catalog/1',
    version: 'test-1',
    source: { name: 'test', license: 'MIT', sha256: '0', imported_at: '2026-01-01T00:00:00Z' },
    providers: providers.map((p, index) => ({ id: `p${index}`, name: `P${index}`, api_pattern: `https://p${index}\\.example`, models: [], ...p })),
  });
}

describe('providerById: exact id first, then provider_match in file order', () => {
  it.each([
    ['openai', 'openai'],
    ['OpenAI ', 'openai'],
    ['  AWS', 'aws'],
    ['huggingface_cerebras', 'huggingface_cerebras'],
    // aliases through provider_match
    ['bedrock', 'aws'],
    ['amazon-bedrock', 'aws'],
    ['vertex_ai', 'google'],
    ['google-vertex', 'google'],
    ['gemini', 'google'],
    ['xai', 'x-ai'],
    ['XAI', 'x-ai'],
    ['together-ai', 'together'],
    ['mistralai', 'mistral'],
    ['voyage', 'voyageai'],
    // cerebras comes before huggingface_cerebras in the file and its provider_match contains "cerebras"
    ['huggingface-cerebras', 'cerebras'],
  ])('%j → %s', (input, expected) => {
    expect(id(catalog.providerById(input))).toBe(expected);
  });

  it.each(['foobar', 'open-ai', ''])('unknown id %j is an error', (input) => {
    expect(catalog.providerById(input)).toEqual({ ok: false, reason: `no provider ${JSON.stringify(input)} in the price catalog` });
  });

  it('prefers an exact id over an earlier provider whose provider_match accepts it', () => {
    const tiny = tinyCatalog([{ id: 'first', provider_match: { contains: 'second' } }, { id: 'second' }]);
    expect(id(tiny.providerById('second'))).toBe('second');
    expect(id(tiny.providerById('the-second-one'))).toBe('first');
  });
});

describe('providerByUrl: first api_pattern matching at the start of the URL', () => {
  it.each([
    ['https://api.openai.com/v1/chat/completions', 'openai'],
    ['https://x.openai.azure.com/openai/deployments/gpt-4o', 'azure'],
    ['x.openai.azure.com/openai', 'azure'],
    ['https://generativelanguage.googleapis.com/v1beta/models', 'google'],
    ['https://router.huggingface.co/cerebras/v1', 'huggingface_cerebras'],
    ['https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse', 'aws'],
    ['https://api.anthropic.com/v1/messages', 'anthropic'],
  ])('%s → %s', (url, expected) => {
    expect(id(catalog.providerByUrl(url))).toBe(expected);
  });

  it.each(['http://proxy.example/https://api.openai.com/v1', 'https://example.com/api.anthropic.com', 'ftp://api.openai.com'])('%s matches no provider (anchored)', (url) => {
    expect(catalog.providerByUrl(url)).toEqual({ ok: false, reason: `no provider in the price catalog serves ${url}` });
  });
});

describe('providerByModel: first provider whose model_match accepts the lower-cased name', () => {
  it.each([
    ['claude-sonnet-4-5', 'anthropic'],
    ['Claude-3-Opus', 'anthropic'],
    ['o3', 'openai'],
    ['o4-mini', 'openai'],
    ['gpt-4o', 'openai'],
    ['GPT-4o ', 'openai'],
    ['gemini-2.5-flash', 'google'],
    ['grok-4', 'x-ai'],
    ['codestral-latest', 'mistral'],
    ['MiniMax-M2', 'minimax'],
    ['command-r-plus', 'cohere'],
    // deepseek's model_match comes first in the file
    ['accounts/fireworks/models/deepseek-v3', 'deepseek'],
  ])('%j → %s', (name, expected) => {
    expect(id(catalog.providerByModel(name))).toBe(expected);
  });

  it('is an error when no provider claims the name', () => {
    expect(catalog.providerByModel('llama2-70b-4096')).toEqual({ ok: false, reason: 'no provider in the price catalog is known for model "llama2-70b-4096"' });
  });
});

describe('findModel', () => {
  it.each([
    ['openai', 'gpt-4o', 'openai/gpt-4o'],
    ['openai', 'gpt-4o-2024-08-06', 'openai/gpt-4o'],
    // equals compares case-insensitively; the name is trimmed
    ['openai', ' GPT-4O ', 'openai/gpt-4o'],
    ['doubleword', 'qwen/qwen3-14b-fp8', 'doubleword/Qwen/Qwen3-14B-FP8'],
    ['huggingface_together', 'Qwen/Qwen3-VL-8B-Instruct', 'huggingface_together/Qwen/Qwen3-VL-8B-Instruct'],
    ['anthropic', 'claude-sonnet-4-5-20250929', 'anthropic/claude-sonnet-4-5'],
    ['x-ai', 'grok-4', 'x-ai/grok-4-0709'],
    // fallback providers: azure → openai, anthropic
    ['azure', 'gpt-4o', 'openai/gpt-4o'],
    ['azure', 'claude-sonnet-4-5', 'anthropic/claude-sonnet-4-5'],
    // google's own claude-4-sonnet (contains "claude-sonnet-4") is tried before its fallback to anthropic
    ['google', 'claude-sonnet-4-5@20250929', 'google/claude-4-sonnet'],
  ])('%s + %j → %s', (providerId, name, expected) => {
    expect(model(providerId, name)).toBe(expected);
  });

  it('takes the first match in file order', () => {
    const tiny = tinyCatalog([
      {
        models: [
          { id: 'broad', match: { starts_with: 'm-' }, prices: { input_mtok: '1' } },
          { id: 'exact', match: { equals: 'm-1' }, prices: { input_mtok: '2' } },
        ],
      },
    ]);
    const found = tiny.findModel(tiny.providers[0]!, 'm-1');
    expect(found.ok && found.value.id).toBe('broad');
  });

  it('follows fallback providers one level only', () => {
    const tiny = tinyCatalog([
      { id: 'a', fallback_model_providers: ['b'] },
      { id: 'b', fallback_model_providers: ['c'], models: [{ id: 'b-model', match: { equals: 'b-model' }, prices: {} }] },
      { id: 'c', models: [{ id: 'c-model', match: { equals: 'c-model' }, prices: {} }] },
    ]);
    const a = tiny.providers[0]!;
    expect(tiny.findModel(a, 'b-model')).toMatchObject({ ok: true, value: { id: 'b-model', providerId: 'b' } });
    expect(tiny.findModel(tiny.providers[1]!, 'c-model')).toMatchObject({ ok: true, value: { id: 'c-model' } });
    expect(tiny.findModel(a, 'c-model')).toEqual({ ok: false, reason: 'no price for model "c-model" of provider a in catalog test-1' });
  });

  it('does not fall back for a provider without fallback_model_providers', () => {
    // gpt-4o is openai's; x-ai has no fallbacks
    expect(catalog.findModel(provider('x-ai'), 'gpt-4o')).toEqual({ ok: false, reason: `no price for model "gpt-4o" of provider x-ai in catalog ${catalog.version}` });
  });

  it('names the catalog version for an unknown model', () => {
    const found = catalog.findModel(provider('azure'), 'gemini-2.5-flash');
    expect(found).toEqual({ ok: false, reason: `no price for model "gemini-2.5-flash" of provider azure in catalog ${catalog.version}` });
    expect(catalog.version).toMatch(/^genai-prices-[0-9a-f]{12}$/);
  });
});
