import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogProvider, isKnownProvider, PROVIDER_TABLES, type ProviderVocabulary } from '../../../services/ingest/provider-names.ts';
import { PROJECT_ROOT } from '../../../services/project-paths.ts';

const catalog = JSON.parse(readFileSync(join(PROJECT_ROOT, 'services/pricing/catalog/genai-prices.catalog.json'), 'utf8')) as { providers: { id: string }[] };
const catalogIds = new Set(catalog.providers.map((provider) => provider.id));
const VOCABULARIES = Object.keys(PROVIDER_TABLES) as ProviderVocabulary[];

describe('catalogProvider', () => {
  it.each(VOCABULARIES.flatMap((vocabulary) => Object.entries(PROVIDER_TABLES[vocabulary]).map(([name, id]) => [vocabulary, name, id])))('maps %s name %s to %s, a provider of the bundled price catalog', (vocabulary, name, id) => {
    expect(catalogIds.has(id)).toBe(true);
    expect(catalogProvider(vocabulary as ProviderVocabulary, ` ${name.toUpperCase()} `)).toBe(id);
  });

  it('passes other names through, lower-cased', () => {
    expect(catalogProvider('otel', ' Together_AI ')).toBe('together_ai');
    expect(catalogProvider('litellm', 'Ollama')).toBe('ollama');
  });

  it('keeps the vocabularies apart: a name means what its sender means by it', () => {
    expect(catalogProvider('otel', 'azure.ai.openai')).toBe('azure');
    expect(catalogProvider('litellm', 'bedrock')).toBe('aws');
    expect(catalogProvider('otel', 'bedrock')).toBe('bedrock');
  });

  it('lets overrides (the OTLP file) win over the built-in table', () => {
    expect(catalogProvider('otel', 'openai', { openai: 'azure', vllm: 'openai' })).toBe('azure');
    expect(catalogProvider('otel', 'VLLM', { vllm: 'openai' })).toBe('openai');
  });

  it.each(VOCABULARIES.flatMap((vocabulary) => ['constructor', '__proto__', 'hasownproperty', 'tostring'].map((name) => [vocabulary, name])))('reads %s name %s as a name, never an Object.prototype member', (vocabulary, name) => {
    expect(catalogProvider(vocabulary as ProviderVocabulary, name)).toBe(name);
    expect(catalogProvider(vocabulary as ProviderVocabulary, name, {})).toBe(name);
    expect(isKnownProvider(vocabulary as ProviderVocabulary, name)).toBe(false);
  });
});
