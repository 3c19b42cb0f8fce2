import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { DecimalLogicalType, fromTwosComplement, toTwosComplement } from '../../src/avro/decimal-logical-type.ts';

const logicalTypes = { decimal: DecimalLogicalType };

function decimalRecord(fields: readonly { name: string; type: unknown }[]): avro.Type {
  return avro.Type.forSchema({ type: 'record', name: 'Amounts', fields } as avro.Schema, { logicalTypes });
}

const money = { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 12 };

describe('two\'s-complement big-endian encoding of unscaled values', () => {
  // [value, minimal big-endian two's-complement bytes in hex]
  it.each([
    [0n, '00'],
    [1n, '01'],
    [-1n, 'ff'],
    [127n, '7f'],
    [128n, '0080'],
    [-128n, '80'],
    [-129n, 'ff7f'],
    [255n, '00ff'],
    [256n, '0100'],
    [32767n, '7fff'],
    [32768n, '008000'],
    [-32768n, '8000'],
    [2n ** 63n - 1n, '7fffffffffffffff'],
    [2n ** 63n, '008000000000000000'],
    [-(2n ** 63n), '8000000000000000'],
    [-(2n ** 63n) - 1n, 'ff7fffffffffffffff'],
    // -(10^38 - 1), the most negative Decimal(38, 12) amount: 0x4B3B4CA85A86C47A098A223FFFFFFFFF negated.
    [-(10n ** 38n - 1n), 'b4c4b357a5793b85f675ddc000000001'],
  ])('%s ↔ %s', (value, hex) => {
    expect(toTwosComplement(value).toString('hex')).toBe(hex);
    expect(fromTwosComplement(Buffer.from(hex, 'hex'))).toBe(value);
  });

  it('reads the empty byte string as zero', () => {
    expect(fromTwosComplement(Buffer.alloc(0))).toBe(0n);
  });

  it('reads non-minimal encodings by their sign bit', () => {
    expect(fromTwosComplement(Buffer.from('00007f', 'hex'))).toBe(127n);
    expect(fromTwosComplement(Buffer.from('ffff80', 'hex'))).toBe(-128n);
  });

  it('round-trips every value around each byte boundary', () => {
    for (let bits = 0; bits <= 80; bits += 1) {
      for (const value of [2n ** BigInt(bits) - 1n, 2n ** BigInt(bits), -(2n ** BigInt(bits)), -(2n ** BigInt(bits)) - 1n]) {
        expect(fromTwosComplement(toTwosComplement(value))).toBe(value);
      }
    }
  });
});

describe('DecimalLogicalType inside an avsc type', () => {
  const type = decimalRecord([
    { name: 'cost', type: money },
    { name: 'reported', type: ['null', money] },
  ]);

  it.each([
    ['0', '0'],
    ['0.0015', '0.0015'],
    ['-3.5', '-3.5'],
    ['12.340000000000', '12.34'],
    ['99999999999999999999999999.999999999999', '99999999999999999999999999.999999999999'],
    ['-99999999999999999999999999.999999999999', '-99999999999999999999999999.999999999999'],
  ])('%j round-trips as %j', (written, read) => {
    const decoded = type.fromBuffer(type.toBuffer({ cost: written, reported: written })) as { cost: string; reported: string | null };
    expect(decoded.cost).toBe(read);
    expect(decoded.reported).toBe(read);
  });

  it('writes the unscaled value as Avro bytes: zigzag length, then the two\'s-complement bytes', () => {
    const single = decimalRecord([{ name: 'cost', type: money }]);
    // 0.000000000128 is 128 units: bytes 00 80, length 2 zigzag-encoded as 04.
    expect(single.toBuffer({ cost: '0.000000000128' }).toString('hex')).toBe('040080');
    // -1 unit: one byte ff.
    expect(single.toBuffer({ cost: '-0.000000000001' }).toString('hex')).toBe('02ff');
  });

  it('keeps a null in the nullable branch', () => {
    const decoded = type.fromBuffer(type.toBuffer({ cost: '1', reported: null })) as { reported: string | null };
    expect(decoded.reported).toBeNull();
  });

  it.each([
    ['a number', 1.5, /decimal value must be a string/],
    ['an exponent', '1e3', /must be a plain decimal number/],
    ['13 decimals', '0.0000000000001', /at most 12 digits after the decimal point/],
    ['39 digits', '1000000000000000000000000000', /at most 38 significant digits/],
  ])('refuses to write %s', (_what, value, message) => {
    expect(type.isValid({ cost: value, reported: null })).toBe(false);
    expect(() => type.toBuffer({ cost: value, reported: null })).toThrow(message);
  });

  it('exports precision and scale with the schema', () => {
    const exported = type.schema({ exportAttrs: true }) as { fields: { type: unknown }[] };
    expect(exported.fields[0]!.type).toEqual({ type: 'bytes', logicalType: 'decimal', precision: 38, scale: 12 });
  });

  it('only accepts bytes as the underlying type; otherwise avsc falls back to that type, as the Avro spec asks', () => {
    const schema = { type: 'record', name: 'Amounts', fields: [{ name: 'cost', type: { type: 'string', logicalType: 'decimal', scale: 2 } }] };
    expect(() => avro.Type.forSchema(schema as avro.Schema, { logicalTypes, assertLogicalTypes: true })).toThrow(
      'Spendline supports the decimal logical type on bytes only',
    );
    const fallback = avro.Type.forSchema(schema as avro.Schema, { logicalTypes }) as avro.types.RecordType;
    expect(fallback.field('cost').type.typeName).toBe('string');
  });

  it('resolves a writer decimal of the same scale, including in a nullable union', () => {
    const writer = decimalRecord([
      { name: 'cost', type: { ...money, precision: 20 } },
      { name: 'reported', type: ['null', money] },
      { name: 'dropped', type: 'int' },
    ]);
    const reader = decimalRecord([
      { name: 'cost', type: money },
      { name: 'reported', type: ['null', money] },
    ]);
    const resolver = reader.createResolver(writer);
    const bytes = writer.toBuffer({ cost: '-12.5', reported: '0.000000000129', dropped: 7 });
    expect({ ...(reader.fromBuffer(bytes, resolver) as object) }).toEqual({ cost: '-12.5', reported: '0.000000000129' });
  });

  it('refuses to resolve a writer decimal of another scale, whose bytes mean other amounts', () => {
    const writer = decimalRecord([{ name: 'cost', type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 2 } }]);
    const reader = decimalRecord([{ name: 'cost', type: money }]);
    expect(() => reader.createResolver(writer)).toThrow(/cannot read/);
  });
});
