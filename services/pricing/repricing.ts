import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';
import { toEventRecord, units, type LedgerRow } from '../restatement/ledger-row.ts';
import { runRestatement, type Restatement, type RestatementSummary } from '../restatement/restatement-run.ts';
import { pricingColumns } from '../sink/usage-row.ts';
import { priceUsageEvent, type EventPricing } from './price-usage-event.ts';
import type { PricingEngine } from './pricing-engine.ts';

/**
 * Repricing: recompute the cost of stored events with the prices in force now
 * (a new catalog, a changed contract), as a restatement run (see
 * restatement-run.ts): history kept, one instant of change, idempotent.
 */

export interface RepriceRequest {
  /** Inclusive start of occurred_at, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  readonly provider?: string | undefined;
  readonly model?: string | undefined;
  /** Compute and report, write nothing. */
  readonly dryRun?: boolean | undefined;
}

export function reprice(clickhouse: ClickHouse, engine: PricingEngine, request: RepriceRequest, log: Logger): Promise<RestatementSummary> {
  return runRestatement(
    clickhouse,
    repricing(engine),
    { from: request.from, to: request.to, filters: { provider: request.provider, model: request.model }, dryRun: request.dryRun },
    log,
  );
}

/** The version a restatement records for an engine: catalog and contracts together. */
export function priceVersionOf(engine: PricingEngine): string {
  return `${engine.catalog.version}+${engine.contracts.version}`;
}

function repricing(engine: PricingEngine): Restatement {
  return {
    kind: 'reprice',
    priceVersion: priceVersionOf(engine),
    policyVersion: '',
    restate: (row) => {
      const priced = priceUsageEvent(engine, toEventRecord(row));
      return costChanged(row, priced) ? pricingColumns(priced) : null;
    },
  };
}

/** Whether a stored row's cost differs from a new pricing of it, class by class. */
export function costChanged(row: LedgerRow, priced: EventPricing): boolean {
  const breakdown = (row['cost_breakdown'] as Record<string, string>) ?? {};
  const classes = new Set([...Object.keys(breakdown), ...Object.keys(priced.cost_breakdown)]);
  return (
    units(row['cost']) !== units(priced.cost) ||
    units(row['list_cost']) !== units(priced.list_cost) ||
    row['cost_status'] !== priced.cost_status ||
    String(row['catalog_model']) !== priced.catalog_model ||
    String(row['contract_id']) !== (priced.contract_id ?? '') ||
    [...classes].some((cls) => units(breakdown[cls]) !== units(priced.cost_breakdown[cls]))
  );
}
