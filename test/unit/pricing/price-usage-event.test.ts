import { validate } from '@spendline/emitter/field-issues';
import { usageEventJson as usageEventSchema, type UsageEventRecord } from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { Contracts } from '../../../services/pricing/contracts.ts';
import { catalogFlavor, priceUsageEvent } from '../../../services/pricing/price-usage-event.ts';
import { catalog, engine } from '../../support/pricing.ts';
import { usageEventJson } from '../../support/usage-events.ts';
import { minimalUsageEventRecord } from '../../fixtures/usage-event-examples.ts';

/** A usage event record, through the same normalisation POST /v1/events applies. */
function event(overrides: Record<string, unknown> = {}): UsageEventRecord {
  const checked = validate(usageEventSchema, usageEventJson(overrides));
  if (!checked.ok) throw new Error(checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  return checked.value;
}

const ZERO_TOKENS = { input_tokens: 0, output_tokens: 0 };
// An OpenAI chat usage object: 1200 prompt tokens (200 cached), 300 completion tokens.
const OPENAI_CHAT_USAGE = { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 200 } };

describe('priceUsageEvent: priced from the event token fields', () => {
  it('prices gpt-4o-mini and keeps the event as it is', () => {
    // gpt-4o-mini: 1000 × 0.15 / 1e6 = 0.00015; 100 × 0.6 / 1e6 = 0.00006
    const input = event({ model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 100 });
    expect(priceUsageEvent(engine(), input)).toStrictEqual({
      event: input,
      cost: '0.00021',
      list_cost: '0.00021',
      input_cost: '0.00015',
      output_cost: '0.00006',
      cost_breakdown: { input: '0.00015', cache_read: '0', output: '0.00006' },
      catalog_model: 'gpt-4o-mini',
      contract_id: null,
      currency: 'USD',
      cost_status: 'priced',
      unpriced_reason: null,
      unpriced_code: null,
      price_version: catalog.version,
    });
  });

  it('uses the token fields, not provider_usage, when the event reports tokens', () => {
    const input = event({ model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 100, api_flavor: 'chat', provider_usage: OPENAI_CHAT_USAGE });
    const priced = priceUsageEvent(engine(), input);
    expect(priced.cost).toBe('0.00021');
    expect(priced.event).toBe(input);
  });

  it('prices at the time the call occurred', () => {
    // o3: 1000 × 10 / 1e6 = 0.01 before 2025-06-10; 1000 × 2 / 1e6 = 0.002 from then
    const at = (occurred_at: string) => priceUsageEvent(engine(), event({ model: 'o3', input_tokens: 1000, output_tokens: 0, occurred_at })).cost;
    expect(at('2025-06-09T23:59:59.999Z')).toBe('0.01');
    expect(at('2025-06-10T00:00:00.000Z')).toBe('0.002');
  });

  it('stores the effective cost under a contract and the list cost beside it', () => {
    const contracts = Contracts.fromJson({ contracts: [{ id: 'search-15', effective_from: '2026-01-01', match: { team: 'search' }, discount_percent: '15' }] }, 'contracts-test');
    // 0.00021 × 0.85 = 0.0001785; input 0.00015 × 0.85 = 0.0001275; output 0.00006 × 0.85 = 0.000051
    const priced = priceUsageEvent(engine(contracts), event({ model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 100, team: 'search' }));
    expect(priced).toMatchObject({
      cost: '0.0001785',
      list_cost: '0.00021',
      input_cost: '0.0001275',
      output_cost: '0.000051',
      cost_breakdown: { input: '0.0001275', cache_read: '0', output: '0.000051' },
      contract_id: 'search-15',
      price_version: `${catalog.version}+contracts-test`,
    });
  });
});

describe('priceUsageEvent: priced from provider_usage when the event has no tokens', () => {
  // gpt-4o: IN 1000 × 2.5 = 0.0025, CR 200 × 1.25 = 0.00025; OUT 300 × 10 = 0.003; total 0.00575
  it.each(['chat', 'openai.chat', 'OpenAI.chat'])('api_flavor %j', (apiFlavor) => {
    const input = event({ model: 'gpt-4o', ...ZERO_TOKENS, api_flavor: apiFlavor, provider_usage: OPENAI_CHAT_USAGE });
    const priced = priceUsageEvent(engine(), input);
    expect(priced).toMatchObject({ cost: '0.00575', input_cost: '0.00275', output_cost: '0.003', catalog_model: 'gpt-4o', cost_status: 'priced' });
    expect(priced.event).toStrictEqual({
      ...input,
      input_tokens: 1200,
      cache_read_tokens: 200,
      cache_write_tokens: 0,
      input_audio_tokens: 0,
      cache_audio_read_tokens: 0,
      output_tokens: 300,
      output_audio_tokens: 0,
    });
  });

  it('uses the default flavour when the event names none (anthropic)', () => {
    // claude-sonnet-4-5: input 100 + 50 cached = 150; IN 100 × 3 + CR 50 × 0.3 = 0.000315; OUT 20 × 15 = 0.0003
    const input = event({ provider: 'anthropic', model: 'claude-sonnet-4-5', ...ZERO_TOKENS, provider_usage: { input_tokens: 100, cache_read_input_tokens: 50, output_tokens: 20 } });
    const priced = priceUsageEvent(engine(), input);
    expect(priced.cost).toBe('0.000615');
    expect(priced.event).toMatchObject({ input_tokens: 150, cache_read_tokens: 50, output_tokens: 20 });
  });

  it('prices an event with no tokens and no provider_usage at zero', () => {
    const input = event({ model: 'gpt-4o', ...ZERO_TOKENS });
    expect(priceUsageEvent(engine(), input)).toMatchObject({ cost: '0', cost_status: 'priced', event: input });
  });
});

