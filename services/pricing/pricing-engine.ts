import { multiply, type ExactDecimal } from '../money/exact-decimal.ts';
import { calculateCost, COST_CLASSES, type CostCalculation, type CostClass, type TokenUsage } from './cost-calculation.ts';
import type { Contracts } from './contracts.ts';
import { pricesAt } from './model-prices.ts';
import type { PriceCatalog } from './price-catalog.ts';
import { extractUsage } from './usage-extractors.ts';

/**
 * One pricing engine for the enricher, `spendline price`, POST /v1/price and
 * repricing, so all of them agree on every cost: catalog list price at the
 * time of the call, then the contract in force (if any) for the effective cost.
 */

export interface PriceQuery {
  /** Catalog provider id or alias ("openai", "bedrock"); else found from providerUrl or the model name. */
  readonly provider?: string | null;
  readonly providerUrl?: string | null;
  /** Model name; else read from the body. */
  readonly model?: string | null;
  /** Extractor flavour for body ("default", "chat", "responses", ...). */
  readonly apiFlavor?: string | null;
  /** Provider response or usage object, when usage is not given. */
  readonly body?: unknown;
  /** Token classes, when already known (they take precedence over body). */
  readonly usage?: TokenUsage | null;
  /** When the call happened (epoch ms): picks the price in force. */
  readonly at: number;
  readonly team?: string | null;
  readonly environment?: string | null;
}

/** Why a call could not be priced: kept on unpriced events, counted in reports. */
export type UnpricedReason = 'unknown_provider' | 'unknown_model' | 'usage_not_extractable' | 'inconsistent_usage' | 'no_price_in_force';

export interface PricedCall {
  readonly ok: true;
  readonly provider: string;
  /** Catalog model id (or the contract's model name for models priced only by contract). */
  readonly model: string;
  readonly usage: TokenUsage;
  readonly list: CostCalculation;
  readonly effective: CostCalculation;
  readonly contractId: string | null;
  /** Catalog version, and the contracts version when a contract applied. */
  readonly priceVersion: string;
}

export type PricingOutcome = PricedCall | { readonly ok: false; readonly reason: UnpricedReason; readonly message: string; readonly priceVersion: string };

export class PricingEngine {
  readonly catalog: PriceCatalog;
  readonly contracts: Contracts;

  constructor(catalog: PriceCatalog, contracts: Contracts) {
    this.catalog = catalog;
    this.contracts = contracts;
  }

  price(query: PriceQuery): PricingOutcome {
    const fail = (reason: UnpricedReason, message: string): PricingOutcome => ({ ok: false, reason, message, priceVersion: this.catalog.version });

    const found = this.#provider(query);
    let usage = query.usage ?? null;
    let model = query.model ?? null;
    if (usage === null) {
      if (!found.ok) return fail('unknown_provider', found.reason);
      if (query.body === undefined) return fail('usage_not_extractable', 'neither usage nor a body to extract it from was given');
      const extracted = extractUsage(found.value, query.body, query.apiFlavor ?? 'default');
      if (!extracted.ok) return fail('usage_not_extractable', extracted.reason);
      usage = extracted.usage;
      model ??= extracted.model;
    }
    if (!model) return fail('unknown_model', 'no model given, and none in the body');

    const providerId = found.ok ? found.value.id : (query.provider ?? '').trim().toLowerCase();
    const call = { provider: providerId, model, team: query.team ?? null, environment: query.environment ?? null, at: query.at };
    const terms = this.contracts.termsFor(call);
    const catalogModel = found.ok ? this.catalog.findModel(found.value, model) : null;

    if (!catalogModel?.ok) {
      // Not in the catalog: only a contract with its own prices (a self-hosted model, say) can price it.
      if (terms?.kind !== 'prices') {
        if (this.contracts.pricesAtOtherTimes(call)) {
          return fail('no_price_in_force', `no contract prices ${model} of ${providerId} at ${new Date(query.at).toISOString()}`);
        }
        if (!found.ok) return fail('unknown_provider', found.reason);
        return fail('unknown_model', catalogModel?.ok === false ? catalogModel.reason : `no price for model ${model}`);
      }
      const cost = calculateCost(terms.prices, usage);
      if (!cost.ok) return fail('inconsistent_usage', cost.reason);
      return { ok: true, provider: providerId, model, usage, list: cost.cost, effective: cost.cost, contractId: terms.id, priceVersion: `${this.catalog.version}+${this.contracts.version}` };
    }

    const list = calculateCost(pricesAt(catalogModel.value.schedule, query.at), usage);
    if (!list.ok) return fail('inconsistent_usage', list.reason);
    let effective = list.cost;
    if (terms?.kind === 'prices') {
      const negotiated = calculateCost(terms.prices, usage);
      if (!negotiated.ok) return fail('inconsistent_usage', negotiated.reason);
      effective = negotiated.cost;
    } else if (terms?.kind === 'discount') {
      effective = scaleCost(list.cost, terms.keepFraction);
    }
    return {
      ok: true,
      provider: providerId,
      model: catalogModel.value.id,
      usage,
      list: list.cost,
      effective,
      contractId: terms?.id ?? null,
      priceVersion: terms ? `${this.catalog.version}+${this.contracts.version}` : this.catalog.version,
    };
  }

  #provider(query: PriceQuery) {
    if (query.provider) return this.catalog.providerById(query.provider);
    if (query.providerUrl) return this.catalog.providerByUrl(query.providerUrl);
    if (query.model) return this.catalog.providerByModel(query.model);
    return { ok: false as const, reason: 'no provider given' };
  }
}

/** Every line of a cost times a factor (a discount), exactly. */
function scaleCost(cost: CostCalculation, factor: ExactDecimal): CostCalculation {
  const breakdown: Partial<Record<CostClass, ExactDecimal>> = {};
  for (const cls of COST_CLASSES) {
    const value = cost.breakdown[cls];
    if (value !== undefined) breakdown[cls] = multiply(value, factor);
  }
  return { breakdown, input: multiply(cost.input, factor), output: multiply(cost.output, factor), total: multiply(cost.total, factor) };
}

