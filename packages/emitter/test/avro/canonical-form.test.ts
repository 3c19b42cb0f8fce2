import { describe, expect, it } from 'vitest';
import { parsingCanonicalForm } from '../../src/avro/canonical-form.ts';
import { rabinFingerprint, toSignedLong } from '../../src/avro/rabin-fingerprint.ts';
import { SCHEMA_TEST_VECTORS } from '../fixtures/avro-spec-schema-tests.ts';

describe('Parsing Canonical Form and CRC-64-AVRO against the Avro specification vectors', () => {
  it.each(SCHEMA_TEST_VECTORS.map((vector) => [vector.id, vector] as const))('vector %s', (_id, vector) => {
    const canonical = parsingCanonicalForm(JSON.parse(vector.input));
    expect(canonical).toBe(vector.canonical);
    if (vector.fingerprint !== undefined) {
      expect(toSignedLong(rabinFingerprint(Buffer.from(canonical, 'utf8')))).toBe(vector.fingerprint);
    }
  });

  it('fingerprints the empty input as the specification empty value', () => {
    expect(rabinFingerprint(new Uint8Array())).toBe(0xc15d213aa4d7a795n);
  });

  it('strips logical-type attributes and resolves nested names against the enclosing namespace', () => {
    const schema = {
      type: 'record',
      name: 'Outer',
      namespace: 'a.b',
      fields: [
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'inner', type: { type: 'enum', name: 'Kind', symbols: ['x'] } },
        { name: 'again', type: 'Kind' },
      ],
    };
    expect(parsingCanonicalForm(schema)).toBe(
      '{"name":"a.b.Outer","type":"record","fields":[{"name":"at","type":"long"},{"name":"inner","type":{"name":"a.b.Kind","type":"enum","symbols":["x"]}},{"name":"again","type":"a.b.Kind"}]}',
    );
  });
});
