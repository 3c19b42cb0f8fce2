import { mkdirSync, readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry, USAGE_EVENT_SCHEMA_DIR, frameSingleObject, parsingCanonicalForm, rabinFingerprint } from '@spendline/emitter/avro';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import type { EnrichedUsageEvent } from '../../../services/events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../../../services/events/schema-names.ts';
import { SCHEMA_DIRS, SCHEMAS_DIR } from '../../../services/project-paths.ts';
import { FULL_USAGE_EVENT_RECORD } from '../../fixtures/usage-event-examples.ts';

type Json = Record<string, unknown>;
const readJson = (path: string | URL): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;

const usageSchema = readJson(join(USAGE_EVENT_SCHEMA_DIR, 'usage-event-v1.avsc'));
const enrichedSchema = readJson(join(SCHEMAS_DIR, 'enriched-usage-event-v1.avsc'));
const deadLetterSchema = readJson(join(SCHEMAS_DIR, 'dead-letter-v1.avsc'));
const rev0Schema = readJson(new URL('../../fixtures/usage-event-v1-rev0.avsc', import.meta.url));

const fingerprintOf = (schema: unknown): bigint => rabinFingerprint(Buffer.from(parsingCanonicalForm(schema), 'utf8'));

/** The enriched schema refers to UsageEvent by name; its canonical form spells the record out in place. */
const enrichedSelfContained = {
  ...enrichedSchema,
  fields: (enrichedSchema['fields'] as Json[]).map((field) => (field['name'] === 'event' ? { ...field, type: usageSchema } : field)),
};

const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);

const ENRICHED: EnrichedUsageEvent = {
  event: FULL_USAGE_EVENT_RECORD,
  received_at: Date.UTC(2026, 10, 23, 9, 15, 1, 0),
  enriched_at: Date.UTC(2026, 10, 23, 9, 15, 2, 500),
  cost: '0.000315',
  list_cost: '0.00037',
  input_cost: '0.000105',
  output_cost: '0.00021',
  cost_breakdown: { input: '0.00003', cache_read: '0.000075', output: '0.00021' },
  catalog_model: 'gpt-4o-mini',
  contract_id: 'acme-2026',
  currency: 'USD',
  cost_status: 'priced',
  unpriced_reason: null,
  unpriced_code: null,
  price_version: 'genai-prices-f41075aab069+contracts-0123456789ab',
  attribution: {
    status: 'fixed_by_rule',
    missing: [],
    requirement: 'prod-owner',
    lineage: [
      { rule: 'normalize', dimension: 'environment', from: 'Production', to: 'prod' },
      { rule: 'api_key:key-3', dimension: 'team', from: null, to: 'search' },
    ],
    policy_version: 'policy-2026-11',
  },
};

function littleEndianHex(fingerprint: bigint): string {
  let hex = '';
  for (let byte = 0; byte < 8; byte += 1) hex += ((fingerprint >> BigInt(8 * byte)) & 0xffn).toString(16).padStart(2, '0');
  return hex;
}

