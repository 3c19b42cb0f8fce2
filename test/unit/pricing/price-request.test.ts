import { describe, expect, it } from 'vitest';
import { Contracts } from '../../../services/pricing/contracts.ts';
import { answerPriceRequest } from '../../../services/pricing/price-request.ts';
import { catalog, engine } from '../../support/pricing.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

// OpenAI chat response for gpt-4o: 1200 prompt tokens of which 200 cached, 300 completion tokens.
const GPT_4O_CHAT = { model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 200 } } };
// gpt-4o lists 2.5 input / 1.25 cache read / 10 output per million:
// IN 1000 × 2.5 = 0.0025, CR 200 × 1.25 = 0.00025 → 0.00275; OUT 300 × 10 = 0.003; total 0.00575
const GPT_4O_COSTS = { input_cost: '0.00275', output_cost: '0.003', total_cost: '0.00575' };

describe('answerPriceRequest: a priced call', () => {
  it('answers exactly input_cost, output_cost, total_cost, currency, model, price_version and usage', () => {
    const answer = answerPriceRequest(engine(), { provider: 'openai', api_flavor: 'chat', body: GPT_4O_CHAT }, NOW);
    expect(answer).toStrictEqual({
      ...GPT_4O_COSTS,
      currency: 'USD',
      model: 'gpt-4o',
      price_version: catalog.version,
      usage: { input_tokens: 1200, cache_read_tokens: 200, output_tokens: 300 },
    });
  });

  it('prices a bare usage object with the model given beside it', () => {
    const answer = answerPriceRequest(engine(), { provider: 'OpenAI', api_flavor: 'chat', model: 'gpt-4o', body: GPT_4O_CHAT.usage }, NOW);
    expect(answer).toMatchObject({ ...GPT_4O_COSTS, model: 'gpt-4o' });
  });

  it('uses the default flavour when none is given (anthropic)', () => {
    // claude-sonnet-4-5: input 100 + 50 cache read = 150; IN 100 × 3 = 0.0003, CR 50 × 0.3 = 0.000015; OUT 20 × 15 = 0.0003
    const body = { model: 'claude-sonnet-4-5', usage: { input_tokens: 100, cache_read_input_tokens: 50, output_tokens: 20 } };
    expect(answerPriceRequest(engine(), { provider: 'anthropic', body }, NOW)).toStrictEqual({
      input_cost: '0.000315',
      output_cost: '0.0003',
      total_cost: '0.000615',
      currency: 'USD',
      model: 'claude-sonnet-4-5',
      price_version: catalog.version,
      usage: { input_tokens: 150, cache_read_tokens: 50, output_tokens: 20 },
    });
  });

  it('cannot price a body for a provider without extractors', () => {
    expect(answerPriceRequest(engine(), { provider: 'perplexity', model: 'sonar', body: { usage: {} } }, NOW)).toEqual({ error: 'no usage extraction is defined for provider perplexity' });
  });
});

describe("'at' picks the price in force", () => {
  const o3 = (at?: string) => answerPriceRequest(engine(), { provider: 'openai', api_flavor: 'responses', body: { model: 'o3', usage: { input_tokens: 1000, output_tokens: 0 } }, ...(at ? { at } : {}) }, NOW);

  it.each([
    // o3: 1000 × 10 / 1e6 before 2025-06-10, 1000 × 2 / 1e6 from then
    ['2025-06-09T23:59:59Z', '0.01'],
    ['2025-06-10T00:00:00Z', '0.002'],
    // 2025-06-10T01:00:00+02:00 is still 2025-06-09 in UTC
    ['2025-06-10T01:00:00+02:00', '0.01'],
  ])('at %s → total %s', (at, total) => {
    expect(o3(at)).toMatchObject({ total_cost: total });
  });

  it('defaults to now', () => {
    expect(o3()).toMatchObject({ total_cost: '0.002' });
    const early = answerPriceRequest(engine(), { provider: 'openai', api_flavor: 'responses', body: { model: 'o3', usage: { input_tokens: 1000, output_tokens: 0 } } }, Date.parse('2025-01-01T00:00:00Z'));
    expect(early).toMatchObject({ total_cost: '0.01' });
  });
});

