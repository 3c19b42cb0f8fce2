/**
 * A small built-in price table (USD per million tokens, list prices as the
 * providers published them) so the foundation prices real traffic. The
 * versioned catalog imported from genai-prices replaces it (pricing issue).
 */

export const BUILTIN_PRICE_VERSION = 'builtin-2025-06';

export interface ModelPrice {
  /** USD per million uncached text input tokens. */
  readonly input: string;
  /** USD per million generated tokens (reasoning included). */
  readonly output: string;
  /** USD per million input tokens read from cache; input price when absent. */
  readonly cacheRead?: string;
  /** USD per million input tokens written to cache; input price when absent. */
  readonly cacheWrite?: string;
}

/** Keyed by provider, then by model id; a dated snapshot id ("gpt-4o-2024-08-06") matches its base id. */
export const BUILTIN_PRICES: Readonly<Record<string, Readonly<Record<string, ModelPrice>>>> = {
  openai: {
    'gpt-4o': { input: '2.5', cacheRead: '1.25', output: '10' },
    'gpt-4o-mini': { input: '0.15', cacheRead: '0.075', output: '0.6' },
    'gpt-4.1': { input: '2', cacheRead: '0.5', output: '8' },
    'gpt-4.1-mini': { input: '0.4', cacheRead: '0.1', output: '1.6' },
    'gpt-4.1-nano': { input: '0.1', cacheRead: '0.025', output: '0.4' },
    o3: { input: '2', cacheRead: '0.5', output: '8' },
    'o4-mini': { input: '1.1', cacheRead: '0.275', output: '4.4' },
    'text-embedding-3-small': { input: '0.02', output: '0' },
    'text-embedding-3-large': { input: '0.13', output: '0' },
  },
  anthropic: {
    'claude-opus-4': { input: '15', cacheRead: '1.5', cacheWrite: '18.75', output: '75' },
    'claude-sonnet-4': { input: '3', cacheRead: '0.3', cacheWrite: '3.75', output: '15' },
    'claude-3-5-haiku': { input: '0.8', cacheRead: '0.08', cacheWrite: '1', output: '4' },
  },
  google: {
    'gemini-2.0-flash': { input: '0.1', cacheRead: '0.025', output: '0.4' },
    'gemini-2.5-flash': { input: '0.3', cacheRead: '0.075', output: '2.5' },
  },
};
