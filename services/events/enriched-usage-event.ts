import type { UsageEventRecord } from '@spendline/emitter/usage-event';

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
  /** null on events enriched before attribution policies existed. */
  readonly attribution: AttributionOutcome | null;
}

export const ATTRIBUTION_STATUSES = ['complete', 'fixed_by_rule', 'defaulted', 'unattributed'] as const;
export type AttributionStatus = (typeof ATTRIBUTION_STATUSES)[number];

/** One change the attribution policy made to an event; `dimension` is a field name or tags.<key>. */
export interface AttributionChange {
  readonly rule: string;
  readonly dimension: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** Mirrors the Attribution record of schemas/enriched-usage-event-v1.avsc. */
export interface AttributionOutcome {
  readonly status: AttributionStatus;
  /** Mandatory dimensions that arrived absent and no rule filled (before any default). */
  readonly missing: readonly string[];
  readonly requirement: string | null;
  readonly lineage: readonly AttributionChange[];
  readonly policy_version: string;
}
