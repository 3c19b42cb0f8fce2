/**
 * The few protobuf wire-format writes Spendline's OTLP answers need
 * (varints, strings, embedded messages). Each function returns the bytes of
 * one field, so a message is the concatenation of its fields.
 */

const LENGTH_DELIMITED = 2;
const VARINT = 0;

function varint(value: bigint): Buffer {
  if (value < 0n) value = BigInt.asUintN(64, value);
  const bytes: number[] = [];
  do {
    let byte = Number(value & 0x7fn);
    value >>= 7n;
    if (value > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0n);
  return Buffer.from(bytes);
}

function key(field: number, wireType: number): Buffer {
  return varint(BigInt(field * 8 + wireType));
}

/** A varint field (int32, int64, enum); proto3 leaves zero out. */
export function varintField(field: number, value: bigint | number): Buffer {
  const big = BigInt(value);
  return big === 0n ? Buffer.alloc(0) : Buffer.concat([key(field, VARINT), varint(big)]);
}

/** A bytes or embedded-message field. */
export function bytesField(field: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([key(field, LENGTH_DELIMITED), varint(BigInt(bytes.length)), bytes]);
}

/** A string field; proto3 leaves the empty string out. */
export function stringField(field: number, text: string): Buffer {
  return text === '' ? Buffer.alloc(0) : bytesField(field, Buffer.from(text, 'utf8'));
}
