import { describe, expect, it } from 'vitest';
import { formatExact } from '../../../services/money/exact-decimal.ts';
import type { PricedCall, PricingOutcome, PriceQuery } from '../../../services/pricing/pricing-engine.ts';
import { catalog, engine } from '../../support/pricing.ts';

const AT = Date.parse('2026-03-01T12:00:00Z');

function price(query: Partial<PriceQuery>): PricingOutcome {
  return engine().price({ at: AT, ...query });
}

function priced(query: Partial<PriceQuery>): PricedCall {
  const outcome = price(query);
  if (!outcome.ok) throw new Error(`expected a price, got ${outcome.reason}: ${outcome.message}`);
  return outcome;
}

/** "provider/model input output total" of a priced call. */
function summary(query: Partial<PriceQuery>): string {
  const outcome = priced(query);
  return `${outcome.provider}/${outcome.model} ${formatExact(outcome.list.input)} ${formatExact(outcome.list.output)} ${formatExact(outcome.list.total)}`;
}

const USAGE = { input_tokens: 1000, output_tokens: 100 };

describe('finding the provider and model', () => {
  it.each<[string, Partial<PriceQuery>, string]>([
    // gpt-4o: 1000 × 2.5 = 0.0025; 100 × 10 = 0.001
    ['by provider id', { provider: 'openai', model: 'gpt-4o', usage: USAGE }, 'openai/gpt-4o 0.0025 0.001 0.0035'],
    ['by provider alias', { provider: 'xai', model: 'grok-4', usage: USAGE }, 'x-ai/grok-4-0709 0.003 0.0015 0.0045'], // 1000 × 3; 100 × 15
    ['by provider URL', { providerUrl: 'https://api.openai.com/v1/chat/completions', model: 'gpt-4o', usage: USAGE }, 'openai/gpt-4o 0.0025 0.001 0.0035'],
    ['by model name alone', { model: 'claude-sonnet-4-5-20250929', usage: USAGE }, 'anthropic/claude-sonnet-4-5 0.003 0.0015 0.0045'], // 1000 × 3; 100 × 15
    // the provider id wins over the URL; azure falls back to openai's gpt-4o and keeps its own id
    ['provider id before URL, with fallback', { provider: 'azure', providerUrl: 'https://api.anthropic.com', model: 'gpt-4o', usage: USAGE }, 'azure/gpt-4o 0.0025 0.001 0.0035'],
  ])('%s', (_name, query, expected) => {
    expect(summary(query)).toBe(expected);
  });

  it.each<[string, Partial<PriceQuery>, string, string]>([
    ['unknown provider id', { provider: 'foobar', model: 'gpt-4o', usage: USAGE }, 'unknown_provider', 'no provider "foobar" in the price catalog'],
    ['unknown provider id with a body', { provider: 'foobar', body: { usage: { input_tokens: 1, output_tokens: 1 } } }, 'unknown_provider', 'no provider "foobar" in the price catalog'],
    ['unknown URL', { providerUrl: 'https://llm.internal/v1', model: 'gpt-4o', usage: USAGE }, 'unknown_provider', 'no provider in the price catalog serves https://llm.internal/v1'],
    ['model no provider claims', { model: 'llama2-70b-4096', usage: USAGE }, 'unknown_provider', 'no provider in the price catalog is known for model "llama2-70b-4096"'],
    ['unknown model', { provider: 'openai', model: 'gpt-99', usage: USAGE }, 'unknown_model', `no price for model "gpt-99" of provider openai in catalog ${catalog.version}`],
    ['no model at all', { provider: 'openai', usage: USAGE }, 'unknown_model', 'no model given, and none in the body'],
    ['no usage and no body', { provider: 'openai', model: 'gpt-4o' }, 'usage_not_extractable', 'neither usage nor a body to extract it from was given'],
    ['body without usage', { provider: 'anthropic', model: 'claude-sonnet-4-5', body: { id: 'msg_1' } }, 'usage_not_extractable', 'missing value at usage'],
    ['inconsistent usage', { provider: 'openai', model: 'gpt-4o', usage: { input_tokens: 10, cache_read_tokens: 11 } }, 'inconsistent_usage', 'input_tokens (10) is less than the cached, cache-write and audio tokens it must include (11)'],
  ])('%s → %s', (_name, query, reason, message) => {
    expect(price(query)).toEqual({ ok: false, reason, message, priceVersion: catalog.version });
  });
});

