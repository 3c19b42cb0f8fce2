import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { EnrichedUsageEvent } from '../events/enriched-usage-event.ts';
import { formatMoney, type ExactDecimal } from '../money/exact-decimal.ts';
import type { CostClass, TokenUsage } from './cost-calculation.ts';
import type { PricingEngine } from './pricing-engine.ts';

/** The pricing part of an enriched event: the same fields the enricher and repricing write. */
export type EventPricing = Omit<EnrichedUsageEvent, 'received_at' | 'enriched_at' | 'attribution'>;

/**
 * Prices a usage event with the engine. The event's token classes are used
 * when it reports any; an event with none but the provider's raw usage JSON
 * (provider_usage) is priced from that, through the catalog's extractor for
 * its api_flavor, and carries the extracted counts from then on.
 */
export function priceUsageEvent(engine: PricingEngine, event: UsageEventRecord): EventPricing {
  const tokens = tokenUsage(event);
  const extract = !hasTokens(tokens) && event.provider_usage !== null;
  const outcome = engine.price({
    provider: event.provider,
    model: event.model,
    apiFlavor: catalogFlavor(event.api_flavor),
    usage: extract ? null : tokens,
    body: extract ? parseUsage(event.provider_usage!) : undefined,
    at: event.occurred_at,
    team: event.team,
    environment: event.environment,
  });
  if (!outcome.ok) {
    return {
      event,
      cost: '0',
      list_cost: '0',
      input_cost: '0',
      output_cost: '0',
      cost_breakdown: {},
      catalog_model: '',
      contract_id: null,
      currency: 'USD',
      cost_status: 'unpriced',
      unpriced_reason: outcome.message,
      unpriced_code: outcome.reason,
      price_version: outcome.priceVersion,
    };
  }
  const breakdown: Record<string, string> = {};
  for (const cls in outcome.effective.breakdown) breakdown[cls] = money(outcome.effective.breakdown[cls as CostClass]!);
  const cost = money(outcome.effective.total);
  return {
    event: extract ? { ...event, ...withDefaults(outcome.usage) } : event,
    cost,
    // Without a contract the effective cost is the list cost itself: formatted once.
    list_cost: outcome.list === outcome.effective ? cost : money(outcome.list.total),
    input_cost: money(outcome.effective.input),
    output_cost: money(outcome.effective.output),
    cost_breakdown: breakdown,
    catalog_model: outcome.model,
    contract_id: outcome.contractId,
    currency: 'USD',
    cost_status: 'priced',
    unpriced_reason: null,
    unpriced_code: null,
    price_version: outcome.priceVersion,
  };
}

/** The raw usage as JSON; text that is not JSON reaches the extractor as-is and fails there with a reason. */
function parseUsage(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function tokenUsage(event: UsageEventRecord): TokenUsage {
  return {
    input_tokens: event.input_tokens,
    cache_read_tokens: event.cache_read_tokens,
    cache_write_tokens: event.cache_write_tokens,
    input_audio_tokens: event.input_audio_tokens,
    cache_audio_read_tokens: event.cache_audio_read_tokens,
    output_tokens: event.output_tokens,
    output_audio_tokens: event.output_audio_tokens,
  };
}

function hasTokens(usage: TokenUsage): boolean {
  return (
    (usage.input_tokens ?? 0) > 0 ||
    (usage.output_tokens ?? 0) > 0 ||
    (usage.cache_read_tokens ?? 0) > 0 ||
    (usage.cache_write_tokens ?? 0) > 0 ||
    (usage.input_audio_tokens ?? 0) > 0 ||
    (usage.cache_audio_read_tokens ?? 0) > 0 ||
    (usage.output_audio_tokens ?? 0) > 0
  );
}

function withDefaults(usage: TokenUsage): Pick<UsageEventRecord, keyof TokenUsage> {
  return {
    input_tokens: usage.input_tokens ?? 0,
    cache_read_tokens: usage.cache_read_tokens ?? 0,
    cache_write_tokens: usage.cache_write_tokens ?? 0,
    input_audio_tokens: usage.input_audio_tokens ?? 0,
    cache_audio_read_tokens: usage.cache_audio_read_tokens ?? 0,
    output_tokens: usage.output_tokens ?? 0,
    output_audio_tokens: usage.output_audio_tokens ?? 0,
  };
}

/** The catalog's flavour name for an event's api_flavor: "openai.responses", "aws.default" and "responses" name flavours by their last part. */
export function catalogFlavor(apiFlavor: string | null): string {
  if (!apiFlavor) return 'default';
  const name = apiFlavor.trim().toLowerCase();
  return name.slice(name.lastIndexOf('.') + 1) || 'default';
}

/** A stored amount: exact cost rounded half-to-even to the 12 decimals storage keeps. */
function money(value: ExactDecimal): string {
  return formatMoney(value);
}
