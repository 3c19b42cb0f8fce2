import { statSync } from 'node:fs';
import type { PricingConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { BUNDLED_PRICE_CATALOG } from '../project-paths.ts';
import { Contracts } from './contracts.ts';
import { PriceCatalog } from './price-catalog.ts';
import { PricingEngine } from './pricing-engine.ts';

/**
 * The pricing engine, kept in step with its files: when the catalog or the
 * contracts file changes on disk, the next look (at most every
 * `checkEveryMs`) loads the new version. A file that fails to load is
 * reported and the last good engine stays in force — a typo in a contract
 * never stops pricing.
 */
export class PricingSource {
  readonly #config: PricingConfig;
  readonly #log: Logger;
  readonly #checkEveryMs: number;
  #engine: PricingEngine;
  #stamp: string;
  #checkedAt = 0;

  constructor(config: PricingConfig, log: Logger, checkEveryMs = 5_000) {
    this.#config = config;
    this.#log = log.child({ component: 'pricing' });
    this.#checkEveryMs = checkEveryMs;
    this.#stamp = this.#fileStamp();
    this.#engine = this.#load();
    this.#log.info({ catalog: this.#engine.catalog.version, contracts: this.#engine.contracts.version }, 'pricing loaded');
  }

  /** The engine for the current files. */
  current(now = Date.now()): PricingEngine {
    if (now - this.#checkedAt >= this.#checkEveryMs) this.refresh(now);
    return this.#engine;
  }

  /** Reloads now if a file changed (repricing calls this so it always uses what is on disk). */
  refresh(now = Date.now()): PricingEngine {
    this.#checkedAt = now;
    const stamp = this.#fileStamp();
    if (stamp === this.#stamp) return this.#engine;
    try {
      const engine = this.#load();
      this.#engine = engine;
      this.#stamp = stamp;
      this.#log.info({ catalog: engine.catalog.version, contracts: engine.contracts.version }, 'pricing files changed; reloaded');
    } catch (err) {
      this.#stamp = stamp;
      this.#log.error({ err }, 'pricing files changed but do not load; the previous prices stay in force');
    }
    return this.#engine;
  }

  #load(): PricingEngine {
    const catalog = PriceCatalog.fromFile(this.#config.catalogFile ?? BUNDLED_PRICE_CATALOG);
    const contracts = this.#config.contractsFile ? Contracts.fromFile(this.#config.contractsFile) : Contracts.none;
    return new PricingEngine(catalog, contracts);
  }

  #fileStamp(): string {
    return [this.#config.catalogFile ?? BUNDLED_PRICE_CATALOG, this.#config.contractsFile]
      .map((file) => {
        if (!file) return '-';
        try {
          const stat = statSync(file);
          return `${stat.mtimeMs}:${stat.size}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}
