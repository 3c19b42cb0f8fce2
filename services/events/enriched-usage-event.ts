import type { UsageEventRecord } from './usage-event.ts';

/** Mirrors schemas/enriched-usage-event-v1.avsc. Timestamps are epoch milliseconds; money is an exact decimal string. */
export interface EnrichedUsageEvent {
  readonly event: UsageEventRecord;
  readonly received_at: number;
  readonly enriched_at: number;
  readonly cost: string;
  readonly currency: string;
  readonly cost_status: 'priced' | 'unpriced';
  readonly unpriced_reason: string | null;
  readonly price_version: string;
}
