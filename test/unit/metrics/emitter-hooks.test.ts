import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageEmitter, silentLogger } from '@spendline/emitter';
import { afterEach, describe, expect, it } from 'vitest';
import { emitterMetricsHooks } from '../../../services/metrics/emitter-hooks.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { FULL_USAGE_EVENT_RECORD } from '../../fixtures/usage-event-examples.ts';

const dir = mkdtempSync(join(tmpdir(), 'spendline-emitter-metrics-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const value = async (metric: { get(): Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string> = {}) =>
  (await metric.get()).values.find((entry) => Object.entries(labels).every(([key, label]) => entry.labels[key] === label))?.value;

describe('emitterMetricsHooks', () => {
  it('counts what the gateway emitter does on the spendline_emitter_* series', async () => {
    const metrics = new Metrics({ processMetrics: false });
    // Kafka is a closed port: events stay in the buffer, then the spill file.
    const emitter = new UsageEmitter({ brokers: ['127.0.0.1:1'], topic: 'usage.raw.v1', spillDir: dir, bufferCapacity: 2, producerRetries: 0, log: silentLogger, hooks: emitterMetricsHooks(metrics, 'usage.raw.v1') });
    const now = Date.now();
    for (let i = 0; i < 5; i += 1) emitter.emit({ ...FULL_USAGE_EVENT_RECORD, event_id: `evt-${i}`, occurred_at: now });
    emitter.emit({ ...FULL_USAGE_EVENT_RECORD, event_id: 'bad', occurred_at: now, input_tokens: -1 });
    expect(await value(metrics.emitterEventsEmitted)).toBe(5);
    expect(await value(metrics.emitterEventsSpilled)).toBe(3);
    expect(await value(metrics.emitterEventsBuffered)).toBe(2);
    expect(await value(metrics.emitterSpillBytes)).toBe(emitter.counts().spillBytes);
    expect(await value(metrics.emitterEventsRefused, { reason: 'invalid' })).toBe(1);
    await expect.poll(() => value(metrics.retries, { operation: 'emitter_send' }), { timeout: 10_000 }).toBeGreaterThan(0);
    await emitter.close(50);
    expect(await value(metrics.emitterEventsSpilled)).toBe(5);
    expect(await value(metrics.emitterEventsBuffered)).toBe(0);
  });
});
