import { Contracts } from '../../services/pricing/contracts.ts';
import { PriceCatalog } from '../../services/pricing/price-catalog.ts';
import { PricingEngine } from '../../services/pricing/pricing-engine.ts';
import { BUNDLED_PRICE_CATALOG } from '../../services/project-paths.ts';

/** The bundled catalog, loaded once per test process. */
export const catalog = PriceCatalog.fromFile(BUNDLED_PRICE_CATALOG);

export function engine(contracts: Contracts = Contracts.none): PricingEngine {
  return new PricingEngine(catalog, contracts);
}
