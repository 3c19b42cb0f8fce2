/**
 * Provider names as senders spell them, mapped to the price catalog's provider
 * ids (services/pricing/catalog/genai-prices.catalog.json) so the enricher
 * prices each call from the right provider's list without guessing. One table
 * per vocabulary: the OpenTelemetry GenAI semantic conventions (OTLP spans),
 * LiteLLM and Kong AI Gateway (callbacks). The mapping is explicit because the
 * catalog's own aliases would misread some names: "azure.ai.openai" contains
 * "openai" and would be priced as OpenAI direct.
 *
 * A name not listed passes through lower-cased: the catalog's own provider
 * matching may still know it ("together_ai"), and otherwise the event is
 * stored unpriced with the reason (a self-hosted model has no list price).
 * Lookups are own-property only: "constructor" is a name like any other.
 */

/** gen_ai.provider.name (and the deprecated gen_ai.system) values. */
const OTEL_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  'aws.bedrock': 'aws',
  'azure.ai.openai': 'azure',
  'azure.ai.inference': 'azure',
  // gen_ai.system's older spellings of the Azure values.
  'az.ai.openai': 'azure',
  'az.ai.inference': 'azure',
  'gcp.gemini': 'google',
  'gcp.vertex_ai': 'google',
  'gcp.gen_ai': 'google',
  // gen_ai.system's older spellings of the Google values.
  gemini: 'google',
  vertex_ai: 'google',
  cohere: 'cohere',
  deepseek: 'deepseek',
  groq: 'groq',
  mistral_ai: 'mistral',
  perplexity: 'perplexity',
  x_ai: 'x-ai',
  xai: 'x-ai',
};

/** LiteLLM's `custom_llm_provider` values (litellm/types/utils.py LlmProviders). */
const LITELLM_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  'text-completion-openai': 'openai',
  azure: 'azure',
  azure_text: 'azure',
  anthropic: 'anthropic',
  anthropic_text: 'anthropic',
  bedrock: 'aws',
  vertex_ai: 'google',
  vertex_ai_beta: 'google',
  gemini: 'google',
  palm: 'google',
  mistral: 'mistral',
  codestral: 'mistral',
  'text-completion-codestral': 'mistral',
  groq: 'groq',
  deepseek: 'deepseek',
  together_ai: 'together',
  fireworks_ai: 'fireworks',
  cohere: 'cohere',
  cohere_chat: 'cohere',
  xai: 'x-ai',
  perplexity: 'perplexity',
  openrouter: 'openrouter',
  cerebras: 'cerebras',
  novita: 'novita',
  voyage: 'voyageai',
  moonshot: 'moonshotai',
  minimax: 'minimax',
  zai: 'zhipuai',
};

/** Kong AI Proxy's `config.model.provider` values (ai.proxy.meta.provider_name). */
const KONG_PROVIDERS: Readonly<Record<string, string>> = {
  openai: 'openai',
  azure: 'azure',
  anthropic: 'anthropic',
  cohere: 'cohere',
  mistral: 'mistral',
  gemini: 'google',
  bedrock: 'aws',
  xai: 'x-ai',
  cerebras: 'cerebras',
};

export type ProviderVocabulary = 'otel' | 'litellm' | 'kong';

export const PROVIDER_TABLES: Readonly<Record<ProviderVocabulary, Readonly<Record<string, string>>>> = {
  otel: OTEL_PROVIDERS,
  litellm: LITELLM_PROVIDERS,
  kong: KONG_PROVIDERS,
};

/** The catalog provider id for a sender's provider name: `overrides` first (the OTLP file's `providers`), then the vocabulary's table, else the name lower-cased. */
export function catalogProvider(vocabulary: ProviderVocabulary, name: string, overrides: Readonly<Record<string, string>> = {}): string {
  const key = name.trim().toLowerCase();
  if (Object.hasOwn(overrides, key)) return overrides[key]!;
  const table = PROVIDER_TABLES[vocabulary];
  return Object.hasOwn(table, key) ? table[key]! : key;
}

/** Whether the vocabulary names this provider (so LiteLLM's "openai/gpt-4o" can be read as provider and model). */
export function isKnownProvider(vocabulary: ProviderVocabulary, name: string): boolean {
  return Object.hasOwn(PROVIDER_TABLES[vocabulary], name.trim().toLowerCase());
}
