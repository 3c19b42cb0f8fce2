import { describe, expect, it } from 'vitest';
import { formatExact } from '../../../services/money/exact-decimal.ts';
import { Contracts, type ContractCall } from '../../../services/pricing/contracts.ts';
import type { PricedCall, PricingOutcome, PriceQuery } from '../../../services/pricing/pricing-engine.ts';
import { catalog, engine } from '../../support/pricing.ts';

const AT = Date.parse('2026-03-01T12:00:00Z');

function contracts(...list: Record<string, unknown>[]): Contracts {
  return Contracts.fromJson({ contracts: list }, 'contracts-test');
}

function contract(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'c1', effective_from: '2026-01-01', match: { provider: 'openai' }, discount_percent: '15', ...overrides };
}

function call(overrides: Partial<ContractCall> = {}): ContractCall {
  return { provider: 'openai', model: 'gpt-4o-mini', team: 'search', environment: 'prod', at: AT, ...overrides };
}

function priced(outcome: PricingOutcome): PricedCall {
  if (!outcome.ok) throw new Error(`expected a price, got ${outcome.reason}: ${outcome.message}`);
  return outcome;
}

/** [input, output, total] of a cost, as exact text. */
function costs(cost: PricedCall['list']): [string, string, string] {
  return [formatExact(cost.input), formatExact(cost.output), formatExact(cost.total)];
}

// gpt-4o-mini lists 0.15 input / 0.6 output per million: 1M × 0.15 = 0.15, 100k × 0.6 = 0.06, total 0.21
const MINI: PriceQuery = { provider: 'openai', model: 'gpt-4o-mini', usage: { input_tokens: 1_000_000, output_tokens: 100_000 }, at: AT, team: 'search', environment: 'prod' };

describe('contracts file schema', () => {
  it.each<[string, Record<string, unknown>[], string]>([
    ['both discount_percent and prices', [contract({ prices: { input_mtok: '1' } })], 'contracts[0]: must set exactly one of discount_percent and prices'],
    ['neither discount_percent nor prices', [contract({ discount_percent: undefined })], 'contracts[0]: must set exactly one of discount_percent and prices'],
    ['effective_to before effective_from', [contract({ effective_to: '2025-12-31' })], 'contracts[0].effective_to: must be after effective_from'],
    ['effective_to equal to effective_from', [contract({ effective_to: '2026-01-01T00:00:00Z' })], 'contracts[0].effective_to: must be after effective_from'],
    ['duplicate ids', [contract(), contract({ match: { model: 'x' } })], 'contracts[1].id: repeats contract id c1'],
    ['empty match', [contract({ match: {} })], 'contracts[0].match: must name at least one of provider, model, team, environment'],
    ['discount over 100', [contract({ discount_percent: '100.5' })], 'contracts[0].discount_percent: must be at most 100'],
    ['negative discount', [contract({ discount_percent: '-5' })], 'contracts[0].discount_percent: must be a decimal string such as "12.5"'],
    ['discount as a JSON number', [contract({ discount_percent: 15 })], 'contracts[0].discount_percent: must be a string, got number'],
    ['bad id', [contract({ id: 'has space' })], 'contracts[0].id: must be 1-64 letters, digits, ".", "_", ":" or "-"'],
    ['unknown field', [contract({ priority: 1 })], 'contracts[0]: unknown field: priority'],
  ])('rejects %s', (_name, list, message) => {
    expect(() => contracts(...list)).toThrow(`invalid contracts: ${message}`);
  });

  it('accepts an empty list, which applies to nothing', () => {
    expect(contracts().termsFor(call())).toBeNull();
    expect(Contracts.none.termsFor(call())).toBeNull();
  });
});