describe('the project registry: AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS)', () => {
  it.each([
    [SCHEMA_NAMES.usageEvent, usageSchema],
    [SCHEMA_NAMES.enrichedUsageEvent, enrichedSelfContained],
    [SCHEMA_NAMES.deadLetter, deadLetterSchema],
  ])('knows %s under the fingerprint of its canonical form', (name, schema) => {
    const known = registry.current(name);
    expect(known.canonicalForm).toBe(parsingCanonicalForm(schema));
    expect(known.fingerprint).toBe(fingerprintOf(schema));
    expect(registry.byFingerprint(known.fingerprint)).toBe(known);
  });

  it('holds the five current schemas and the earlier revisions in both history directories, and throws for a name it does not define', () => {
    expect(new Set(registry.knownSchemas.map((known) => known.name))).toEqual(
      new Set([SCHEMA_NAMES.deadLetter, SCHEMA_NAMES.enrichedUsageEvent, SCHEMA_NAMES.usageEvent, SCHEMA_NAMES.alert, SCHEMA_NAMES.budgetStatus]),
    );
    const history = SCHEMA_DIRS.flatMap((dir) => readdirSync(join(dir, 'history')).filter((file) => file.endsWith('.avsc')));
    expect(registry.knownSchemas).toHaveLength(5 + history.length);
    expect(() => registry.current('dev.spendline.usage.Nope')).toThrow('no current Avro schema named dev.spendline.usage.Nope');
  });

  it('encodes a UsageEvent as C3 01, the little-endian fingerprint, then the Avro body, and decodes it back', () => {
    const message = registry.encode(SCHEMA_NAMES.usageEvent, FULL_USAGE_EVENT_RECORD);
    expect(message.subarray(0, 2).toString('hex')).toBe('c301');
    expect(message.subarray(2, 10).toString('hex')).toBe(littleEndianHex(fingerprintOf(usageSchema)));
    // The body is plain Avro binary of the schema as written on disk.
    const plain = avro.Type.forSchema(usageSchema as avro.Schema);
    expect(plain.fromBuffer(message.subarray(10))).toMatchObject({ event_id: 'evt-0001', input_tokens: 1200, tags: { region: 'eu', tier: 'gold' } });

    const decoded = registry.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, message);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value).toEqual(FULL_USAGE_EVENT_RECORD);
    expect(decoded.writer).toBe(registry.current(SCHEMA_NAMES.usageEvent));
  });

  it('encodes and decodes an EnrichedUsageEvent with its nested event and exact cost', () => {
    const message = registry.encode(SCHEMA_NAMES.enrichedUsageEvent, ENRICHED);
    expect(message.subarray(0, 10).toString('hex')).toBe(`c301${littleEndianHex(fingerprintOf(enrichedSelfContained))}`);
    const decoded = registry.decode<EnrichedUsageEvent>(SCHEMA_NAMES.enrichedUsageEvent, message);
    expect(decoded).toMatchObject({ ok: true });
    if (decoded.ok) expect(decoded.value).toEqual(ENRICHED);
  });

  it('throws on encode when the value does not fit the schema', () => {
    expect(() => registry.encode(SCHEMA_NAMES.usageEvent, { ...FULL_USAGE_EVENT_RECORD, input_tokens: '12' })).toThrow(/invalid "long"/);
    expect(() => registry.encode(SCHEMA_NAMES.usageEvent, { ...FULL_USAGE_EVENT_RECORD, operation: 'dance' })).toThrow(/invalid/);
  });

  const good = registry.encode(SCHEMA_NAMES.usageEvent, FULL_USAGE_EVENT_RECORD);
  const deadLetter = registry.encode(SCHEMA_NAMES.deadLetter, {
    stage: 'enricher',
    reason_code: 'undecodable',
    reason: 'test',
    source_topic: 'usage.raw.v1',
    source_partition: 0,
    source_offset: 1,
    source_timestamp: 2,
    key: null,
    payload: Buffer.from('x'),
    failed_at: 3,
  });

  it.each([
    ['a buffer shorter than the header', good.subarray(0, 9), /^message of 9 bytes is shorter than the 10-byte Avro single-object header$/],
    ['a wrong marker', Buffer.concat([Buffer.from([0xc3, 0x02]), good.subarray(2)]), /^message does not start with the Avro single-object marker C3 01$/],
    ['an unknown fingerprint', frameSingleObject(0x0123456789abcdefn, good.subarray(10)), /^unknown writer schema fingerprint 0123456789abcdef$/],
    ['a message of another record type', deadLetter, /^message was written as dev\.spendline\.dlq\.DeadLetter, expected dev\.spendline\.usage\.UsageEvent$/],
    ['a truncated body', good.subarray(0, good.length - 3), /^Avro body does not decode with dev\.spendline\.usage\.UsageEvent [0-9a-f]+: /],
    ['trailing bytes after the body', Buffer.concat([good, Buffer.from([0])]), /^Avro body does not decode with dev\.spendline\.usage\.UsageEvent [0-9a-f]+: /],
  ])('returns a failure with a reason for %s', (_what, message, reason) => {
    const decoded = registry.decode(SCHEMA_NAMES.usageEvent, message);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(reason);
  });

  it('parses current schemas in any order, resolving names across files', () => {
    const reordered = new AvroSchemaRegistry([enrichedSchema, deadLetterSchema, usageSchema]);
    expect(reordered.current(SCHEMA_NAMES.enrichedUsageEvent).fingerprint).toBe(registry.current(SCHEMA_NAMES.enrichedUsageEvent).fingerprint);
    expect(() => new AvroSchemaRegistry([enrichedSchema])).toThrow(/undefined type name/);
  });
});

