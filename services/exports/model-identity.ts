/**
 * Who made a model and which snapshot it is, from the served model id, for
 * FOCUS PublisherName and SkuPriceDetails (ModelDeveloper, ModelId,
 * ModelVersion). Usage events name the serving provider, not the developer:
 * "claude-sonnet-4-5" served by aws was still made by Anthropic. The developer
 * is read from the id's vendor part ("anthropic.claude-…" on Bedrock,
 * "meta-llama/…" on hosts that name the organisation) or its family prefix, from
 * a closed list; an id matching none is credited to its provider.
 */

/** Model family prefixes (lower case) and their developer. Longer prefixes first where they overlap. */
const FAMILIES: readonly [string, string][] = [
  ['gpt-', 'OpenAI'],
  ['chatgpt', 'OpenAI'],
  ['o1', 'OpenAI'],
  ['o3', 'OpenAI'],
  ['o4', 'OpenAI'],
  ['text-embedding', 'OpenAI'],
  ['dall-e', 'OpenAI'],
  ['whisper', 'OpenAI'],
  ['tts-', 'OpenAI'],
  ['omni-moderation', 'OpenAI'],
  ['codex', 'OpenAI'],
  ['claude', 'Anthropic'],
  ['gemini', 'Google'],
  ['gemma', 'Google'],
  ['imagen', 'Google'],
  ['llama', 'Meta'],
  ['meta-llama', 'Meta'],
  ['mistral', 'Mistral AI'],
  ['mixtral', 'Mistral AI'],
  ['codestral', 'Mistral AI'],
  ['ministral', 'Mistral AI'],
  ['pixtral', 'Mistral AI'],
  ['magistral', 'Mistral AI'],
  ['devstral', 'Mistral AI'],
  ['command', 'Cohere'],
  ['embed-', 'Cohere'],
  ['rerank', 'Cohere'],
  ['deepseek', 'DeepSeek'],
  ['qwen', 'Alibaba Cloud'],
  ['qwq', 'Alibaba Cloud'],
  ['grok', 'xAI'],
  ['nova', 'Amazon'],
  ['titan', 'Amazon'],
  ['phi-', 'Microsoft'],
  ['jamba', 'AI21 Labs'],
  ['kimi', 'Moonshot AI'],
  ['glm', 'Zhipu AI'],
  ['sonar', 'Perplexity'],
];

/** Vendor parts as hosts spell them ("anthropic.", "meta-llama/", "mistralai/"), and their developer. */
const VENDORS: Readonly<Record<string, string>> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  google: 'Google',
  meta: 'Meta',
  'meta-llama': 'Meta',
  mistral: 'Mistral AI',
  mistralai: 'Mistral AI',
  cohere: 'Cohere',
  deepseek: 'DeepSeek',
  'deepseek-ai': 'DeepSeek',
  qwen: 'Alibaba Cloud',
  amazon: 'Amazon',
  microsoft: 'Microsoft',
  ai21: 'AI21 Labs',
  'x-ai': 'xAI',
  xai: 'xAI',
  moonshotai: 'Moonshot AI',
};

/** A dated snapshot at the end of the id: "-2024-08-06", "-20241022", "@20241022", optionally followed by a Bedrock "-v2:0". */
const SNAPSHOT = /[-@](\d{4}-\d{2}-\d{2}|\d{8})(-v\d+(?::\d+)?)?$/;

export interface ModelIdentity {
  readonly developer: string;
  readonly id: string;
  /** The dated snapshot the id names, or null for an alias that moves ("gpt-4o-mini"). */
  readonly version: string | null;
}

export function modelIdentity(provider: string, model: string): ModelIdentity {
  const { vendor, name } = vendorAndName(model.toLowerCase());
  const developer = (vendor !== undefined ? VENDORS[vendor] : undefined) ?? FAMILIES.find(([prefix]) => name.startsWith(prefix))?.[1] ?? provider;
  const snapshot = SNAPSHOT.exec(model);
  return { developer, id: model, version: snapshot ? snapshot[1]! + (snapshot[2] ?? '') : null };
}

/** "meta-llama/llama-3-70b" and "us.anthropic.claude-…" name their vendor; "gpt-4.1" does not (a dot before a digit is a version). */
function vendorAndName(lower: string): { vendor?: string; name: string } {
  const slash = lower.lastIndexOf('/');
  if (slash > 0) return { vendor: lower.slice(0, slash).split('/').pop()!, name: lower.slice(slash + 1) };
  // Bedrock: "anthropic.claude-…", or with a cross-region profile "us.anthropic.claude-…".
  const dotted = /^(?:[a-z]{2}\.)?([a-z0-9-]+)\.(?=[a-z])/.exec(lower);
  if (dotted) return { vendor: dotted[1]!, name: lower.slice(dotted[0].length) };
  return { name: lower };
}
