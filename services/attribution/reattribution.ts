import { ATTRIBUTION_FIELDS } from '@spendline/emitter/usage-event';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';
import { priceUsageEvent } from '../pricing/price-usage-event.ts';
import type { PricingEngine } from '../pricing/pricing-engine.ts';
import { costChanged, priceVersionOf } from '../pricing/repricing.ts';
import { storedLineage, toEventRecord, type LedgerRow } from '../restatement/ledger-row.ts';
import { runRestatement, type RestatementRequest, type RestatementSummary } from '../restatement/restatement-run.ts';
import { attributionColumns, pricingColumns } from '../sink/usage-row.ts';
import { attributeEvent, receivedAttribution } from './attribute-event.ts';
import type { AttributionPolicy } from './attribution-policy.ts';

/**
 * Re-attribution: apply the attribution policy in force now to stored events
 * over a range, as a restatement run (see restatement-run.ts) — history kept,
 * one instant of change, idempotent. Each event is attributed again from what
 * it arrived with (its stored values with the lineage undone), so removing a
 * rule undoes what it did. An event whose owner changes is priced again with
 * the prices in force, because a contract may cover a team or environment. A
 * stored event the policy would now reject stays, as unattributed: stored
 * spend is never dropped.
 */
export function reattribute(clickhouse: ClickHouse, policy: AttributionPolicy, engine: PricingEngine, request: RestatementRequest, log: Logger): Promise<RestatementSummary> {
  return runRestatement(
    clickhouse,
    { kind: 'reattribute', priceVersion: priceVersionOf(engine), policyVersion: policy.version, restate: (row) => restateAttribution(policy, engine, row) },
    request,
    log,
  );
}

/** The columns that change when the policy attributes a stored row again, or null. */
export function restateAttribution(policy: AttributionPolicy, engine: PricingEngine, row: LedgerRow): Record<string, unknown> | null {
  const stored = toEventRecord(row);
  const attributed = attributeEvent(policy, receivedAttribution(stored, storedLineage(row)));
  const resolved = attributed.event;
  const outcome = attributionColumns(attributed.attribution);
  const ownerChanged = ATTRIBUTION_FIELDS.some((field) => stored[field] !== resolved[field]) || !sameTags(stored.tags, resolved.tags);
  const outcomeChanged = (['attribution_status', 'attribution_requirement', 'attribution_lineage'] as const).some((column) => String(row[column] ?? '') !== outcome[column]) ||
    String(row['attribution_missing'] ?? '') !== String(outcome.attribution_missing);
  if (!ownerChanged && !outcomeChanged) return null;
  // Stored text columns hold '' for absent (sql/001).
  const changes: Record<string, unknown> = {
    ...Object.fromEntries(ATTRIBUTION_FIELDS.map((field) => [field, resolved[field] ?? ''])),
    tags: resolved.tags,
    ...outcome,
  };
  if (ownerChanged) {
    const priced = priceUsageEvent(engine, resolved);
    if (costChanged(row, priced)) Object.assign(changes, pricingColumns(priced));
  }
  return changes;
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => b[key] === a[key]);
}
