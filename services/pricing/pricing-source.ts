import type { PricingConfig } from '../config/config.ts';
import { FileBacked } from '../config/file-backed.ts';
import type { Logger } from '../logging/logger.ts';
import { BUNDLED_PRICE_CATALOG } from '../project-paths.ts';
import { Contracts } from './contracts.ts';
import { PriceCatalog } from './price-catalog.ts';
import { PricingEngine } from './pricing-engine.ts';

/**
 * The pricing engine, kept in step with the catalog and contracts files: a
 * changed contract takes effect without a restart, and one that fails to load
 * leaves the previous prices in force (see FileBacked).
 */
export class PricingSource extends FileBacked<PricingEngine> {
  constructor(config: PricingConfig, log: Logger, checkEveryMs = 5_000) {
    const catalogFile = config.catalogFile ?? BUNDLED_PRICE_CATALOG;
    super({
      files: [catalogFile, config.contractsFile],
      load: () => new PricingEngine(PriceCatalog.fromFile(catalogFile), config.contractsFile ? Contracts.fromFile(config.contractsFile) : Contracts.none),
      describe: (engine) => ({ catalog: engine.catalog.version, contracts: engine.contracts.version }),
      log: log.child({ component: 'pricing' }),
      checkEveryMs,
    });
  }
}
