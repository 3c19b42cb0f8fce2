import type { UsageEventRecord } from './usage-event.ts';

/** Mirrors schemas/enriched-usage-event-v1.avsc. Timestamps are epoch milliseconds; money is an exact decimal string. */
export interface EnrichedUsageEvent {
  readonly event: UsageEventRecord;
  readonly received_at: number;
  readonly enriched_at: number;
  /** Effective cost (after any contract). */
  readonly cost: string;
  readonly list_cost: string;
  readonly input_cost: string;
  readonly output_cost: string;
  /** Effective cost per priced class (input, cache_read, ..., requests). */
  readonly cost_breakdown: Readonly<Record<string, string>>;
  readonly catalog_model: string;
  readonly contract_id: string | null;
  readonly currency: string;
  readonly cost_status: 'priced' | 'unpriced';
  readonly unpriced_reason: string | null;
  readonly unpriced_code: string | null;
  readonly price_version: string;
}