describe('an older writer version is read by a newer reader', () => {
  const rev0Fingerprint = fingerprintOf(rev0Schema);
  const rev0Type = avro.Type.forSchema(rev0Schema as avro.Schema);
  const { ttft_ms, tags, reported_cost, input_audio_tokens, output_audio_tokens, ...rev0Value } = FULL_USAGE_EVENT_RECORD;
  const rev0Message = frameSingleObject(rev0Fingerprint, rev0Type.toBuffer(rev0Value));
  const expected: UsageEventRecord = {
    ...FULL_USAGE_EVENT_RECORD,
    ttft_ms: null,
    tags: {},
    reported_cost: null,
    input_audio_tokens: 0,
    output_audio_tokens: 0,
    // Added after rev0 was written: read as their defaults too.
    cache_audio_read_tokens: 0,
    tenant_id: null,
    cost_center: null,
  };

  it('the fixture really is another revision of the same record', () => {
    expect(rev0Type.name).toBe(SCHEMA_NAMES.usageEvent);
    expect(rev0Fingerprint).not.toBe(registry.current(SCHEMA_NAMES.usageEvent).fingerprint);
    // The values dropped from the old message are not the defaults, so reading the defaults proves resolution.
    expect([ttft_ms, tags, reported_cost, input_audio_tokens, output_audio_tokens]).toEqual([240, { region: 'eu', tier: 'gold' }, '0.000123456789', 50, 20]);
  });

  it('is undecodable for a registry that lacks the old revision', () => {
    expect(registry.decode(SCHEMA_NAMES.usageEvent, rev0Message)).toEqual({
      ok: false,
      reason: `unknown writer schema fingerprint ${rev0Fingerprint.toString(16).padStart(16, '0')}`,
    });
  });

  it('fills the fields the old writer lacked with the current defaults and keeps the rest', () => {
    const withHistory = new AvroSchemaRegistry([usageSchema, enrichedSchema, deadLetterSchema], [rev0Schema]);
    const writer = withHistory.byFingerprint(rev0Fingerprint);
    expect(writer?.name).toBe(SCHEMA_NAMES.usageEvent);
    expect(withHistory.knownSchemas.map((known) => known.fingerprint)).toContain(rev0Fingerprint);

    for (let round = 0; round < 2; round += 1) {
      // Twice: the second read goes through the cached resolver.
      const decoded = withHistory.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, rev0Message);
      expect(decoded).toMatchObject({ ok: true });
      if (!decoded.ok) return;
      expect(decoded.writer).toBe(writer);
      expect(decoded.value).toEqual(expected);
    }
    // Current-version messages still decode directly.
    const current = withHistory.decode<UsageEventRecord>(SCHEMA_NAMES.usageEvent, registry.encode(SCHEMA_NAMES.usageEvent, FULL_USAGE_EVENT_RECORD));
    expect(current).toMatchObject({ ok: true, value: FULL_USAGE_EVENT_RECORD });
  });

  describe('loaded from a schemas/history/ directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendline-schemas-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads <dir>/*.avsc as current and <dir>/history/*.avsc as earlier revisions, across directories', () => {
      const usageDir = join(dir, 'usage');
      mkdirSync(join(usageDir, 'history'), { recursive: true });
      writeFileSync(join(usageDir, 'usage-event-v1.avsc'), JSON.stringify(usageSchema));
      writeFileSync(join(usageDir, 'history', 'usage-event-v1-rev0.avsc'), JSON.stringify(rev0Schema));
      for (const file of ['enriched-usage-event-v1.avsc', 'dead-letter-v1.avsc']) {
        writeFileSync(join(dir, file), readFileSync(join(SCHEMAS_DIR, file)));
      }
      // The enriched schema in `dir` refers to UsageEvent, which `usageDir` defines.
      const fromDisk = AvroSchemaRegistry.fromDirectories([dir, usageDir]);
      expect(fromDisk.current(SCHEMA_NAMES.enrichedUsageEvent).fingerprint).toBe(fingerprintOf(enrichedSelfContained));
      expect(fromDisk.current(SCHEMA_NAMES.usageEvent).fingerprint).toBe(fingerprintOf(usageSchema));
      expect(fromDisk.decode(SCHEMA_NAMES.usageEvent, rev0Message)).toMatchObject({ ok: true, value: expected });
    });
  });
});