describe('usage from the body', () => {
  const body = { model: 'claude-sonnet-4-5-20250929', usage: { input_tokens: 100_000, cache_read_input_tokens: 100_000, cache_creation_input_tokens: 20_000, output_tokens: 2000 } };

  it('extracts usage and the model name, then prices them', () => {
    // input_tokens = 100000 + 100000 + 20000 = 220000 > 200000: every class at its tier
    // IN 100000 × 6 = 0.6, CR 100000 × 0.6 = 0.06, CW 20000 × 7.5 = 0.15 → 0.81; OUT 2000 × 22.5 = 0.045
    const outcome = priced({ provider: 'anthropic', body });
    expect(outcome.usage).toEqual({ input_tokens: 220_000, cache_read_tokens: 100_000, cache_write_tokens: 20_000, output_tokens: 2000 });
    expect(outcome.model).toBe('claude-sonnet-4-5');
    expect([formatExact(outcome.list.input), formatExact(outcome.list.output), formatExact(outcome.list.total)]).toEqual(['0.81', '0.045', '0.855']);
  });

  it('prefers the given model over the body\'s', () => {
    // claude-opus-4-6 after 2026-03-13 is flat: IN 100000 × 5 = 0.5, CR 100000 × 0.5 = 0.05, CW 20000 × 6.25 = 0.125; OUT 2000 × 25 = 0.05
    const outcome = priced({ provider: 'anthropic', model: 'claude-opus-4-6', body, at: Date.parse('2026-04-01T00:00:00Z') });
    expect(outcome.model).toBe('claude-opus-4-6');
    expect(formatExact(outcome.list.total)).toBe('0.725');
  });

  it('prefers given usage over the body', () => {
    // gpt-4o: 1000 × 2.5 + 100 × 10 = 0.0035, whatever the body says
    const outcome = priced({ provider: 'openai', model: 'gpt-4o', usage: USAGE, body: { usage: { prompt_tokens: 5, completion_tokens: 5 } }, apiFlavor: 'chat' });
    expect(outcome.usage).toEqual(USAGE);
    expect(formatExact(outcome.list.total)).toBe('0.0035');
  });

  it('uses the api flavour it is given', () => {
    // responses: 2000 - 1000 cached = 1000 × 2 + 1000 × 0.5; 500 × 8 (o3 from 2025-06-10)
    const outcome = priced({ provider: 'openai', apiFlavor: 'responses', body: { model: 'o3', usage: { input_tokens: 2000, input_tokens_details: { cached_tokens: 1000 }, output_tokens: 500 } } });
    expect(formatExact(outcome.list.input)).toBe('0.0025');
    expect(formatExact(outcome.list.output)).toBe('0.004');
  });
});

describe('the time of the call picks the price', () => {
  it.each([
    // o3: 1000 × 10 / 1e6 before 2025-06-10, 1000 × 2 / 1e6 from then
    ['2025-06-09T23:59:59.999Z', '0.01'],
    ['2025-06-10T00:00:00Z', '0.002'],
  ])('o3 at %s: 1000 input tokens cost %s', (at, total) => {
    expect(formatExact(priced({ provider: 'openai', model: 'o3', usage: { input_tokens: 1000 }, at: Date.parse(at) }).list.total)).toBe(total);
  });

  it.each([
    // claude-opus-4-6, 300000 input: tier 10 → 3 on 2026-03-12; flat 5 → 1.5 from 2026-03-13
    ['2026-03-12T23:59:59Z', '3'],
    ['2026-03-13T00:00:00Z', '1.5'],
  ])('claude-opus-4-6 at %s: 300000 input tokens cost %s', (at, total) => {
    expect(formatExact(priced({ provider: 'anthropic', model: 'claude-opus-4-6', usage: { input_tokens: 300_000 }, at: Date.parse(at) }).list.total)).toBe(total);
  });

  it('without a contract, effective equals list and the version is the catalog\'s', () => {
    const outcome = priced({ provider: 'openai', model: 'gpt-4o', usage: USAGE });
    expect(outcome.effective).toEqual(outcome.list);
    expect(outcome.contractId).toBeNull();
    expect(outcome.priceVersion).toBe(catalog.version);
  });
});
