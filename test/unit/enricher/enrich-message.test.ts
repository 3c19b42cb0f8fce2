import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import type { SourceMessage } from '../../../services/dlq/dead-letter.ts';
import { enrichMessage } from '../../../services/enricher/enrich-message.ts';
import type { EnrichedUsageEvent } from '../../../services/events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../../../services/events/schema-names.ts';
import { catalog, engine } from '../../support/pricing.ts';
import { SCHEMA_DIRS } from '../../../services/project-paths.ts';
import { FULL_USAGE_EVENT_RECORD, minimalUsageEventRecord } from '../../fixtures/usage-event-examples.ts';

const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const NOW = Date.UTC(2026, 10, 23, 9, 16);
const RECEIVED_AT = Date.UTC(2026, 10, 23, 9, 15, 1);

function source(value: Buffer | null, key: Buffer | null = Buffer.from('evt-0001')): SourceMessage {
  return { topic: 'usage.raw.v1', partition: 2, offset: '41', timestamp: String(RECEIVED_AT), key, value };
}

const pricing = { pricing: engine(), attribution: AttributionPolicy.builtIn };
const raw = (event: unknown) => registry.encode(SCHEMA_NAMES.usageEvent, event);

describe('enrichMessage', () => {
  it('prices a valid raw message and encodes the enriched event', () => {
    const outcome = enrichMessage(source(raw(FULL_USAGE_EVENT_RECORD)), registry, pricing, NOW);
    // gpt-4o-mini-2024-07-18 → gpt-4o-mini (input 0.15, cache read 0.075, output 0.6 per million):
    // (1200 − 1000) × 0.15 + 1000 × 0.075 + 350 × 0.6 = 30 + 75 + 210 = 315 → 0.000315
    const expected: EnrichedUsageEvent = {
      event: FULL_USAGE_EVENT_RECORD,
      received_at: RECEIVED_AT,
      enriched_at: NOW,
      cost: '0.000315',
      list_cost: '0.000315',
      input_cost: '0.000105',
      output_cost: '0.00021',
      cost_breakdown: { input: '0.00003', cache_read: '0.000075', output: '0.00021' },
      catalog_model: 'gpt-4o-mini',
      contract_id: null,
      currency: 'USD',
      cost_status: 'priced',
      unpriced_reason: null,
      unpriced_code: null,
      price_version: catalog.version,
      // The built-in policy finds nothing to change on an event already in canonical form.
      attribution: { status: 'complete', missing: [], requirement: null, lineage: [], policy_version: 'builtin-1' },
    };
    expect(outcome).toMatchObject({ kind: 'enriched', eventId: 'evt-0001', enriched: expected });
    if (outcome.kind !== 'enriched') return;
    const decoded = registry.decode<EnrichedUsageEvent>(SCHEMA_NAMES.enrichedUsageEvent, outcome.value);
    expect(decoded).toMatchObject({ ok: true });
    if (decoded.ok) expect(decoded.value).toEqual(expected);
  });

  it('forwards an unpriced event with cost 0 and the reason, never as free priced usage', () => {
    const outcome = enrichMessage(source(raw(minimalUsageEventRecord({ event_id: 'u-1', model: 'mystery-9', input_tokens: 50 }))), registry, pricing, NOW);
    expect(outcome).toMatchObject({
      kind: 'enriched',
      eventId: 'u-1',
      enriched: { cost: '0', list_cost: '0', cost_status: 'unpriced', unpriced_code: 'unknown_model', unpriced_reason: `no price for model "mystery-9" of provider openai in catalog ${catalog.version}` },
    });
    if (outcome.kind !== 'enriched') return;
    expect(registry.decode(SCHEMA_NAMES.enrichedUsageEvent, outcome.value)).toMatchObject({
      ok: true,
      value: { cost_status: 'unpriced', cost: '0', unpriced_code: 'unknown_model' },
    });
  });

  const deadLetterBase = {
    stage: 'enricher',
    source_topic: 'usage.raw.v1',
    source_partition: 2,
    source_offset: 41,
    source_timestamp: RECEIVED_AT,
    failed_at: NOW,
  };

  const enriched = registry.encode(SCHEMA_NAMES.enrichedUsageEvent, {
    event: FULL_USAGE_EVENT_RECORD,
    received_at: 1,
    enriched_at: 2,
    cost: '0',
    currency: 'USD',
    cost_status: 'priced',
    unpriced_reason: null,
    price_version: 'x',
  });

  it.each([
    ['JSON text instead of Avro', Buffer.from('{"event_id":"evt-0001"}'), /^message does not start with the Avro single-object marker C3 01$/],
    ['a truncated message', raw(FULL_USAGE_EVENT_RECORD).subarray(0, 30), /^Avro body does not decode/],
    ['a message of another schema', enriched, /^message was written as dev\.spendline\.usage\.EnrichedUsageEvent, expected dev\.spendline\.usage\.UsageEvent$/],
    ['an empty value', Buffer.alloc(0), /^message has no value$/],
  ])('parks %s in the DLQ as undecodable, keeping the original bytes and key', (_what, value, reason) => {
    const outcome = enrichMessage(source(value), registry, pricing, NOW);
    expect(outcome).toEqual({
      kind: 'dead',
      letter: { ...deadLetterBase, reason_code: 'undecodable', reason: expect.stringMatching(reason), key: Buffer.from('evt-0001'), payload: value },
    });
  });

  it('parks a message with no value (a tombstone) as undecodable with an empty payload', () => {
    expect(enrichMessage(source(null, null), registry, pricing, NOW)).toEqual({
      kind: 'dead',
      letter: { ...deadLetterBase, reason_code: 'undecodable', reason: 'message has no value', key: null, payload: Buffer.alloc(0) },
    });
  });

  it.each<[string, Partial<UsageEventRecord>, string]>([
    [
      'cached tokens beyond input_tokens',
      { input_tokens: 10, cache_read_tokens: 11 },
      'input_tokens: must include cache_read_tokens, cache_write_tokens and input_audio_tokens (their sum 11 exceeds input_tokens 10)',
    ],
    ['negative output tokens', { output_tokens: -5 }, 'output_tokens: must not be negative'],
    ['an empty model', { model: '' }, 'model: must not be empty'],
    ['an occurred_at in seconds, not milliseconds', { occurred_at: 1_764_000_000 }, 'occurred_at: must not be before 2015-01-01'],
    ['a negative reported cost', { reported_cost: '-0.01' }, 'reported_cost: must not be negative'],
    ['an occurred_at in microseconds, not milliseconds', { occurred_at: 1_764_000_000_000_000 }, 'occurred_at: must be before 2100-01-01'],
    ['an occurred_at 16 minutes after Kafka received it', { occurred_at: RECEIVED_AT + 16 * 60_000 }, 'occurred_at: is more than 15 minutes after the event was received'],
  ])('parks an Avro-valid record with %s as invalid_event, naming the field', (_what, overrides, reason) => {
    const value = raw(minimalUsageEventRecord(overrides));
    const outcome = enrichMessage(source(value), registry, pricing, NOW);
    expect(outcome).toEqual({
      kind: 'dead',
      letter: { ...deadLetterBase, reason_code: 'invalid_event', reason, key: Buffer.from('evt-0001'), payload: value },
    });
  });

  it('lists every problem of an invalid record in one reason', () => {
    const outcome = enrichMessage(source(raw(minimalUsageEventRecord({ input_tokens: -1, latency_ms: 10, ttft_ms: 20 }))), registry, pricing, NOW);
    expect(outcome.kind).toBe('dead');
    if (outcome.kind === 'dead') expect(outcome.letter.reason).toBe('input_tokens: must not be negative; ttft_ms: must not exceed latency_ms (10)');
  });

  it('leaves its dead letters encodable as DLQ records', () => {
    const outcome = enrichMessage(source(Buffer.from('garbage')), registry, pricing, NOW);
    if (outcome.kind !== 'dead') throw new Error('expected a dead letter');
    const decoded = registry.decode(SCHEMA_NAMES.deadLetter, registry.encode(SCHEMA_NAMES.deadLetter, outcome.letter));
    expect(decoded).toMatchObject({ ok: true, value: { reason_code: 'undecodable', payload: Buffer.from('garbage') } });
  });
});
