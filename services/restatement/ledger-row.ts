import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { parseClickHouseTime } from '../clickhouse/clickhouse.ts';
import type { AttributionChange } from '../events/enriched-usage-event.ts';
import { parseDecimal } from '../money/decimal.ts';

/** A stored row of usage_events_v1, every column as JSONEachRow gives it back. */
export type LedgerRow = Record<string, unknown>;

/** The event a stored row records, as the pricing engine and the attribution policy read events. */
export function toEventRecord(row: LedgerRow): UsageEventRecord {
  const text = (key: string) => String(row[key] ?? '');
  const optional = (key: string) => (text(key) === '' ? null : text(key));
  const count = (key: string) => Number(row[key] ?? 0);
  return {
    event_id: text('event_id'),
    occurred_at: parseClickHouseTime(text('occurred_at')),
    provider: text('provider'),
    model: text('model'),
    api_flavor: optional('api_flavor'),
    operation: text('operation') as UsageEventRecord['operation'],
    input_tokens: count('input_tokens'),
    output_tokens: count('output_tokens'),
    cache_read_tokens: count('cache_read_tokens'),
    cache_write_tokens: count('cache_write_tokens'),
    reasoning_tokens: count('reasoning_tokens'),
    input_audio_tokens: count('input_audio_tokens'),
    cache_audio_read_tokens: count('cache_audio_read_tokens'),
    output_audio_tokens: count('output_audio_tokens'),
    provider_usage: optional('provider_usage'),
    latency_ms: row['latency_ms'] === null ? null : count('latency_ms'),
    ttft_ms: row['ttft_ms'] === null ? null : count('ttft_ms'),
    status: text('status') as UsageEventRecord['status'],
    error_code: optional('error_code'),
    tenant_id: optional('tenant_id'),
    cost_center: optional('cost_center'),
    team: optional('team'),
    feature: optional('feature'),
    environment: optional('environment'),
    user_id: optional('user_id'),
    session_id: optional('session_id'),
    agent_run_id: optional('agent_run_id'),
    api_key_id: optional('api_key_id'),
    tags: (row['tags'] as Record<string, string>) ?? {},
    gateway_id: optional('gateway_id'),
    reported_cost: row['reported_cost'] === null ? null : text('reported_cost'),
    trace_id: optional('trace_id'),
    span_id: optional('span_id'),
  };
}

/** The attribution changes a stored row records (attribution_lineage); none for rows stored before policies. */
export function storedLineage(row: LedgerRow): AttributionChange[] {
  const parsed: unknown = JSON.parse(String(row['attribution_lineage'] ?? '[]'));
  return Array.isArray(parsed) ? (parsed as AttributionChange[]) : [];
}

/** An exact amount of a Decimal column, in 10^-12 units; 0 when absent. */
export function units(value: unknown): bigint {
  if (value === undefined || value === null) return 0n;
  const parsed = parseDecimal(String(value));
  return parsed.ok ? parsed.units : 0n;
}
