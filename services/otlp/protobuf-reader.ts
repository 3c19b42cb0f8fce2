import { isUtf8 } from 'node:buffer';

/**
 * A bounds-checked reader of the protobuf wire format
 * (https://protobuf.dev/programming-guides/encoding/): every read checks the
 * bytes are there, every length is checked against what is left, varints stop
 * at ten bytes. Malformed input throws WireFormatError, which the message
 * decoders turn into a 400 naming where it happened; nothing reads past the
 * end, allocates by a declared length, or loops without consuming bytes.
 */

export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

export const WIRE_TYPE = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
const WIRE_TYPE_NAMES: Record<number, string> = { 0: 'varint', 1: 'fixed64', 2: 'length-delimited', 3: 'start-group', 4: 'end-group', 5: 'fixed32' };

export function wireTypeName(wireType: number): string {
  return WIRE_TYPE_NAMES[wireType] ?? `unknown wire type ${wireType}`;
}


export class ProtobufReader {
  readonly #bytes: Buffer;
  readonly #view: DataView;
  readonly #end: number;
  #pos: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length, view?: DataView) {
    this.#bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** The next field's number and wire type. Groups (deprecated, never in OTLP) and invalid types are refused. */
  tag(): { readonly field: number; readonly wireType: number } {
    const key = this.varint();
    if (key > 0xffffffff) throw new WireFormatError(`field key ${key} is out of range`);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new WireFormatError('field number 0 is not valid');
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5) {
      throw new WireFormatError(`field ${field} uses ${wireTypeName(wireType)}, which OTLP never sends`);
    }
    return { field, wireType };
  }

  /** A varint as a number; values past 2^53 (never a valid length, tag or count) are refused. */
  varint(): number {
    // Fast path: one byte (most tags and short lengths).
    if (this.#pos < this.#end) {
      const first = this.#bytes[this.#pos]!;
      if (first < 0x80) {
        this.#pos += 1;
        return first;
      }
    }
    const value = this.varint64();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireFormatError(`varint ${value} is too large here`);
    return Number(value);
  }

  /** A varint as an unsigned 64-bit integer: at most ten bytes, the tenth holding only the top bit. */
  varint64(): bigint {
    let result = 0n;
    for (let index = 0; index < 10; index += 1) {
      if (this.#pos >= this.#end) throw new WireFormatError('truncated varint');
      const byte = this.#bytes[this.#pos++]!;
      if (index === 9 && byte > 1) throw new WireFormatError('varint longer than 64 bits');
      result |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if (byte < 0x80) return result;
    }
    throw new WireFormatError('varint longer than ten bytes');
  }

  /** An int64 field (two's complement in a ten-byte varint when negative). */
  int64(): bigint {
    return BigInt.asIntN(64, this.varint64());
  }

  /** An enum or int32 field: proto3 keeps the low 32 bits, sign-extended. */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  bool(): boolean {
    return this.varint64() !== 0n;
  }

  fixed64(): bigint {
    this.#need(8, 'fixed64');
    const value = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    return value;
  }

  double(): number {
    this.#need(8, 'double');
    const value = this.#view.getFloat64(this.#pos, true);
    this.#pos += 8;
    return value;
  }

  /** The bytes of a length-delimited field, without copying. */
  bytes(): Uint8Array {
    const length = this.varint();
    this.#need(length, 'length-delimited field');
    const start = this.#pos;
    this.#pos += length;
    return this.#bytes.subarray(start, start + length);
  }

  /** A string field: must be valid UTF-8 (proto3 requires it). */
  string(): string {
    const length = this.varint();
    this.#need(length, 'string');
    const start = this.#pos;
    this.#pos += length;
    if (!isUtf8(this.#bytes.subarray(start, start + length))) throw new WireFormatError('string is not valid UTF-8');
    return this.#bytes.toString('utf8', start, start + length);
  }

  /** A reader over an embedded message, confined to its bytes. */
  message(): ProtobufReader {
    const length = this.varint();
    this.#need(length, 'embedded message');
    const start = this.#pos;
    this.#pos += length;
    return new ProtobufReader(this.#bytes, start, start + length, this.#view);
  }

  /** Steps over a field this decoder does not read (unknown fields must be ignored). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_TYPE.varint:
        this.varint64();
        return;
      case WIRE_TYPE.fixed64:
        this.#need(8, 'fixed64');
        this.#pos += 8;
        return;
      case WIRE_TYPE.lengthDelimited: {
        const length = this.varint();
        this.#need(length, 'length-delimited field');
        this.#pos += length;
        return;
      }
      case WIRE_TYPE.fixed32:
        this.#need(4, 'fixed32');
        this.#pos += 4;
        return;
      default:
        throw new WireFormatError(`cannot skip ${wireTypeName(wireType)}`);
    }
  }

  #need(length: number, what: string): void {
    if (length > this.#end - this.#pos) {
      throw new WireFormatError(`${what} of ${length} bytes runs past the end of its message (${this.#end - this.#pos} bytes left)`);
    }
  }
}
