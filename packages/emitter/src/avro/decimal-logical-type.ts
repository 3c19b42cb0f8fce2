import avro from 'avsc';
import { formatDecimal, parseDecimal } from '../decimal.ts';

/**
 * Avro `decimal` on `bytes` (big-endian two's-complement unscaled value, as the
 * specification defines it), surfaced to JavaScript as an exact decimal string.
 * avsc has no decimal support of its own.
 */
export class DecimalLogicalType extends avro.types.LogicalType {
  readonly scale: number;
  readonly precision: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const attrs = schema as { scale?: number; precision?: number };
    this.scale = attrs.scale ?? 0;
    this.precision = attrs.precision ?? 0;
    if (this.underlyingType.typeName !== 'bytes') {
      throw new Error('Spendline supports the decimal logical type on bytes only');
    }
  }

  protected override _fromValue(value: Buffer): string {
    return formatDecimal(fromTwosComplement(value), this.scale);
  }

  protected override _toValue(value: unknown): Buffer {
    // avsc asks every branch of a union about a value; for an absent one ("null" | decimal, the
    // usual case) answering "not mine" without building an exception keeps encoding cheap.
    if (value === null || value === undefined) return undefined as unknown as Buffer;
    if (typeof value !== 'string') throw new TypeError(`decimal value must be a string, got ${typeof value}`);
    const parsed = parseDecimal(value, this.scale);
    if (!parsed.ok) throw new TypeError(`decimal ${JSON.stringify(value)} ${parsed.reason}`);
    return toTwosComplement(parsed.units);
  }

  /** Readers accept a writer decimal of the same scale; a different scale would change every value. */
  protected override _resolve(type: avro.Type): ((value: Buffer) => Buffer) | undefined {
    if (type instanceof DecimalLogicalType && type.scale === this.scale) return (value) => value;
    return undefined;
  }

  protected override _export(schema: avro.Schema): void {
    const attrs = schema as Record<string, unknown>;
    attrs['precision'] = this.precision;
    attrs['scale'] = this.scale;
  }
}

export function toTwosComplement(value: bigint): Buffer {
  let length = 1;
  while (value < -(1n << BigInt(8 * length - 1)) || value >= 1n << BigInt(8 * length - 1)) length += 1;
  let unsigned = BigInt.asUintN(8 * length, value);
  const bytes = Buffer.alloc(length);
  for (let index = length - 1; index >= 0; index -= 1) {
    bytes[index] = Number(unsigned & 0xffn);
    unsigned >>= 8n;
  }
  return bytes;
}

export function fromTwosComplement(bytes: Buffer): bigint {
  if (bytes.length === 0) return 0n;
  let unsigned = 0n;
  for (const byte of bytes) unsigned = (unsigned << 8n) | BigInt(byte);
  return BigInt.asIntN(8 * bytes.length, unsigned);
}