describe('answerPriceRequest: errors name the field at fault', () => {
  it.each<[string, unknown, string]>([
    ['missing provider', { body: GPT_4O_CHAT }, 'provider: is required'],
    ['blank provider', { provider: '  ', body: GPT_4O_CHAT }, 'provider: must name the catalog provider, e.g. openai, anthropic, google, aws, azure'],
    ['provider not a string', { provider: 5, body: GPT_4O_CHAT }, 'provider: must be a string, got number'],
    ['missing body', { provider: 'openai' }, 'body: is required: the provider response JSON or its usage object'],
    ['body a string', { provider: 'anthropic', body: '{"usage":{}}' }, 'the body must be a JSON object (the provider response or its usage object)'],
    ['body null', { provider: 'anthropic', body: null }, 'the body must be a JSON object (the provider response or its usage object)'],
    ['at without a zone', { provider: 'openai', body: GPT_4O_CHAT, at: '2026-01-01T00:00:00' }, 'at: must be an ISO-8601 time with a zone, e.g. 2026-11-23T10:15:00Z'],
    ['at a date only', { provider: 'openai', body: GPT_4O_CHAT, at: '2026-01-01' }, 'at: must be an ISO-8601 time with a zone, e.g. 2026-11-23T10:15:00Z'],
    ['unknown field', { provider: 'openai', body: GPT_4O_CHAT, usage: {} }, 'request: unknown field: usage'],
    ['not an object', [1], 'request: must be an object, got array'],
    ['several problems at once', { at: 'yesterday' }, 'provider: is required; body: is required: the provider response JSON or its usage object; at: must be an ISO-8601 time with a zone, e.g. 2026-11-23T10:15:00Z'],
    ['unknown provider', { provider: 'foobar', body: GPT_4O_CHAT }, 'no provider "foobar" in the price catalog'],
    ['unknown flavour', { provider: 'openai', api_flavor: 'completions', body: GPT_4O_CHAT }, 'unknown api_flavor "completions" for provider openai; allowed: chat, responses, embeddings'],
    ['unknown model', { provider: 'openai', api_flavor: 'chat', model: 'gpt-99', body: GPT_4O_CHAT }, `no price for model "gpt-99" of provider openai in catalog ${catalog.version}`],
    ['no model anywhere', { provider: 'openai', api_flavor: 'chat', body: GPT_4O_CHAT.usage }, 'no model given, and none in the body'],
  ])('%s', (_name, input, error) => {
    expect(answerPriceRequest(engine(), input, NOW)).toStrictEqual({ error });
  });
});

describe('effective cost: present only when a contract applies', () => {
  const contracts = Contracts.fromJson(
    { contracts: [{ id: 'search-15', effective_from: '2026-01-01', match: { provider: 'openai', team: 'search' }, discount_percent: '15' }] },
    'contracts-test',
  );

  it('adds the effective cost and contract id beside the list cost', () => {
    // 15% off: 0.00275 × 0.85 = 0.0023375; 0.003 × 0.85 = 0.00255; 0.00575 × 0.85 = 0.0048875
    const answer = answerPriceRequest(engine(contracts), { provider: 'openai', api_flavor: 'chat', body: GPT_4O_CHAT, team: 'search' }, NOW);
    expect(answer).toStrictEqual({
      ...GPT_4O_COSTS,
      currency: 'USD',
      model: 'gpt-4o',
      price_version: `${catalog.version}+contracts-test`,
      usage: { input_tokens: 1200, cache_read_tokens: 200, output_tokens: 300 },
      effective: { input_cost: '0.0023375', output_cost: '0.00255', total_cost: '0.0048875', contract_id: 'search-15' },
    });
  });

  it.each([
    ['another team', { team: 'ads' }],
    ['no team', {}],
    ['before the contract', { team: 'search', at: '2025-12-31T23:59:59Z' }],
  ])('has no effective key for %s', (_name, extra) => {
    const answer = answerPriceRequest(engine(contracts), { provider: 'openai', api_flavor: 'chat', body: GPT_4O_CHAT, ...extra }, NOW);
    expect(answer).toMatchObject({ total_cost: '0.00575', price_version: catalog.version });
    expect(Object.keys(answer)).not.toContain('effective');
  });
});