describe('termsFor: the first contract in force that matches the call', () => {
  it('takes the first matching contract in file order', () => {
    const set = contracts(contract({ id: 'first', match: { model: 'gpt-4o*' } }), contract({ id: 'second', match: { provider: 'openai' } }));
    expect(set.termsFor(call())?.id).toBe('first');
    expect(set.termsFor(call({ model: 'o3' }))?.id).toBe('second');
  });

  it('skips an earlier contract that is not in force', () => {
    const set = contracts(contract({ id: 'expired', effective_to: '2026-02-01' }), contract({ id: 'current' }));
    expect(set.termsFor(call())?.id).toBe('current');
    expect(set.termsFor(call({ at: Date.parse('2026-01-15T00:00:00Z') }))?.id).toBe('expired');
  });

  it.each([
    ['2025-12-31T23:59:59.999Z', null],
    ['2026-01-01T00:00:00.000Z', 'window'], // start inclusive (a date is its 00:00 UTC)
    ['2026-01-31T23:59:59.999Z', 'window'],
    ['2026-02-01T00:00:00.000Z', null], // end exclusive
  ])('window 2026-01-01 to 2026-02-01 at %s → %s', (at, expected) => {
    const set = contracts(contract({ id: 'window', effective_to: '2026-02-01' }));
    expect(set.termsFor(call({ at: Date.parse(at) }))?.id ?? null).toBe(expected);
  });

  it('reads a datetime bound with its offset', () => {
    // 2026-01-01T00:00:00+02:00 is 2025-12-31T22:00:00Z
    const set = contracts(contract({ effective_from: '2026-01-01T00:00:00+02:00' }));
    expect(set.termsFor(call({ at: Date.parse('2025-12-31T21:59:59Z') }))).toBeNull();
    expect(set.termsFor(call({ at: Date.parse('2025-12-31T22:00:00Z') }))?.id).toBe('c1');
  });

  it.each<[string, Record<string, string>, Partial<ContractCall>, boolean]>([
    ['exact model', { model: 'gpt-4o' }, { model: 'gpt-4o' }, true],
    ['exact model is not a prefix', { model: 'gpt-4o' }, { model: 'gpt-4o-mini' }, false],
    ['prefix pattern', { model: 'gpt-4o*' }, { model: 'gpt-4o-mini' }, true],
    ['prefix pattern, other case', { model: 'GPT-4o*' }, { model: 'gpt-4o-mini-2024-07-18' }, true],
    ['prefix pattern, shorter name', { model: 'gpt-4o*' }, { model: 'gpt-4' }, false],
    ['exact name, other case', { provider: 'OpenAI' }, { provider: 'openai' }, true],
    ['every field must match', { provider: 'openai', team: 'search' }, { team: 'ads' }, false],
    ['team and environment', { team: 'search', environment: 'prod*' }, { environment: 'production' }, true],
    ['a named team does not match a call without one', { team: 'search' }, { team: null }, false],
    ['environment mismatch', { environment: 'prod' }, { environment: 'staging' }, false],
  ])('%s', (_name, match, overrides, applies) => {
    expect(contracts(contract({ match })).termsFor(call(overrides)) !== null).toBe(applies);
  });
});

describe('discounts through the engine: exact, line by line', () => {
  it.each([
    // 0.21 × 0.85 = 0.1785 (input 0.15 × 0.85 = 0.1275, output 0.06 × 0.85 = 0.051)
    ['15', ['0.1275', '0.051', '0.1785']],
    // 0.21 × 0.875 = 0.18375
    ['12.5', ['0.13125', '0.0525', '0.18375']],
    // 0.21 × 0.995 = 0.20895
    ['0.5', ['0.14925', '0.0597', '0.20895']],
    ['100', ['0', '0', '0']],
  ])('%s%% off a list price of 0.21', (percent, effective) => {
    const outcome = priced(engine(contracts(contract({ discount_percent: percent }))).price(MINI));
    expect(costs(outcome.list)).toEqual(['0.15', '0.06', '0.21']);
    expect(costs(outcome.effective)).toEqual(effective);
    expect(outcome.contractId).toBe('c1');
    expect(outcome.priceVersion).toBe(`${catalog.version}+contracts-test`);
  });

  it('discounts the breakdown lines and the request fee too', () => {
    // sonar: 1000 × 1 + 500 × 1 per million + 12 per thousand requests = 0.0135; × 0.9 = 0.01215
    const set = contracts(contract({ match: { provider: 'perplexity' }, discount_percent: '10' }));
    const outcome = priced(engine(set).price({ provider: 'perplexity', model: 'sonar', usage: { input_tokens: 1000, output_tokens: 500 }, at: AT }));
    expect(formatExact(outcome.effective.total)).toBe('0.01215');
    expect(formatExact(outcome.effective.breakdown.requests!)).toBe('0.0108');
  });

  it('matches the catalog provider id, not the alias the caller used', () => {
    // grok-4 at x-ai: 1M × 3 = 3; 10% off → 2.7
    const set = contracts(contract({ match: { provider: 'x-ai' }, discount_percent: '10' }));
    const outcome = priced(engine(set).price({ provider: 'xai', model: 'grok-4', usage: { input_tokens: 1_000_000 }, at: AT }));
    expect(formatExact(outcome.effective.total)).toBe('2.7');
  });

  it('leaves a call outside every contract at list price, with no contract id', () => {
    const outcome = priced(engine(contracts(contract({ match: { team: 'ads' } }))).price(MINI));
    expect(costs(outcome.effective)).toEqual(['0.15', '0.06', '0.21']);
    expect(outcome.contractId).toBeNull();
    expect(outcome.priceVersion).toBe(catalog.version);
  });
});

