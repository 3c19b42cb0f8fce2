/**
 * gen_ai.provider.name (and the deprecated gen_ai.system) values of the
 * OpenTelemetry GenAI semantic conventions, mapped to the price catalog's
 * provider ids (services/pricing/catalog/genai-prices.catalog.json), so the
 * enricher prices the call from the right provider's list. The mapping is
 * explicit because the catalog's own aliases would misread some names:
 * "azure.ai.openai" contains "openai" and would be priced as OpenAI direct.
 * A name not listed passes through lower-cased (the catalog still resolves
 * its aliases, e.g. "together_ai"); the OTLP file can add or override names.
 */
export const PROVIDER_CATALOG_IDS: Readonly<Record<string, string>> = {
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

/** The catalog provider id for a semantic-conventions provider name (overrides first, then the built-in table). */
export function catalogProviderId(name: string, overrides: Readonly<Record<string, string>> = {}): string {
  const key = name.trim().toLowerCase();
  return overrides[key] ?? PROVIDER_CATALOG_IDS[key] ?? key;
}