describe('priceUsageEvent: unpriced outcomes', () => {
  const UNPRICED = { cost: '0', list_cost: '0', input_cost: '0', output_cost: '0', cost_breakdown: {}, catalog_model: '', contract_id: null, currency: 'USD', cost_status: 'unpriced', price_version: catalog.version };

  it.each<[string, Record<string, unknown>, string, string]>([
    ['unknown model', { model: 'gpt-99' }, 'unknown_model', `no price for model "gpt-99" of provider openai in catalog ${catalog.version}`],
    ['unknown provider', { provider: 'llm-internal', model: 'x' }, 'unknown_provider', 'no provider "llm-internal" in the price catalog'],
    [
      'provider_usage in an unknown flavour',
      { model: 'gpt-4o', ...ZERO_TOKENS, api_flavor: 'openai.completions', provider_usage: OPENAI_CHAT_USAGE },
      'usage_not_extractable',
      'unknown api_flavor "completions" for provider openai; allowed: chat, responses, embeddings',
    ],
    ['provider_usage without the required fields', { model: 'gpt-4o', ...ZERO_TOKENS, api_flavor: 'chat', provider_usage: { total_tokens: 5 } }, 'usage_not_extractable', 'missing value at usage'],
  ])('%s', (_name, overrides, code, reason) => {
    const input = event(overrides);
    expect(priceUsageEvent(engine(), input)).toStrictEqual({ event: input, ...UNPRICED, unpriced_reason: reason, unpriced_code: code });
  });
});

describe('stored amounts are rounded half-to-even to 12 decimals', () => {
  // huggingface_together Qwen/Qwen3-VL-8B-Instruct: input 0.18000000000000002, output 0.68 per million
  const qwen = (input_tokens: number) =>
    priceUsageEvent(engine(), event({ provider: 'huggingface_together', model: 'Qwen/Qwen3-VL-8B-Instruct', input_tokens, output_tokens: 0 }));

  it.each([
    // 1 × 0.18000000000000002 / 1e6 = 0.00000018000000000000002 (23 decimals): the tail is dropped
    [1, '0.00000018'],
    // 25e9 × 0.18000000000000002 / 1e6 = 4500.0000000000005: exactly half, 0 is even → 4500
    [25_000_000_000, '4500'],
    // 75e9 × 0.18000000000000002 / 1e6 = 13500.0000000000015: exactly half, 1 is odd → ...002
    [75_000_000_000, '13500.000000000002'],
  ])('%i input tokens are stored as %s', (tokens, stored) => {
    const priced = qwen(tokens);
    expect(priced).toMatchObject({ cost: stored, list_cost: stored, input_cost: stored, output_cost: '0', catalog_model: 'Qwen/Qwen3-VL-8B-Instruct' });
    expect(priced.cost_breakdown).toEqual({ input: stored, output: '0' });
  });
});

describe('catalogFlavor', () => {
  it.each<[string | null, string]>([
    [null, 'default'],
    ['', 'default'],
    ['chat', 'chat'],
    ['Chat', 'chat'],
    ['openai.chat', 'chat'],
    ['openai.responses', 'responses'],
    ['OPENAI.Chat', 'chat'],
    // The flavour is the last part, whichever name the sender put in front (bedrock events, "aws.default").
    ['aws.default', 'default'],
    ['openai.', 'default'],
  ])('%j → %j', (apiFlavor, expected) => {
    expect(catalogFlavor(apiFlavor)).toBe(expected);
  });

  it('prices an event whose provider_usage is not JSON as unpriced, without throwing', () => {
    const priced = priceUsageEvent(engine(), { ...minimalUsageEventRecord(), provider_usage: 'not json {', api_flavor: 'chat' });
    expect(priced).toMatchObject({ cost_status: 'unpriced', unpriced_code: 'usage_not_extractable', cost: '0' });
  });
});