describe('custom prices', () => {
  const custom = (match: Record<string, string>) => contract({ id: 'negotiated', match, discount_percent: undefined, prices: { input_mtok: '0.1', output_mtok: '0.2' } });

  it('replaces the list price for a catalog model, keeping list cost beside it', () => {
    // effective: 1M × 0.1 = 0.1, 100k × 0.2 = 0.02
    const outcome = priced(engine(contracts(custom({ model: 'gpt-4o-mini' }))).price(MINI));
    expect(costs(outcome.list)).toEqual(['0.15', '0.06', '0.21']);
    expect(costs(outcome.effective)).toEqual(['0.1', '0.02', '0.12']);
    expect(outcome.model).toBe('gpt-4o-mini');
  });

  it('prices a self-hosted model no catalog provider knows; list = effective', () => {
    // 1M × 0.1 + 500k × 0.2 = 0.1 + 0.1
    const set = contracts(custom({ provider: 'selfhosted', model: 'llama-internal*' }));
    const outcome = priced(engine(set).price({ provider: 'SelfHosted', model: 'llama-internal-70b', usage: { input_tokens: 1_000_000, output_tokens: 500_000 }, at: AT }));
    expect(costs(outcome.list)).toEqual(['0.1', '0.1', '0.2']);
    expect(outcome.effective).toEqual(outcome.list);
    expect(outcome).toMatchObject({ provider: 'selfhosted', model: 'llama-internal-70b', contractId: 'negotiated', priceVersion: `${catalog.version}+contracts-test` });
  });

  it('prices a model the catalog provider does not list', () => {
    // 2000 × 0.1 / 1e6 = 0.0002
    const set = contracts(custom({ model: 'ft:gpt-4o-mini:acme*' }));
    const outcome = priced(engine(set).price({ provider: 'openai', model: 'ft:gpt-4o-mini:acme:1', usage: { input_tokens: 2000 }, at: AT }));
    expect(costs(outcome.list)).toEqual(['0.0002', '0', '0.0002']);
    expect(outcome.model).toBe('ft:gpt-4o-mini:acme:1');
  });

  it('leaves an unknown model unpriced when no contract prices it', () => {
    const outcome = engine(contracts(contract())).price({ provider: 'openai', model: 'ft:gpt-4o-mini:acme:1', usage: { input_tokens: 2000 }, at: AT });
    expect(outcome).toEqual({
      ok: false,
      reason: 'unknown_model',
      message: `no price for model "ft:gpt-4o-mini:acme:1" of provider openai in catalog ${catalog.version}`,
      priceVersion: catalog.version,
    });
  });

  it('reports no_price_in_force when a custom-price contract covers the model only at other times', () => {
    const set = contracts({ ...custom({ provider: 'selfhosted', model: 'llama-internal*' }), effective_to: '2026-02-01' });
    const query = { provider: 'selfhosted', model: 'llama-internal-70b', usage: { input_tokens: 1000 } };
    expect(engine(set).price({ ...query, at: AT })).toEqual({
      ok: false,
      reason: 'no_price_in_force',
      message: 'no contract prices llama-internal-70b of selfhosted at 2026-03-01T12:00:00.000Z',
      priceVersion: catalog.version,
    });
    // 1000 × 0.1 / 1e6 inside the window
    expect(formatExact(priced(engine(set).price({ ...query, at: Date.parse('2026-01-15T00:00:00Z') })).list.total)).toBe('0.0001');
    // a contract for another model does not make it "not in force"
    expect(engine(set).price({ ...query, model: 'mistral-internal', at: AT })).toMatchObject({ ok: false, reason: 'unknown_provider' });
  });

  it('refuses a price with more decimals than prices are held with (18)', () => {
    const tooFine = contract({ discount_percent: undefined, prices: { input_mtok: '0.0000000000000000001' } });
    expect(() => contracts(tooFine)).toThrow('contracts[0].prices.input_mtok: must be a non-negative decimal with at most 18 decimal places');
  });

  it.each([
    [{ cache_read_mtok: '0.1', output_mtok: '1' }, 'contracts[0].prices.cache_read_mtok: needs input_mtok too: it is part of it'],
    [{ input_mtok: '1', output_audio_mtok: '2' }, 'contracts[0].prices.output_audio_mtok: needs output_mtok too: it is part of it'],
    [
      { input_mtok: '1', cache_read_mtok: '0.1', input_audio_mtok: '2' },
      'contracts[0].prices.cache_audio_read_mtok: is needed when both cache_read_mtok and input_audio_mtok are priced',
    ],
  ])('refuses prices whose classes do not nest (%j)', (prices, message) => {
    expect(() => contracts(contract({ discount_percent: undefined, prices }))).toThrow(message);
  });

  it('reports inconsistent usage against the contract prices', () => {
    const set = contracts(contract({ discount_percent: undefined, match: { provider: 'selfhosted' }, prices: { input_mtok: '1', cache_read_mtok: '0.1' } }));
    const outcome = engine(set).price({ provider: 'selfhosted', model: 'm', usage: { input_tokens: 5, cache_read_tokens: 6 }, at: AT });
    expect(outcome).toMatchObject({ ok: false, reason: 'inconsistent_usage' });
  });
});
