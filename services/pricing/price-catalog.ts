import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { priceCatalogData, type ExtractorData, type PriceCatalogData } from './catalog/catalog-schema.ts';
import { compileClause, type Matcher } from './match-clause.ts';
import { compileSchedule, type PriceSchedule } from './model-prices.ts';

/**
 * The loaded price catalog: providers and models compiled for lookup, with
 * genai-prices' resolution rules.
 *
 * Provider: by id (exact id, then each provider's provider_match in file
 * order), else by API URL (api_pattern, anchored at the start), else by the
 * model name (each provider's model_match in file order). An unknown id or
 * URL is an error, not a reason to try the next way.
 *
 * Model: the provider's first model (file order) whose match holds for the
 * lower-cased, trimmed name; then its fallback providers' models, one level deep.
 */

export interface CatalogModel {
  readonly id: string;
  readonly name: string | undefined;
  readonly providerId: string;
  readonly schedule: PriceSchedule;
}

export interface CatalogProvider {
  readonly id: string;
  readonly name: string;
  readonly extractors: readonly ExtractorData[];
  readonly apiPattern: RegExp;
  readonly providerMatch: Matcher | null;
  readonly modelMatch: Matcher | null;
  readonly fallbackIds: readonly string[];
  readonly models: readonly (CatalogModel & { readonly match: Matcher })[];
}

export type Lookup<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

export class PriceCatalog {
  readonly version: string;
  readonly providers: readonly CatalogProvider[];
  readonly #byId = new Map<string, CatalogProvider>();
  /** Name lookups repeat endlessly in a stream of events; each is resolved once. */
  readonly #providerCache = new Map<string, Lookup<CatalogProvider>>();
  readonly #modelCache = new Map<string, Lookup<CatalogModel>>();

  constructor(data: PriceCatalogData) {
    this.version = data.version;
    this.providers = data.providers.map((provider) => ({
      id: provider.id,
      name: provider.name,
      extractors: provider.extractors ?? [],
      apiPattern: new RegExp(`^(?:${provider.api_pattern})`),
      providerMatch: provider.provider_match ? compileClause(provider.provider_match) : null,
      modelMatch: provider.model_match ? compileClause(provider.model_match) : null,
      fallbackIds: provider.fallback_model_providers ?? [],
      models: provider.models.map((model) => ({
        id: model.id,
        name: model.name,
        providerId: provider.id,
        match: compileClause(model.match),
        schedule: compileSchedule(model.prices),
      })),
    }));
    for (const provider of this.providers) this.#byId.set(provider.id, provider);
  }

  static fromFile(path: string): PriceCatalog {
    const checked = validate(priceCatalogData, JSON.parse(readFileSync(path, 'utf8')));
    if (!checked.ok) throw new Error(`${path} is not a valid price catalog: ${checked.issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    return new PriceCatalog(checked.value);
  }

  /** A provider by its id or an alias its provider_match accepts ("bedrock" → aws, "vertex_ai" → google). */
  providerById(id: string): Lookup<CatalogProvider> {
    const key = id.trim().toLowerCase();
    const cached = this.#providerCache.get(key);
    if (cached) return cached;
    const provider = this.#byId.get(key) ?? this.providers.find((p) => p.providerMatch?.(key));
    const found: Lookup<CatalogProvider> = provider ? { ok: true, value: provider } : { ok: false, reason: `no provider ${JSON.stringify(id)} in the price catalog` };
    this.#providerCache.set(key, found);
    return found;
  }

  providerByUrl(url: string): Lookup<CatalogProvider> {
    const provider = this.providers.find((p) => p.apiPattern.test(url));
    return provider ? { ok: true, value: provider } : { ok: false, reason: `no provider in the price catalog serves ${url}` };
  }

  providerByModel(model: string): Lookup<CatalogProvider> {
    const key = model.trim().toLowerCase();
    const provider = this.providers.find((p) => p.modelMatch?.(key));
    return provider ? { ok: true, value: provider } : { ok: false, reason: `no provider in the price catalog is known for model ${JSON.stringify(model)}` };
  }

  /** The model a provider prices under this name, its own models first, then its fallback providers'. */
  findModel(provider: CatalogProvider, model: string): Lookup<CatalogModel> {
    const name = model.trim().toLowerCase();
    const cacheKey = `${provider.id}\u0000${name}`;
    const cached = this.#modelCache.get(cacheKey);
    if (cached) return cached;
    let found = provider.models.find((m) => m.match(name));
    for (const fallbackId of provider.fallbackIds) {
      if (found) break;
      found = this.#byId.get(fallbackId)?.models.find((m) => m.match(name));
    }
    const result: Lookup<CatalogModel> = found
      ? { ok: true, value: found }
      : { ok: false, reason: `no price for model ${JSON.stringify(model)} of provider ${provider.id} in catalog ${this.version}` };
    if (this.#modelCache.size < 100_000) this.#modelCache.set(cacheKey, result);
    return result;
  }
}
