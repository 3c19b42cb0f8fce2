import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { PROJECT_ROOT, SCHEMA_DIRS } from '../../services/project-paths.ts';
import { eventually, uniqueSuffix } from '../support/test-config.ts';

/**
 * @spendline/emitter as it is published: `npm pack` (whose prepack builds
 * dist/ with tsc) on a copy of packages/emitter — a copy, so concurrent runs
 * never share a dist/ — then the tarball unpacked into a fresh node_modules and
 * used from plain `node`, no tsx, no TypeScript source, no tsconfig paths:
 * build an event, Avro-encode it, emit it to the test broker and close.
 * The package's runtime dependencies are linked from the repository's
 * node_modules (the same versions), so nothing is downloaded.
 */

const run = promisify(execFile);
const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
const ROOT_MODULES = join(PROJECT_ROOT, 'node_modules');
const PACKAGE_DIR = join(PROJECT_ROOT, 'packages/emitter');
/** Only PATH: no NODE_OPTIONS (no loader, no --conditions) from the test runner reaches the smoke script. */
const PLAIN_ENV = { PATH: `${join(ROOT_MODULES, '.bin')}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? tmpdir() };

const SMOKE_SCRIPT = `
import { buildUsageEvent, encodeUsageEvent, UsageEmitter } from '@spendline/emitter';
import { USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from '@spendline/emitter/avro';

const [brokers, topic, spillDir] = process.argv.slice(2);
const built = buildUsageEvent({
  occurred_at: new Date(Date.now() - 1_000),
  provider: 'openai',
  model: 'gpt-4o-mini',
  input_tokens: 1200,
  cache_read_tokens: 1000,
  output_tokens: 300,
  provider_usage: { prompt_tokens: 1200, completion_tokens: 300 },
  reported_cost: '0.000345',
  team: 'search',
  tags: { region: 'eu' },
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  span_id: '00f067aa0ba902b7',
});
if (!built.ok) throw new Error(JSON.stringify(built.issues));
const encoded = encodeUsageEvent(built.event);
if (!encoded.ok) throw new Error(JSON.stringify(encoded.issues));
const decoded = usageEventRegistry().decode(USAGE_EVENT_SCHEMA_NAME, encoded.message.value);
const emitter = new UsageEmitter({ brokers: brokers.split(','), topic, spillDir });
const emitted = emitter.emit(built.event);
const invalid = buildUsageEvent({ occurred_at: Date.now(), provider: 'openai', model: '' });
const closed = await emitter.close();
console.log(JSON.stringify({ event: built.event, key: encoded.message.key, avro: encoded.message.value.toString('base64'), roundTrip: decoded.ok && JSON.stringify(decoded.value) === JSON.stringify(built.event), emitted, invalid, closed, counts: emitter.counts() }));
`;

/** Type-checked against the packed declarations: the exports map's "types" resolve for a NodeNext consumer. */
const CONSUMER_TS = `
import { buildUsageEvent, UsageEmitter, type EmitResult, type UsageEventInput } from '@spendline/emitter';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
const input: UsageEventInput = { occurred_at: new Date(), provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10 };
const built = buildUsageEvent(input);
declare const emitter: UsageEmitter;
export const result: EmitResult | null = built.ok ? emitter.emit(built.event) : null;
export const registry: typeof AvroSchemaRegistry = AvroSchemaRegistry;
`;

let work: string;
let kafka: Kafka;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'spendline-emitter-package-'));
  kafka = createKafka({ brokers: inject('kafkaBrokers'), clientId: 'emitter-package-test' }, log);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('@spendline/emitter, packed', () => {
  let app: string;
  let packedFiles: string[];

  beforeAll(async () => {
    const source = join(work, 'source');
    cpSync(PACKAGE_DIR, source, { recursive: true, filter: (path) => !/[/\\](dist|node_modules|test)$/.test(path) });
    // tsc (the prepack build) finds @types/node and the dependencies' types here.
    symlinkSync(ROOT_MODULES, join(source, 'node_modules'), 'dir');
    const out = join(work, 'out');
    mkdirSync(out);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: source, env: PLAIN_ENV, timeout: 120_000 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed!.files.map((file) => file.path).sort();

    app = join(work, 'app');
    const installed = join(app, 'node_modules/@spendline/emitter');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(out, packed!.filename), '-C', installed, '--strip-components=1']);
    for (const dependency of ['avsc', 'kafkajs', 'zod', '@types/node']) {
      mkdirSync(join(app, 'node_modules', dependency, '..'), { recursive: true });
      symlinkSync(join(ROOT_MODULES, dependency), join(app, 'node_modules', dependency), 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'emitter-smoke', private: true, type: 'module' }));
    writeFileSync(join(app, 'smoke.mjs'), SMOKE_SCRIPT);
  }, 180_000);

  it('holds the built JavaScript, its declarations and the Avro schemas, and no TypeScript source or tests', () => {
    expect(packedFiles).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/avro/index.js', 'dist/kafka/index.js', 'schemas/usage-event-v1.avsc', 'schemas/history/usage-event-v1-r1.avsc']));
    expect(packedFiles.filter((path) => path.startsWith('src/') || path.startsWith('test/') || (path.endsWith('.ts') && !path.endsWith('.d.ts')))).toEqual([]);
    expect(readFileSync(join(app, 'node_modules/@spendline/emitter/schemas/usage-event-v1.avsc'), 'utf8')).toBe(readFileSync(join(PACKAGE_DIR, 'schemas/usage-event-v1.avsc'), 'utf8'));
  });

  it('type-checks a TypeScript consumer against the packed declarations', async () => {
    writeFileSync(join(app, 'consumer.ts'), CONSUMER_TS);
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--types', 'node', '--skipLibCheck', 'consumer.ts'];
    await expect(run('tsc', flags, { cwd: app, env: PLAIN_ENV, timeout: 60_000 })).resolves.toBeDefined();
  });

  it('builds, Avro-encodes and emits an event from plain node, which arrives on the topic as Spendline reads it', async () => {
    const topic = `emitter-package-${uniqueSuffix()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();

    const { stdout } = await run(process.execPath, ['smoke.mjs', inject('kafkaBrokers').join(','), topic, join(work, 'spill')], { cwd: app, env: PLAIN_ENV, timeout: 60_000 });
    const smoke = JSON.parse(stdout) as { event: UsageEventRecord; key: string; avro: string; roundTrip: boolean; emitted: unknown; invalid: unknown; closed: unknown; counts: unknown };
    expect(smoke.event).toMatchObject({ event_id: 'span-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7', provider_usage: '{"prompt_tokens":1200,"completion_tokens":300}', cache_write_tokens: 0, user_id: null });
    expect(smoke.roundTrip).toBe(true);
    expect(smoke.key).toBe(smoke.event.event_id);
    // What the packed package writes is what Spendline's enricher reads: the same schema fingerprint, the same record.
    expect(registry.decode(SCHEMA_NAMES.usageEvent, Buffer.from(smoke.avro, 'base64'))).toMatchObject({ ok: true, value: smoke.event });
    expect(smoke.invalid).toEqual({ ok: false, issues: [{ path: 'model', message: 'must not be empty' }] });
    expect(smoke.emitted).toEqual({ accepted: true, spilled: false });
    expect(smoke.closed).toEqual({ drained: true, spilled: 0 });
    expect(smoke.counts).toMatchObject({ emitted: 1, sent: 1, buffered: 0, spillBytes: 0 });

    const received: UsageEventRecord[] = [];
    const consumer = kafka.consumer({ groupId: `read-${uniqueSuffix()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, message.value!);
        if (decoded.ok && message.key?.toString() === decoded.value.event_id) received.push(decoded.value);
      },
    });
    try {
      await eventually(async () => (received.length > 0 ? true : undefined), { timeoutMs: 30_000, what: `the event on ${topic}` });
    } finally {
      await consumer.disconnect();
    }
    expect(received).toEqual([smoke.event]);
  });
});
