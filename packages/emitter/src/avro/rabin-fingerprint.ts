/**
 * CRC-64-AVRO ("Rabin") fingerprint, as defined in the Avro specification's
 * "Schema Fingerprints" section. avsc offers md5 and sha256 only, and the
 * single-object encoding needs this one.
 */

/** The empty fingerprint and generator polynomial fixed by the specification. */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK_64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = Array.from({ length: 256 }, (_, index) => {
  let fp = BigInt(index);
  for (let bit = 0; bit < 8; bit += 1) {
    fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK_64);
  }
  return fp;
});

/** Fingerprint of the given bytes as an unsigned 64-bit value. */
export function rabinFingerprint(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes) {
    fp = (fp >> 8n) ^ TABLE[Number((fp ^ BigInt(byte)) & 0xffn)]!;
  }
  return fp;
}

/** The same fingerprint read as a signed 64-bit long, as Java and the spec's test vectors print it. */
export function toSignedLong(fingerprint: bigint): bigint {
  return BigInt.asIntN(64, fingerprint);
}

/** The 8 bytes the single-object header carries: the fingerprint, little-endian. */
export function fingerprintBytes(fingerprint: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(fingerprint);
  return bytes;
}
