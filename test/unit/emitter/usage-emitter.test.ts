import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkUsageEvent } from '../../../services/emitter/emit-validation.ts';
import { SPILL_FILE_NAME } from '../../../services/emitter/spill-file.ts';
import { parseSpillLines } from '../../../services/emitter/spill-format.ts';
import { UsageEmitter, type UsageEmitterOptions } from '../../../services/emitter/usage-emitter.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { SCHEMA_DIRS } from '../../../services/project-paths.ts';
import { FULL_USAGE_EVENT_RECORD } from '../../fixtures/usage-event-examples.ts';

/**
 * The emitter without a broker: Kafka is a closed local port, so every send
 * really fails (kafkajs connects and is refused) and nothing leaves the process.
 */

const log = createLogger('silent');
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const record = (eventId: string, overrides: Partial<UsageEventRecord> = {}): UsageEventRecord => ({ ...FULL_USAGE_EVENT_RECORD, event_id: eventId, ...overrides });

let dir: string;
let emitter: UsageEmitter | null;
let metrics: Metrics;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-emitter-unit-'));
  metrics = new Metrics({ processMetrics: false });
  emitter = null;
});
afterEach(async () => {
  await emitter?.close(50);
  rmSync(dir, { recursive: true, force: true });
});

function start(overrides: Partial<UsageEmitterOptions> = {}): UsageEmitter {
  emitter = UsageEmitter.start({
    kafka: createKafka({ brokers: ['127.0.0.1:1'], clientId: 'emitter-unit' }, log),
    topic: 'usage.raw.v1',
    registry,
    spillDir: dir,
    log,
    metrics,
    now: () => NOW,
    producerRetries: 0,
    ...overrides,
  });
  return emitter;
}

const spilledIds = () => parseSpillLines(readFileSync(join(dir, SPILL_FILE_NAME)), Number.MAX_SAFE_INTEGER).events.map((e) => e.key);

describe('UsageEmitter buffer bound', () => {
  it('with capacity N, N + k emits keep N in memory and put the k newest in the spill file', () => {
    const emitter = start({ bufferCapacity: 50 });
    const results = Array.from({ length: 57 }, (_, i) => emitter.emit(record(`evt-${i}`)));
    expect(results.slice(0, 50).every((r) => r.accepted && !r.spilled)).toBe(true);
    expect(results.slice(50).every((r) => r.accepted && r.spilled)).toBe(true);
    expect(emitter.counts()).toMatchObject({ emitted: 57, spilled: 7, buffered: 50, refused: 0, sent: 0 });
    expect(spilledIds()).toEqual(Array.from({ length: 7 }, (_, i) => `evt-${50 + i}`));
  });

  it('counts in the Prometheus metrics too', async () => {
    const emitter = start({ bufferCapacity: 2 });
    for (let i = 0; i < 5; i += 1) emitter.emit(record(`evt-${i}`));
    emitter.emit(record('bad', { input_tokens: -1 }));
    expect((await metrics.emitterEventsEmitted.get()).values[0]?.value).toBe(5);
    expect((await metrics.emitterEventsSpilled.get()).values[0]?.value).toBe(3);
    expect((await metrics.emitterEventsBuffered.get()).values[0]?.value).toBe(2);
    expect((await metrics.emitterEventsRefused.get()).values).toMatchObject([{ value: 1, labels: { reason: 'invalid' } }]);
  });

  it('close() with Kafka unreachable moves the rest to the spill file, and refuses later events', async () => {
    const emitter = start({ bufferCapacity: 10 });
    for (let i = 0; i < 15; i += 1) emitter.emit(record(`evt-${i}`));
    const closed = await emitter.close(200);
    expect(closed).toEqual({ drained: false, spilled: 10 });
    expect(new Set(spilledIds())).toEqual(new Set(Array.from({ length: 15 }, (_, i) => `evt-${i}`)));
    expect(emitter.emit(record('late'))).toMatchObject({ accepted: false, reason: 'closed' });
  });

  it('close() called twice closes once', async () => {
    const emitter = start({ bufferCapacity: 10 });
    for (let i = 0; i < 3; i += 1) emitter.emit(record(`evt-${i}`));
    const [first, second] = await Promise.all([emitter.close(100), emitter.close(100)]);
    expect(first).toEqual({ drained: false, spilled: 3 });
    expect(second).toBe(first);
    expect(spilledIds()).toEqual(['evt-0', 'evt-1', 'evt-2']);
  });

  it('emit() returns at once while Kafka is unreachable', () => {
    const emitter = start({ bufferCapacity: 100 });
    const started = performance.now();
    for (let i = 0; i < 1_000; i += 1) emitter.emit(record(`evt-${i}`));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(emitter.counts()).toMatchObject({ emitted: 1_000, buffered: 100, spilled: 900 });
  });
});

describe('UsageEmitter refusals', () => {
  it('refuses an invalid event synchronously, naming each field and the reason', () => {
    const emitter = start();
    const result = emitter.emit(record('evt-1', { input_tokens: -5, provider: '', tags: { '1bad': 'x' } }));
    expect(result.accepted).toBe(false);
    if (result.accepted) return;
    expect(result.reason).toBe('invalid');
    expect(result.issues).toEqual(
      expect.arrayContaining([
        { path: 'input_tokens', message: 'must not be negative' },
        { path: 'provider', message: 'must not be empty' },
        expect.objectContaining({ path: 'tags.1bad' }),
      ]),
    );
    expect(emitter.counts()).toMatchObject({ emitted: 0, refused: 1, buffered: 0 });
  });

  it('refuses a missing field as required', () => {
    const { model: _model, ...withoutModel } = record('evt-1');
    const result = start().emit(withoutModel as UsageEventRecord);
    expect(result).toMatchObject({ accepted: false, issues: [{ path: 'model', message: 'is required' }] });
  });
});

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
