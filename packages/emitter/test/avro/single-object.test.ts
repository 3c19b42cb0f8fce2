import { describe, expect, it } from 'vitest';
import { frameSingleObject, SINGLE_OBJECT_HEADER_LENGTH, unframeSingleObject } from '../../src/avro/single-object.ts';

describe('Avro single-object framing', () => {
  it.each([
    // [fingerprint, its 8 bytes little-endian]
    [0n, '0000000000000000'],
    [1n, '0100000000000000'],
    [0x0102030405060708n, '0807060504030201'],
    [0xffffffffffffffffn, 'ffffffffffffffff'],
    [0xc15d213aa4d7a795n, '95a7d7a43a215dc1'],
  ])('frames fingerprint %s as C3 01 then %s then the body', (fingerprint, littleEndian) => {
    const body = Buffer.from('0a0b0c', 'hex');
    const framed = frameSingleObject(fingerprint, body);
    expect(framed.toString('hex')).toBe(`c301${littleEndian}0a0b0c`);
    expect(unframeSingleObject(framed)).toEqual({ ok: true, fingerprint, body });
  });

  it('unframes a message with an empty body', () => {
    const framed = frameSingleObject(42n, Buffer.alloc(0));
    expect(framed.length).toBe(SINGLE_OBJECT_HEADER_LENGTH);
    expect(unframeSingleObject(framed)).toEqual({ ok: true, fingerprint: 42n, body: Buffer.alloc(0) });
  });

  it.each([
    ['an empty message', '', 'message of 0 bytes is shorter than the 10-byte Avro single-object header'],
    ['9 bytes', 'c301000000000000ff', 'message of 9 bytes is shorter than the 10-byte Avro single-object header'],
    ['a wrong first marker byte', 'c401000000000000000000', 'message does not start with the Avro single-object marker C3 01'],
    ['a wrong second marker byte', 'c300000000000000000000', 'message does not start with the Avro single-object marker C3 01'],
    ['JSON text', Buffer.from('{"event_id":"x"}').toString('hex'), 'message does not start with the Avro single-object marker C3 01'],
  ])('reports %s as a value, not an exception', (_what, hex, reason) => {
    expect(unframeSingleObject(Buffer.from(hex, 'hex'))).toEqual({ ok: false, reason });
  });
});
