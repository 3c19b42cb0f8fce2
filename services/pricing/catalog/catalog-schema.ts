import { z } from 'zod';

/**
 * The project's price catalog format: genai-prices' provider/model data with
 * every number kept as the exact decimal text the source wrote. Loaded and
 * checked at start; produced by catalog-import.ts.
 */

/** Prices are computed with 18 decimals (model-prices.ts PRICE_SCALE). */
const decimalText = z.string().regex(/^\d+(?:\.\d{1,18})?$/, 'must be a non-negative decimal with at most 18 decimal places');

export const PRICE_KEYS = [
  'input_mtok',
  'cache_read_mtok',
  'cache_write_mtok',
  'input_audio_mtok',
  'cache_audio_read_mtok',
  'output_mtok',
  'output_audio_mtok',
  'requests_kcount',
] as const;
export type PriceKey = (typeof PRICE_KEYS)[number];

const tieredPrice = z.object({
  base: decimalText,
  tiers: z.array(z.object({ start: z.number().int().nonnegative(), price: decimalText })).min(1),
});
export type TieredPriceData = z.infer<typeof tieredPrice>;

const priceValue = z.union([decimalText, tieredPrice]);
export type PriceValueData = z.infer<typeof priceValue>;

/**
 * A price set's classes must nest the way usage does (genai-prices' own
 * checks): a part is priced only if its whole is, and cached audio input is
 * priced whenever both cached and audio input are — or a class would be
 * charged nothing, or twice.
 */
export const priceSet = z.partialRecord(z.enum(PRICE_KEYS), priceValue).superRefine((prices, ctx) => {
  const needs = (key: PriceKey, parents: readonly PriceKey[]) => {
    if (prices[key] === undefined) return;
    for (const parent of parents) {
      if (prices[parent] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `needs ${parent} too: it is part of it` });
    }
  };
  needs('cache_read_mtok', ['input_mtok']);
  needs('cache_write_mtok', ['input_mtok']);
  needs('input_audio_mtok', ['input_mtok']);
  needs('cache_audio_read_mtok', ['input_mtok', 'cache_read_mtok', 'input_audio_mtok']);
  needs('output_audio_mtok', ['output_mtok']);
  if (prices.cache_read_mtok !== undefined && prices.input_audio_mtok !== undefined && prices.cache_audio_read_mtok === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cache_audio_read_mtok'], message: 'is needed when both cache_read_mtok and input_audio_mtok are priced' });
  }
});
export type PriceSetData = z.infer<typeof priceSet>;

const constraint = z.union([
  z.strictObject({ start_date: z.iso.date() }),
  z.strictObject({ start_time: z.string().regex(/^\d{2}:\d{2}:\d{2}Z$/), end_time: z.string().regex(/^\d{2}:\d{2}:\d{2}Z$/) }),
]);
export type ConstraintData = z.infer<typeof constraint>;

const conditionalPrices = z.array(z.object({ constraint: constraint.optional(), prices: priceSet })).min(1);

export type ClauseData =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: ClauseData[] }
  | { and: ClauseData[] };

export const clause: z.ZodType<ClauseData> = z.lazy(() =>
  z.union([
    z.strictObject({ equals: z.string() }),
    z.strictObject({ starts_with: z.string() }),
    z.strictObject({ ends_with: z.string() }),
    z.strictObject({ contains: z.string() }),
    z.strictObject({ regex: z.string() }),
    z.strictObject({ or: z.array(clause).min(1) }),
    z.strictObject({ and: z.array(clause).min(1) }),
  ]),
);

const arrayMatch = z.strictObject({ type: z.literal('array-match'), field: z.string(), match: clause });
const path = z.union([z.string(), z.array(z.union([z.string(), arrayMatch])).min(1)]);
export type PathData = z.infer<typeof path>;

export const USAGE_KEYS = [
  'input_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'input_audio_tokens',
  'cache_audio_read_tokens',
  'output_tokens',
  'output_audio_tokens',
] as const;
export type UsageKey = (typeof USAGE_KEYS)[number];

const extractor = z.object({
  api_flavor: z.string().default('default'),
  root: path,
  model_path: path.default('model'),
  mappings: z.array(z.object({ path, dest: z.enum(USAGE_KEYS), required: z.boolean().default(true) })).min(1),
});
export type ExtractorData = z.infer<typeof extractor>;

const model = z.object({
  id: z.string(),
  name: z.string().optional(),
  match: clause,
  prices: z.union([priceSet, conditionalPrices]),
  deprecated: z.boolean().optional(),
});
export type ModelData = z.infer<typeof model>;

const provider = z.object({
  id: z.string(),
  name: z.string(),
  api_pattern: z.string(),
  provider_match: clause.optional(),
  model_match: clause.optional(),
  fallback_model_providers: z.array(z.string()).optional(),
  extractors: z.array(extractor).optional(),
  models: z.array(model),
});
export type ProviderData = z.infer<typeof provider>;

export const priceCatalogData = z.object({
  format: z.literal('spendline-price-catalog/1'),
  version: z.string(),
  source: z.object({ name: z.string(), license: z.string(), sha256: z.string(), imported_at: z.string() }),
  providers: z.array(provider).min(1),
});
export type PriceCatalogData = z.infer<typeof priceCatalogData>;
