import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageEmitterHooks, UsageEmitterOptions } from '../../src/emitter/emitter-options.ts';
import { SPILL_FILE_NAME } from '../../src/emitter/spill-file.ts';
import { parseSpillLines } from '../../src/emitter/spill-format.ts';
import { UsageEmitter } from '../../src/emitter/usage-emitter.ts';
import { silentLogger, type Logger } from '../../src/logger.ts';
import type { UsageEventRecord } from '../../src/usage-event.ts';
import { FULL_RECORD } from '../fixtures/usage-event-record.ts';

/**
 * The emitter without a broker: Kafka is a closed local port, so every send
 * really fails (kafkajs connects and is refused) and nothing leaves the process.
 */

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const CLOSED_PORT = '127.0.0.1:1';
const record = (eventId: string, overrides: Partial<UsageEventRecord> = {}): UsageEventRecord => ({ ...FULL_RECORD, event_id: eventId, ...overrides });

let dir: string;
let emitter: UsageEmitter | null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spendline-emitter-unit-'));
  emitter = null;
});
afterEach(async () => {
  await emitter?.close(50);
  rmSync(dir, { recursive: true, force: true });
});

function start(overrides: Partial<UsageEmitterOptions> = {}): UsageEmitter {
  emitter = new UsageEmitter({
    brokers: [CLOSED_PORT],
    topic: 'usage.raw.v1',
    spillDir: dir,
    log: silentLogger,
    now: () => NOW,
    producerRetries: 0,
    ...overrides,
  } as UsageEmitterOptions);
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

  it('reports the same through its hooks: emitted, spilled, refused, the backlog, and failed sends', async () => {
    const seen = { emitted: 0, spilled: 0, refused: [] as string[], backlog: [0, 0], sendFailures: 0 };
    const hooks: UsageEmitterHooks = {
      emitted: () => (seen.emitted += 1),
      spilled: (events) => (seen.spilled += events),
      refused: (reason) => seen.refused.push(reason),
      backlog: (buffered, spillBytes) => (seen.backlog = [buffered, spillBytes]),
      sendFailed: () => (seen.sendFailures += 1),
    };
    const emitter = start({ bufferCapacity: 2, hooks, lingerMs: 0, retryInitialDelayMs: 1, retryMaxDelayMs: 5 });
    for (let i = 0; i < 5; i += 1) emitter.emit(record(`evt-${i}`));
    emitter.emit(record('bad', { input_tokens: -1 }));
    expect(seen).toMatchObject({ emitted: 5, spilled: 3, refused: ['invalid'], backlog: [2, emitter.counts().spillBytes] });
    expect(seen.backlog[1]).toBeGreaterThan(0);
    await expect.poll(() => seen.sendFailures, { timeout: 10_000 }).toBeGreaterThan(0);
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

describe('UsageEmitter options', () => {
  it('takes a kafkajs client the host already has', async () => {
    const kafka = new Kafka({ clientId: 'host', brokers: [CLOSED_PORT], logLevel: logLevel.NOTHING });
    emitter = new UsageEmitter({ kafka, topic: 'usage.raw.v1', spillDir: dir, log: silentLogger, producerRetries: 0, now: () => NOW });
    expect(emitter.emit(record('evt-1'))).toEqual({ accepted: true, spilled: false });
    expect(await emitter.close(50)).toEqual({ drained: false, spilled: 1 });
    expect(spilledIds()).toEqual(['evt-1']);
  });

  it('refuses to start without a way to Kafka or a topic, saying which, and leaves the spill directory free', () => {
    const make = (options: object) => () => new UsageEmitter({ topic: 'usage.raw.v1', spillDir: dir, log: silentLogger, ...options } as UsageEmitterOptions);
    expect(make({})).toThrow('usage emitter needs a kafka client, or brokers as a non-empty list of "host:port"');
    expect(make({ brokers: [] })).toThrow('usage emitter needs a kafka client');
    expect(make({ brokers: [CLOSED_PORT], topic: '' })).toThrow('usage emitter option topic must name the usage.raw.v1 topic');
    expect(make({ brokers: [CLOSED_PORT], bufferCapacity: 0 })).toThrow('usage emitter option bufferCapacity must be an integer of at least 1, got 0');
    expect(() => start()).not.toThrow();
  });

  it('logs through a logger without child(), its component and topic on every line', async () => {
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message });
    const log: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const emitter = start({ log, bufferCapacity: 1 });
    emitter.emit(record('evt-1'));
    emitter.emit(record('evt-2'));
    await emitter.close(50);
    expect(lines.map((line) => line.message)).toEqual(expect.arrayContaining(['buffer full: usage events go to the spill file until Kafka catches up', 'usage emitter closed']));
    const own = lines.filter((line) => line.fields['component'] !== 'kafkajs');
    expect(own.every((line) => line.fields['component'] === 'usage-emitter' && line.fields['topic'] === 'usage.raw.v1')).toBe(true);
  });
});
