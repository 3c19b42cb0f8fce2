import { checkUsageEventRecord } from '@spendline/emitter';
import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { futureSkewIssue, withCallIdentity, type UsageEventRecord } from '@spendline/emitter/usage-event';
import { attributeEvent } from '../attribution/attribute-event.ts';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import type { EnrichedUsageEvent } from '../events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import { deadLetterFor, type DeadLetter, type SourceMessage } from '../dlq/dead-letter.ts';
import { priceUsageEvent } from '../pricing/price-usage-event.ts';
import type { PricingEngine } from '../pricing/pricing-engine.ts';

/** What the enricher does with one raw message: forward it enriched, or park it in the DLQ. */
export type EnrichOutcome =
  | { readonly kind: 'enriched'; readonly eventId: string; readonly enriched: EnrichedUsageEvent; readonly value: Buffer }
  | { readonly kind: 'dead'; readonly letter: DeadLetter };

/** The policies an event is enriched under, as in force for one batch. */
export interface EnrichmentPolicies {
  readonly pricing: PricingEngine;
  readonly attribution: AttributionPolicy;
}

/**
 * decode → validate → attribute → price → encode, for one message of
 * usage.raw.v1. Pure apart from the clock passed in; never throws for bad
 * input. Attribution comes before pricing, because a contract may cover a
 * team or environment. An event that cannot be priced is still forwarded
 * (cost_status unpriced, with the reason): usage without a price is counted,
 * not dropped. One the attribution policy rejects goes to the DLQ, as it would
 * have been refused at POST /v1/events.
 */
export function enrichMessage(source: SourceMessage, registry: AvroSchemaRegistry, policies: EnrichmentPolicies, now: number): EnrichOutcome {
  const dead = (code: DeadLetter['reason_code'], reason: string): EnrichOutcome => ({
    kind: 'dead',
    letter: deadLetterFor('enricher', source, code, reason, now),
  });
  if (source.value === null || source.value.length === 0) return dead('undecodable', 'message has no value');
  const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, source.value);
  if (!decoded.ok) return dead('undecodable', decoded.reason);
  const checked = checkUsageEventRecord(decoded.value);
  const issues = checked.ok ? [futureSkewIssue(checked.value, Number(source.timestamp))].filter((issue) => issue !== null) : checked.issues;
  if (!checked.ok || issues.length > 0) return dead('invalid_event', issues.map((issue) => `${issue.path || 'event'}: ${issue.message}`).join('; '));

  // Avro producers are held to the same identity rule as every ingest path.
  const attributed = attributeEvent(policies.attribution, withCallIdentity(checked.value));
  if (attributed.rejection) {
    return dead('attribution_rejected', attributed.rejection.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  }
  const priced = priceUsageEvent(policies.pricing, attributed.event);
  const enriched: EnrichedUsageEvent = { ...priced, received_at: Number(source.timestamp), enriched_at: now, attribution: attributed.attribution };
  try {
    return { kind: 'enriched', eventId: enriched.event.event_id, enriched, value: registry.encode(SCHEMA_NAMES.enrichedUsageEvent, enriched) };
  } catch (err) {
    return dead('invalid_event', `enriched event does not fit its schema: ${(err as Error).message}`);
  }
}
