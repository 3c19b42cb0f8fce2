import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { USAGE_EVENT_SCHEMA_DIR, USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from '../src/avro/usage-event-schema.ts';
import { checkUsageEvent, encodeUsageEvent } from '../src/encode-usage-event.ts';
import type { UsageEventRecord } from '../src/usage-event.ts';
import { FULL_RECORD } from './fixtures/usage-event-record.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const record = (eventId: string, overrides: Partial<UsageEventRecord> = {}): UsageEventRecord => ({ ...FULL_RECORD, event_id: eventId, ...overrides });

describe('checkUsageEvent', () => {
  it('accepts a complete record', () => {
    expect(checkUsageEvent(record('evt-1'), NOW)).toMatchObject({ ok: true, value: { event_id: 'evt-1' } });
  });

  it('names fields the record does not have (Avro would drop them silently)', () => {
    expect(checkUsageEvent({ ...record('evt-1'), input_token: 3 }, NOW)).toEqual({ ok: false, issues: [{ path: 'input_token', message: 'is not a usage event field' }] });
  });

  it('refuses occurred_at beyond the clock skew the enricher allows', () => {
    const result = checkUsageEvent(record('evt-1', { occurred_at: NOW + 60 * 60 * 1000 }), NOW);
    expect(result).toMatchObject({ ok: false, issues: [{ path: 'occurred_at' }] });
  });

  it('refuses cross-field inconsistencies at the field at fault', () => {
    const result = checkUsageEvent(record('evt-1', { cache_read_tokens: 5_000 }), NOW);
    expect(result).toMatchObject({ ok: false, issues: expect.arrayContaining([expect.objectContaining({ path: 'input_tokens' })]) });
  });

  it('refuses what is not an object', () => {
    expect(checkUsageEvent(null, NOW)).toMatchObject({ ok: false, issues: [{ path: '' }] });
  });
});

describe('encodeUsageEvent', () => {
  it('keys the message by event_id and writes C3 01, the current schema fingerprint (little-endian), then the plain Avro body', () => {
    const encoded = encodeUsageEvent(record('evt-1'), { now: NOW });
    expect(encoded.ok).toBe(true);
    if (!encoded.ok) return;
    expect(encoded.message.key).toBe('evt-1');
    const fingerprint = usageEventRegistry().current(USAGE_EVENT_SCHEMA_NAME).fingerprint;
    expect(encoded.message.value.subarray(0, 2).toString('hex')).toBe('c301');
    expect(encoded.message.value.readBigUInt64LE(2)).toBe(fingerprint);
    const onDisk = avro.Type.forSchema(JSON.parse(readFileSync(join(USAGE_EVENT_SCHEMA_DIR, 'usage-event-v1.avsc'), 'utf8')) as avro.Schema);
    expect(onDisk.fromBuffer(encoded.message.value.subarray(10))).toMatchObject({ event_id: 'evt-1', input_tokens: 1200, tags: { region: 'eu', tier: 'gold' } });
    expect(usageEventRegistry().decode(USAGE_EVENT_SCHEMA_NAME, encoded.message.value)).toMatchObject({ ok: true, value: record('evt-1') });
  });

  it('encodes the event after the call identity rule: keyed by span-<trace_id>-<span_id>', () => {
    const traced = record('evt-1', { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' });
    const encoded = encodeUsageEvent(traced, { now: NOW });
    expect(encoded).toMatchObject({ ok: true, event: { event_id: 'span-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7' } });
    if (encoded.ok) expect(encoded.message.key).toBe('span-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7');
  });

  it('returns the issues instead of a message for an invalid event, and never throws', () => {
    expect(encodeUsageEvent(record('evt-1', { output_tokens: 1.5 }), { now: NOW })).toEqual({ ok: false, issues: [{ path: 'output_tokens', message: 'must be a whole number' }] });
    expect(encodeUsageEvent(record('evt-1', { occurred_at: NOW + 16 * 60_000 }), { now: NOW })).toMatchObject({ ok: false, issues: [{ path: 'occurred_at' }] });
    expect(encodeUsageEvent(record('evt-1', { occurred_at: NOW + 16 * 60_000 }), { now: NOW, maxFutureSkewMs: 20 * 60_000 })).toMatchObject({ ok: true });
  });
});
