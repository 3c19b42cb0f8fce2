import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { beforeAll, describe, expect, it } from 'vitest';
import { importGenaiPrices } from '../../../services/pricing/catalog/catalog-import.ts';
import { priceCatalogData, type PriceCatalogData, type PriceSetData } from '../../../services/pricing/catalog/catalog-schema.ts';
import { BUNDLED_PRICE_CATALOG } from '../../../services/project-paths.ts';
import { GENAI_PRICES_SOURCE } from '../../../services/project-paths.ts';

const SOURCE_PATH = GENAI_PRICES_SOURCE;
const IMPORTED_AT = new Date('2026-01-02T03:04:05.000Z');

function modelOf(catalog: PriceCatalogData, providerId: string, modelId: string) {
  const model = catalog.providers.find((p) => p.id === providerId)?.models.find((m) => m.id === modelId);
  if (!model) throw new Error(`${providerId}/${modelId} not in the import`);
  return model;
}

/** A one-model source file whose prices are written as the raw JSON text given. */
function importPrices(pricesJson: string): PriceSetData {
  const source = `[{"id":"p","name":"P","api_pattern":"https://p","models":[{"id":"m","match":{"equals":"m"},"prices":${pricesJson}}]}]`;
  return importGenaiPrices(source, IMPORTED_AT).providers[0]!.models[0]!.prices as PriceSetData;
}

describe('importing the genai-prices data file', () => {
  const text = readFileSync(SOURCE_PATH, 'utf8');
  let imported: PriceCatalogData;
  beforeAll(() => {
    imported = importGenaiPrices(text, IMPORTED_AT);
  });

  it('keeps every provider and model, in file order', () => {
    expect(imported.providers).toHaveLength(34);
    expect(imported.providers.reduce((n, p) => n + p.models.length, 0)).toBe(1442);
    expect(imported.providers.slice(0, 4).map((p) => p.id)).toEqual(['anthropic', 'avian', 'aws', 'azure']);
    expect(imported.providers.at(-1)!.id).toBe('zhipuai');
  });

  it('keeps float-artefact literals verbatim, never through a double', () => {
    expect(modelOf(imported, 'huggingface_together', 'Qwen/Qwen3-VL-8B-Instruct').prices).toEqual({ input_mtok: '0.18000000000000002', output_mtok: '0.68' });
    const openrouterThirds = imported.providers
      .find((p) => p.id === 'openrouter')!
      .models.filter((m) => JSON.stringify(m.prices).includes('"0.08333333333333334"'));
    expect(openrouterThirds).toHaveLength(6);
  });

  it('keeps tier starts as numbers and prices as decimal text', () => {
    expect(modelOf(imported, 'anthropic', 'claude-sonnet-4-5').prices).toEqual({
      input_mtok: { base: '3', tiers: [{ start: 200000, price: '6' }] },
      cache_write_mtok: { base: '3.75', tiers: [{ start: 200000, price: '7.5' }] },
      cache_read_mtok: { base: '0.3', tiers: [{ start: 200000, price: '0.6' }] },
      output_mtok: { base: '15', tiers: [{ start: 200000, price: '22.5' }] },
    });
  });

  it('keeps conditional price lists and free models as they are', () => {
    const models = imported.providers.flatMap((p) => p.models);
    expect(models.filter((m) => Array.isArray(m.prices))).toHaveLength(9);
    expect(models.filter((m) => !Array.isArray(m.prices) && Object.keys(m.prices).length === 0)).toHaveLength(157);
    expect(modelOf(imported, 'deepseek', 'deepseek-chat').prices).toEqual([
      { prices: { input_mtok: '0.135', cache_read_mtok: '0.035', output_mtok: '0.55' } },
      { constraint: { start_time: '00:30:00Z', end_time: '16:30:00Z' }, prices: { input_mtok: '0.27', cache_read_mtok: '0.07', output_mtok: '1.1' } },
    ]);
  });

  it('drops descriptive fields and keeps the ones pricing needs', () => {
    const google = imported.providers.find((p) => p.id === 'google')!;
    expect(Object.keys(google).sort()).toEqual(['api_pattern', 'extractors', 'fallback_model_providers', 'id', 'model_match', 'models', 'name', 'provider_match']);
    const serialized = JSON.stringify(imported);
    for (const dropped of ['"description"', '"pricing_urls"', '"context_window"', '"price_comments"']) expect(serialized).not.toContain(dropped);
  });

  it('names the version after the source hash and records the source', () => {
    const sha256 = createHash('sha256').update(text).digest('hex');
    expect(imported.version).toBe(`genai-prices-${sha256.slice(0, 12)}`);
    expect(imported.format).toBe('spendline-price-catalog/1');
    expect(imported.source).toEqual({ name: 'genai-prices (pydantic/genai-prices)', license: 'MIT', sha256, imported_at: '2026-01-02T03:04:05.000Z' });
  });

  it('validates against the catalog schema', () => {
    expect(validate(priceCatalogData, JSON.parse(JSON.stringify(imported))).ok).toBe(true);
  });

  it('matches the bundled catalog apart from the import time', () => {
    const bundled = JSON.parse(readFileSync(BUNDLED_PRICE_CATALOG, 'utf8')) as PriceCatalogData;
    expect({ ...imported, source: { ...imported.source, imported_at: '' } }).toEqual({ ...bundled, source: { ...bundled.source, imported_at: '' } });
  });
});

