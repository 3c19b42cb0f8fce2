/**
 * Gateways name providers their own way; usage events name them as the price
 * catalog does (services/pricing/catalog/genai-prices.catalog.json), so the
 * enricher finds the prices without guessing. A name not listed here is kept
 * as the gateway wrote it (lower-cased): the catalog's own provider matching
 * may still know it, and otherwise the event is stored unpriced with the
 * reason (a self-hosted model such as LiteLLM's "ollama" has no list price).
 */

/** LiteLLM's `custom_llm_provider` values (litellm/types/utils.py LlmProviders) → catalog provider id. */
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

/** Kong AI Proxy's `config.model.provider` values (ai.proxy.meta.provider_name) → catalog provider id. */
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

export type GatewayKind = 'litellm' | 'kong';

export function catalogProvider(gateway: GatewayKind, name: string): string {
  const key = name.trim().toLowerCase();
  const table = gateway === 'litellm' ? LITELLM_PROVIDERS : KONG_PROVIDERS;
  return Object.hasOwn(table, key) ? table[key]! : key;
}

/** Whether the gateway names this provider (so "openai/gpt-4o" can be read as provider and model). */
export function isKnownProvider(gateway: GatewayKind, name: string): boolean {
  return Object.hasOwn(gateway === 'litellm' ? LITELLM_PROVIDERS : KONG_PROVIDERS, name.trim().toLowerCase());
}
