import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { attributeEvent } from '../../../services/attribution/attribute-event.ts';
import type { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import type { EnrichedUsageEvent } from '../../../services/events/enriched-usage-event.ts';
import { decimalUnits, divideRoundHalfEven, formatDecimal } from '../../../services/money/decimal.ts';
import { priceUsageEvent } from '../../../services/pricing/price-usage-event.ts';
import type { PricingEngine } from '../../../services/pricing/pricing-engine.ts';
import { toUsageRow, type UsageRow } from '../../../services/sink/usage-row.ts';

/**
 * Usage events as the sink stores them, through the code the enricher and the
 * sink run: attributeEvent (the policy) → priceUsageEvent (the bundled
 * catalog: real, exact costs) → toUsageRow. Received about a second after the
 * call started (the silence detector reads max(received_at)).
 */
export class UsageRows {
  readonly #engine: PricingEngine;
  readonly #policy: AttributionPolicy;
  #offset = 0;

  constructor(engine: PricingEngine, policy: AttributionPolicy) {
    this.#engine = engine;
    this.#policy = policy;
  }

  row(record: UsageEventRecord): UsageRow {
    const offset = this.#offset++;
    const attributed = attributeEvent(this.#policy, record);
    const priced = priceUsageEvent(this.#engine, attributed.event);
    // 0.6-1.4 s after the start, spread by the start itself (no randomness: both timelines store a base event alike).
    const receivedAt = record.occurred_at + 600 + ((record.occurred_at * 31) % 800);
    const enriched: EnrichedUsageEvent = { ...priced, received_at: receivedAt, enriched_at: receivedAt + 40, attribution: attributed.attribution };
    return toUsageRow(enriched, 0, String(offset));
  }
}

const MONEY_COLUMNS = ['cost', 'list_cost', 'input_cost', 'output_cost'] as const;

/** The row with every money column × numerator / denominator (exact, half-even), price_version untouched: a cost rule gone wrong. */
export function scaledCost(row: UsageRow, numerator: bigint, denominator: bigint): UsageRow {
  const scale = (text: string) => formatDecimal(divideRoundHalfEven(decimalUnits(text) * numerator, denominator));
  const scaled: Record<string, unknown> = { ...row };
  for (const column of MONEY_COLUMNS) scaled[column] = scale(String(row[column]));
  const breakdown = row['cost_breakdown'] as Record<string, string>;
  scaled['cost_breakdown'] = Object.fromEntries(Object.entries(breakdown).map(([cls, amount]) => [cls, scale(amount)]));
  return scaled as UsageRow;
}
