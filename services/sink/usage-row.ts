import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { formatDateTime64 } from '../clickhouse/clickhouse.ts';
import type { AttributionOutcome, EnrichedUsageEvent } from '../events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';

/** A row of usage_events_v1 in JSONEachRow form; absent text is '' (see sql/001). */
export type UsageRow = Record<string, string | number | null | readonly string[] | Record<string, string>> & { readonly event_id: string };

export const USAGE_EVENTS_TABLE = 'usage_events_v1';

export type DecodedEnriched =
  | { readonly ok: true; readonly enriched: EnrichedUsageEvent }
  | { readonly ok: false; readonly reason: string };

export function decodeEnriched(registry: AvroSchemaRegistry, value: Buffer | null): DecodedEnriched {
  if (value === null || value.length === 0) return { ok: false, reason: 'message has no value' };
  const decoded = registry.decode<EnrichedUsageEvent>(SCHEMA_NAMES.enrichedUsageEvent, value);
  return decoded.ok ? { ok: true, enriched: decoded.value } : decoded;
}

export function toUsageRow(enriched: EnrichedUsageEvent, partition: number, offset: string): UsageRow {
  const e = enriched.event;
  return {
    event_id: e.event_id,
    occurred_at: formatDateTime64(e.occurred_at),
    received_at: formatDateTime64(enriched.received_at),
    enriched_at: formatDateTime64(enriched.enriched_at),
    provider: e.provider,
    model: e.model,
    api_flavor: e.api_flavor ?? '',
    operation: e.operation,
    input_tokens: e.input_tokens,
    output_tokens: e.output_tokens,
    cache_read_tokens: e.cache_read_tokens,
    cache_write_tokens: e.cache_write_tokens,
    reasoning_tokens: e.reasoning_tokens,
    input_audio_tokens: e.input_audio_tokens,
    cache_audio_read_tokens: e.cache_audio_read_tokens,
    output_audio_tokens: e.output_audio_tokens,
    provider_usage: e.provider_usage ?? '',
    latency_ms: e.latency_ms,
    ttft_ms: e.ttft_ms,
    status: e.status,
    error_code: e.error_code ?? '',
    tenant_id: e.tenant_id ?? '',
    cost_center: e.cost_center ?? '',
    team: e.team ?? '',
    feature: e.feature ?? '',
    environment: e.environment ?? '',
    user_id: e.user_id ?? '',
    session_id: e.session_id ?? '',
    agent_run_id: e.agent_run_id ?? '',
    api_key_id: e.api_key_id ?? '',
    tags: e.tags,
    gateway_id: e.gateway_id ?? '',
    trace_id: e.trace_id ?? '',
    span_id: e.span_id ?? '',
    ...attributionColumns(enriched.attribution),
    reported_cost: e.reported_cost,
    currency: enriched.currency,
    ...pricingColumns(enriched),
    sign: 1,
    pricing_run: 0,
    priced_at: formatDateTime64(enriched.enriched_at),
    source_partition: partition,
    source_offset: Number(offset),
  };
}

/** The pricing columns of a usage row: what the enricher and a repricing run write alike. */
export function pricingColumns(pricing: Omit<EnrichedUsageEvent, 'event' | 'received_at' | 'enriched_at' | 'attribution'>): Record<string, string | Record<string, string>> {
  return {
    cost: pricing.cost,
    list_cost: pricing.list_cost,
    input_cost: pricing.input_cost,
    output_cost: pricing.output_cost,
    cost_breakdown: pricing.cost_breakdown,
    cost_status: pricing.cost_status,
    unpriced_reason: pricing.unpriced_reason ?? '',
    unpriced_code: pricing.unpriced_code ?? '',
    price_version: pricing.price_version,
    catalog_model: pricing.catalog_model,
    contract_id: pricing.contract_id ?? '',
  };
}

/** The attribution outcome columns of a usage row (sql/003); empty for events enriched before policies existed. */
export function attributionColumns(outcome: AttributionOutcome | null): Record<string, string | readonly string[]> {
  return {
    attribution_status: outcome?.status ?? '',
    attribution_missing: outcome?.missing ?? [],
    attribution_requirement: outcome?.requirement ?? '',
    attribution_rules: [...new Set(outcome?.lineage.map((change) => change.rule) ?? [])],
    attribution_lineage: JSON.stringify(outcome?.lineage ?? []),
    attribution_policy: outcome?.policy_version ?? '',
  };
}

/** Keeps the first row of each event_id; later copies in the same batch are repeats of one event. */
export function firstPerEventId<T extends { readonly event_id: string }>(rows: readonly T[]): { unique: T[]; repeats: number } {
  const seen = new Set<string>();
  const unique = rows.filter((row) => !seen.has(row.event_id) && seen.add(row.event_id));
  return { unique, repeats: rows.length - unique.length };
}
