import { fingerprintBytes } from './rabin-fingerprint.ts';

/**
 * Avro single-object encoding: the two marker bytes C3 01, the writer schema's
 * CRC-64-AVRO fingerprint (8 bytes, little-endian), then the Avro binary body.
 */

export const SINGLE_OBJECT_MARKER = Buffer.from([0xc3, 0x01]);
export const SINGLE_OBJECT_HEADER_LENGTH = 10;

export function frameSingleObject(fingerprint: bigint, body: Buffer): Buffer {
  return Buffer.concat([SINGLE_OBJECT_MARKER, fingerprintBytes(fingerprint), body]);
}

export type UnframedMessage =
  | { ok: true; fingerprint: bigint; body: Buffer }
  | { ok: false; reason: string };

export function unframeSingleObject(message: Buffer): UnframedMessage {
  if (message.length < SINGLE_OBJECT_HEADER_LENGTH) {
    return { ok: false, reason: `message of ${message.length} bytes is shorter than the 10-byte Avro single-object header` };
  }
  if (message[0] !== 0xc3 || message[1] !== 0x01) {
    return { ok: false, reason: 'message does not start with the Avro single-object marker C3 01' };
  }
  return {
    ok: true,
    fingerprint: message.readBigUInt64LE(2),
    body: message.subarray(SINGLE_OBJECT_HEADER_LENGTH),
  };
}
