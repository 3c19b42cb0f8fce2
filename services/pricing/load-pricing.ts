import type { PricingConfig } from '../config/config.ts';
import { BUNDLED_PRICE_CATALOG } from '../project-paths.ts';
import { Contracts } from './contracts.ts';
import { PriceCatalog } from './price-catalog.ts';
import { PricingEngine } from './pricing-engine.ts';

/** The pricing engine for a configuration: the bundled or configured catalog, plus contracts if any. */
export function loadPricingEngine(config: PricingConfig): PricingEngine {
  const catalog = PriceCatalog.fromFile(config.catalogFile ?? BUNDLED_PRICE_CATALOG);
  const contracts = config.contractsFile ? Contracts.fromFile(config.contractsFile) : Contracts.none;
  return new PricingEngine(catalog, contracts);
}
