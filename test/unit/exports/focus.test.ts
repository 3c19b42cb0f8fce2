import { describe, expect, it } from 'vitest';
import { focusColumns, focusRow, pricingQuantity, unitPrice, type FocusSum } from '../../../services/exports/focus.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOV_2 = Date.UTC(2026, 10, 2);
const MONTH = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

const sum = (overrides: Partial<FocusSum>): FocusSum => ({
  period_epoch: NOV_2 / 1000,
  provider: 'openai',
  model: 'gpt-4o-mini',
  tenant_id: '',
  cost_center: 'cc-search',
  team: 'search',
  feature: 'answers',
  environment: 'prod',
  user_id: 'u-1',
  cost_status: 'priced',
  sku_class: 'input',
  consumed_total: '0',
  effective_total: '0',
  list_total: '0',
  ...overrides,
});

describe('FOCUS columns', () => {
  it('has every column FOCUS 1.2 makes mandatory, the token columns, and x_ columns for the owner', () => {
    const columns = focusColumns('1.2');
    for (const mandatory of [
      'BilledCost', 'EffectiveCost', 'ListCost', 'ContractedCost', 'BillingAccountId', 'BillingAccountName', 'BillingCurrency', 'BillingPeriodStart', 'BillingPeriodEnd',
      'ChargePeriodStart', 'ChargePeriodEnd', 'ChargeCategory', 'ChargeClass', 'ChargeDescription', 'PricingQuantity', 'PricingUnit', 'ProviderName',
      'PublisherName', 'InvoiceIssuerName', 'ServiceName', 'ServiceCategory', 'ServiceSubcategory',
      'ConsumedQuantity', 'ConsumedUnit', 'SkuId', 'SkuPriceId', 'SkuPriceDetails', 'ListUnitPrice', 'Tags',
      'x_Team', 'x_Feature', 'x_Environment', 'x_CostCenter', 'x_TenantId', 'x_UserId',
    ]) {
      expect(columns).toContain(mandatory);
    }
    expect(columns.filter((column) => !column.startsWith('x_'))).toEqual([...columns.filter((column) => !column.startsWith('x_'))].sort());
    expect(columns).not.toContain('ServiceProviderName');
  });

  it('adds the FOCUS 1.3 columns in order', () => {
    const columns = focusColumns('1.3');
    expect(columns).toEqual(expect.arrayContaining(['ServiceProviderName', 'HostProviderName', 'AllocatedMethodId', 'AllocatedMethodDetails', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags']));
    expect(columns.length).toBe(focusColumns('1.2').length + 7);
  });
});

describe('focusRow', () => {
  it('maps plain input tokens of a model to one SKU row with exact quantities and prices', () => {
    // 600 + 2,000,000 input tokens at 0.15 USD per million.
    const row = focusRow(sum({ sku_class: 'input', consumed_total: '2000600', effective_total: '0.30009', list_total: '0.30009' }), '1.2', MONTH);
    expect(row).toEqual({
      BilledCost: '0.30009',
      BillingAccountId: 'openai',
      BillingAccountName: 'openai',
      BillingCurrency: 'USD',
      BillingPeriodEnd: '2026-12-01T00:00:00Z',
      BillingPeriodStart: '2026-11-01T00:00:00Z',
      ChargeCategory: 'Usage',
      ChargeClass: null,
      ChargeDescription: 'Input Tokens of gpt-4o-mini (openai)',
      ChargeFrequency: 'Usage-Based',
      ChargePeriodEnd: '2026-11-03T00:00:00Z',
      ChargePeriodStart: '2026-11-02T00:00:00Z',
      ConsumedQuantity: '2000600',
      ConsumedUnit: 'Tokens',
      ContractedCost: '0.30009',
      ContractedUnitPrice: '0.15',
      EffectiveCost: '0.30009',
      InvoiceIssuerName: 'openai',
      ListCost: '0.30009',
      ListUnitPrice: '0.15',
      PricingCategory: 'Standard',
      PricingQuantity: '2.0006',
      PricingUnit: '1000000 Tokens',
      ProviderName: 'openai',
      PublisherName: 'OpenAI',
      ServiceCategory: 'AI and Machine Learning',
      ServiceName: 'openai API',
      ServiceSubcategory: 'Generative AI',
      SkuId: 'openai/gpt-4o-mini/input',
      SkuMeter: 'Input Tokens',
      SkuPriceDetails: { ModelDeveloper: 'OpenAI', ModelId: 'gpt-4o-mini', TokenDirection: 'Input' },
      SkuPriceId: 'openai/gpt-4o-mini/input',
      Tags: { cost_center: 'cc-search', team: 'search', feature: 'answers', environment: 'prod' },
      x_CostCenter: 'cc-search',
      x_CostStatus: 'priced',
      x_Environment: 'prod',
      x_Feature: 'answers',
      x_TenantId: null,
      x_Team: 'search',
      x_UserId: 'u-1',
    });
    expect(Object.keys(row).sort()).toEqual([...focusColumns('1.2')].sort());
  });

  it.each<[FocusSum['sku_class'], string, string, string, string, Record<string, string>]>([
    ['cache_read', '400', '0.00003', 'openai/gpt-4o-mini/cached-input-read', '0.075', { TokenDirection: 'Input', CacheAction: 'Read' }],
    ['cache_write', '1000', '0.00375', 'openai/gpt-4o-mini/cache-write', '3.75', { TokenDirection: 'Input', CacheAction: 'Write' }],
    ['output', '500200', '0.30012', 'openai/gpt-4o-mini/output', '0.6', { TokenDirection: 'Output' }],
    ['input_audio', '10', '0.0001', 'openai/gpt-4o-mini/input-audio', '10', { TokenDirection: 'Input', Modality: 'Audio' }],
    ['cache_audio_read', '10', '0.000025', 'openai/gpt-4o-mini/cached-audio-input-read', '2.5', { TokenDirection: 'Input', CacheAction: 'Read', Modality: 'Audio' }],
    ['output_audio', '10', '0.0002', 'openai/gpt-4o-mini/output-audio', '20', { TokenDirection: 'Output', Modality: 'Audio' }],
  ])('maps %s to its own SKU', (skuClass, tokens, cost, skuId, price, details) => {
    const row = focusRow(sum({ sku_class: skuClass, consumed_total: tokens, effective_total: cost, list_total: cost }), '1.2', MONTH);
    expect(row).toMatchObject({ SkuId: skuId, SkuPriceId: skuId, ConsumedQuantity: tokens, ConsumedUnit: 'Tokens', ListUnitPrice: price, EffectiveCost: cost });
    expect(row['SkuPriceDetails']).toEqual({ ModelDeveloper: 'OpenAI', ModelId: 'gpt-4o-mini', ...details });
  });

  it('shows a contract as contracted below list cost, both unit prices exact', () => {
    // 25 % off: 1,000,000 input tokens, list 0.15, effective 0.1125.
    const row = focusRow(sum({ consumed_total: '1000000', effective_total: '0.1125', list_total: '0.15' }), '1.2', MONTH);
    expect(row).toMatchObject({ BilledCost: '0.1125', EffectiveCost: '0.1125', ContractedCost: '0.1125', ContractedUnitPrice: '0.1125', ListCost: '0.15', ListUnitPrice: '0.15', PricingQuantity: '1' });
  });

  it('prices the per-request fee per thousand requests', () => {
    const row = focusRow(sum({ sku_class: 'requests', consumed_total: '3', effective_total: '0.003', list_total: '0.003' }), '1.2', MONTH);
    expect(row).toMatchObject({ SkuId: 'openai/gpt-4o-mini/requests', ConsumedUnit: 'Requests', PricingUnit: '1000 Requests', PricingQuantity: '0.003', ListUnitPrice: '1', SkuMeter: 'Requests' });
  });

  it('shows unpriced usage at cost 0 with no unit price, never as free usage', () => {
    const row = focusRow(sum({ model: 'house-model', cost_status: 'unpriced', consumed_total: '50' }), '1.2', MONTH);
    expect(row).toMatchObject({
      ChargeDescription: 'Input Tokens of house-model (openai), not priced',
      BilledCost: '0',
      ListCost: '0',
      ListUnitPrice: null,
      ContractedUnitPrice: null,
      PricingQuantity: '0.00005',
      x_CostStatus: 'unpriced',
      PublisherName: 'openai',
    });
  });

  it('clips the charge period to the range and names the calendar month as the billing period', () => {
    const dec31 = Date.UTC(2026, 11, 31);
    const range = { from: dec31 + 6 * 60 * 60 * 1000, to: dec31 + DAY + 60 * 60 * 1000 };
    const row = focusRow(sum({ period_epoch: dec31 / 1000, consumed_total: '1', effective_total: '0.00000015', list_total: '0.00000015' }), '1.2', range);
    expect(row).toMatchObject({
      ChargePeriodStart: '2026-12-31T06:00:00Z',
      ChargePeriodEnd: '2027-01-01T00:00:00Z',
      BillingPeriodStart: '2026-12-01T00:00:00Z',
      BillingPeriodEnd: '2027-01-01T00:00:00Z',
    });
  });

  it('leaves Tags null when the row has no owner, and names the developer and snapshot of a hosted model', () => {
    const row = focusRow(
      sum({ provider: 'aws', model: 'anthropic.claude-3-5-sonnet-20241022-v2:0', tenant_id: '', cost_center: '', team: '', feature: '', environment: '', user_id: '', consumed_total: '1000', effective_total: '0.003', list_total: '0.003' }),
      '1.2',
      MONTH,
    );
    expect(row).toMatchObject({ Tags: null, x_Team: null, x_UserId: null, PublisherName: 'Anthropic', ProviderName: 'aws', ListUnitPrice: '3' });
    expect(row['SkuPriceDetails']).toEqual({ ModelDeveloper: 'Anthropic', ModelId: 'anthropic.claude-3-5-sonnet-20241022-v2:0', ModelVersion: '20241022-v2:0', TokenDirection: 'Input' });
  });

  it('fills ServiceProviderName and HostProviderName in FOCUS 1.3 and leaves the Allocated* columns null', () => {
    const row = focusRow(sum({ consumed_total: '1000', effective_total: '0.00015', list_total: '0.00015' }), '1.3', MONTH);
    expect(row).toMatchObject({
      ServiceProviderName: 'openai',
      HostProviderName: 'openai',
      AllocatedMethodId: null,
      AllocatedMethodDetails: null,
      AllocatedResourceId: null,
      AllocatedResourceName: null,
      AllocatedTags: null,
    });
    expect(Object.keys(row).sort()).toEqual([...focusColumns('1.3')].sort());
  });
});

describe('exact quantities and unit prices', () => {
  it.each<[bigint, bigint, string]>([
    [1_500n, 1_000_000n, '0.0015'],
    [1_000_000n, 1_000_000n, '1'],
    [123_456_789_012n, 1_000_000n, '123456.789012'],
    [7n, 1_000n, '0.007'],
    [0n, 1_000_000n, '0'],
  ])('%s units are %s pricing units of %s', (consumed, per, quantity) => {
    expect(pricingQuantity(consumed, per)).toBe(quantity);
  });

  it('divides cost by pricing quantity exactly when one price made it, half-even at 18 decimals otherwise', () => {
    expect(unitPrice('0.30009', 2_000_600n, 1_000_000n)).toBe('0.15');
    // A catalog price with more than 6 decimals: 0.0000375 per token over 3 tokens, stored rounded.
    expect(unitPrice('0.000000000113', 3n, 1_000_000n)).toBe('0.000037666666666667');
    expect(unitPrice('0.1', 0n, 1_000_000n)).toBeNull();
  });
});