describe('number literals', () => {
  it.each([
    ['1e-7', '0.0000001'],
    ['1.5e-7', '0.00000015'],
    ['2.5E-3', '0.0025'],
    ['1.5e2', '150'],
    ['1.5E+2', '150'],
    ['8', '8'],
    ['2.50', '2.5'],
    ['0.000', '0'],
    ['007', '7'],
    ['0.18000000000000002', '0.18000000000000002'],
    ['12345678901234567890.123456789012345678', '12345678901234567890.123456789012345678'],
  ])('price %s imports as %j', (literal, expected) => {
    expect(importPrices(`{"input_mtok":${literal}}`)).toEqual({ input_mtok: expected });
  });

  it('keeps a tier start a number, however it is written', () => {
    expect(importPrices('{"input_mtok":{"base":2.50,"tiers":[{"start":2e5,"price":1.5E+1}]}}')).toEqual({ input_mtok: { base: '2.5', tiers: [{ start: 200000, price: '15' }] } });
  });

  it('leaves digits inside strings alone, escaped quotes included', () => {
    const source = '[{"id":"p","name":"P \\"7\\" 1e5, -3","api_pattern":"https://p\\\\.example/v[0-9]+","models":[{"id":"m-1e5","match":{"regex":"^m-\\\\d{8}$"},"prices":{"input_mtok":1}}]}]';
    const provider = importGenaiPrices(source, IMPORTED_AT).providers[0]!;
    expect(provider.name).toBe('P "7" 1e5, -3');
    expect(provider.api_pattern).toBe('https://p\\.example/v[0-9]+');
    expect(provider.models[0]).toEqual({ id: 'm-1e5', match: { regex: '^m-\\d{8}$' }, prices: { input_mtok: '1' } });
  });
});

describe('bad input', () => {
  it('refuses a file that is not an array of providers', () => {
    expect(() => importGenaiPrices('{"providers":[]}', IMPORTED_AT)).toThrow('the genai-prices data file is a JSON array of providers');
  });

  it('refuses a negative price, naming where it is', () => {
    expect(() => importPrices('{"input_mtok":-1}')).toThrow(/does not fit the catalog format:\n\s+providers\[0\]\.models\[0\]\.prices/);
  });

  it('refuses an unknown price key', () => {
    expect(() => importPrices('{"image_kcount":1}')).toThrow(/does not fit the catalog format/);
  });
});
