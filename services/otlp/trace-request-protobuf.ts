import { DECODE_LIMITS, listLimitMessage, toHex, type AnyValue, type DecodedTraceRequest, type DecodeLimits, type OtlpResourceSpans, type OtlpScopeSpans, type OtlpSpan } from './otlp-model.ts';
import { ProtobufReader, WIRE_TYPE, WireFormatError, wireTypeName } from './protobuf-reader.ts';

/**
 * Decodes a binary ExportTraceServiceRequest (application/x-protobuf), hand
 * written for the few messages Spendline reads, with field numbers from
 * opentelemetry-proto (collector/trace/v1/trace_service.proto,
 * trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto).
 * Unknown fields are skipped as proto3 requires; a known field with the wrong
 * wire type, a truncated or overlong value, an id of the wrong length, invalid
 * UTF-8, or more spans, values, list entries or nesting than DECODE_LIMITS
 * allow fails the whole request with the path where it happened (in OTLP/JSON
 * names). Work is bounded by the limits whatever the body holds: a list is
 * refused at its first entry past the limit, not after reading them all.
 */
export function decodeTraceRequestProtobuf(body: Uint8Array, limits: DecodeLimits = DECODE_LIMITS): DecodedTraceRequest {
  const budget: Budget = { limits, spans: limits.maxSpans, groups: limits.maxGroups, values: limits.maxValues };
  const resourceSpans: OtlpResourceSpans[] = [];
  try {
    const reader = new ProtobufReader(body);
    while (!reader.done) {
      const { field, wireType } = reader.tag();
      if (field === 1) {
        const segment = `resourceSpans[${resourceSpans.length}]`;
        spendGroup(budget, segment);
        const message = expectMessage(reader, wireType, segment);
        resourceSpans.push(located(segment, () => decodeResourceSpans(message, budget)));
      } else reader.skip(wireType);
    }
  } catch (err) {
    if (err instanceof LocatedError) return { ok: false, issues: [{ path: err.path.join('.'), message: err.message }] };
    if (err instanceof WireFormatError) return { ok: false, issues: [{ path: '', message: err.message }] };
    throw err;
  }
  return { ok: true, request: { resourceSpans } };
}

interface Budget {
  readonly limits: DecodeLimits;
  spans: number;
  groups: number;
  values: number;
}

function spendGroup(budget: Budget, segment: string): void {
  if (--budget.groups < 0) throw new LocatedError(`more than ${budget.limits.maxGroups} resourceSpans and scopeSpans entries in one request; send smaller batches`, [segment]);
}

function spendValue(budget: Budget): void {
  if (--budget.values < 0) throw new LocatedError(`more than ${budget.limits.maxValues} attributes and attribute values in one request; send smaller batches`, []);
}

/** A decoding error on its way out, collecting the path it came through. */
class LocatedError extends Error {
  readonly path: string[];
  constructor(message: string, path: string[]) {
    super(message);
    this.path = path;
  }
}

function located<T>(segment: string, work: () => T): T {
  try {
    return work();
  } catch (err) {
    return relocate(err, segment);
  }
}

/** Adds the segment an error came through to its path (inline in the hot loops, where a closure per value costs). */
function relocate(err: unknown, segment: string): never {
  if (err instanceof LocatedError) {
    err.path.unshift(segment);
    throw err;
  }
  if (err instanceof WireFormatError) throw new LocatedError(err.message, [segment]);
  throw err;
}

function expectWireType(wireType: number, expected: number, name: string): void {
  if (wireType !== expected) throw new LocatedError(`must be ${wireTypeName(expected)}, got ${wireTypeName(wireType)}`, [name]);
}

function expectMessage(reader: ProtobufReader, wireType: number, name: string): ProtobufReader {
  expectWireType(wireType, WIRE_TYPE.lengthDelimited, name);
  return located(name, () => reader.message());
}

function decodeResourceSpans(reader: ProtobufReader, budget: Budget): OtlpResourceSpans {
  const resource = new Map<string, AnyValue>();
  const scopeSpans: OtlpScopeSpans[] = [];
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      const message = expectMessage(reader, wireType, 'resource');
      located('resource', () => decodeResource(message, resource, budget));
    } else if (field === 2) {
      const segment = `scopeSpans[${scopeSpans.length}]`;
      spendGroup(budget, segment);
      const message = expectMessage(reader, wireType, segment);
      scopeSpans.push(located(segment, () => decodeScopeSpans(message, budget)));
    } else reader.skip(wireType);
  }
  return { resource, scopeSpans };
}

function decodeResource(reader: ProtobufReader, into: Map<string, AnyValue>, budget: Budget): void {
  let index = 0;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) decodeAttribute(reader, wireType, into, index++, budget);
    else reader.skip(wireType);
  }
}

function decodeScopeSpans(reader: ProtobufReader, budget: Budget): OtlpScopeSpans {
  let scope = { name: '', version: '' };
  const spans: OtlpSpan[] = [];
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      const message = expectMessage(reader, wireType, 'scope');
      scope = located('scope', () => decodeScope(message));
    } else if (field === 2) {
      const segment = `spans[${spans.length}]`;
      if (--budget.spans < 0) throw new LocatedError(`more than ${budget.limits.maxSpans} spans in one request; send smaller batches`, [segment]);
      const message = expectMessage(reader, wireType, segment);
      spans.push(located(segment, () => decodeSpan(message, budget)));
    } else reader.skip(wireType);
  }
  return { scope, spans };
}

function decodeScope(reader: ProtobufReader): { name: string; version: string } {
  const scope = { name: '', version: '' };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) scope.name = readString(reader, wireType, 'name');
    else if (field === 2) scope.version = readString(reader, wireType, 'version');
    else reader.skip(wireType);
  }
  return scope;
}

function decodeSpan(reader: ProtobufReader, budget: Budget): OtlpSpan {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let startTimeUnixNano = 0n;
  let endTimeUnixNano = 0n;
  const attributes = new Map<string, AnyValue>();
  let attributeIndex = 0;
  let status = { code: 0, message: '' };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    switch (field) {
      case 1:
        traceId = readId(reader, wireType, 'traceId', 16);
        break;
      case 2:
        spanId = readId(reader, wireType, 'spanId', 8);
        break;
      case 4:
        parentSpanId = readId(reader, wireType, 'parentSpanId', 8);
        break;
      case 5:
        name = readString(reader, wireType, 'name');
        break;
      case 6:
        expectWireType(wireType, WIRE_TYPE.varint, 'kind');
        kind = located('kind', () => reader.int32());
        break;
      case 7:
        startTimeUnixNano = readFixed64(reader, wireType, 'startTimeUnixNano');
        break;
      case 8:
        endTimeUnixNano = readFixed64(reader, wireType, 'endTimeUnixNano');
        break;
      case 9:
        decodeAttribute(reader, wireType, attributes, attributeIndex++, budget);
        break;
      case 15: {
        const message = expectMessage(reader, wireType, 'status');
        status = located('status', () => decodeStatus(message));
        break;
      }
      default:
        // trace_state, flags, events, links and the dropped counts are not needed.
        reader.skip(wireType);
    }
  }
  return { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, attributes, status };
}

function decodeStatus(reader: ProtobufReader): { code: number; message: string } {
  const status = { code: 0, message: '' };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 2) status.message = readString(reader, wireType, 'message');
    else if (field === 3) {
      expectWireType(wireType, WIRE_TYPE.varint, 'code');
      status.code = located('code', () => reader.int32());
    } else reader.skip(wireType);
  }
  return status;
}

/** One KeyValue of a repeated attributes field, added under its key unless the key came before. */
function decodeAttribute(reader: ProtobufReader, wireType: number, into: Map<string, AnyValue>, index: number, budget: Budget): void {
  const segment = `attributes[${index}]`;
  const message = expectMessage(reader, wireType, segment);
  let entry: [string, AnyValue];
  try {
    entry = decodeKeyValue(message, 1, budget);
  } catch (err) {
    relocate(err, segment);
  }
  if (!into.has(entry[0])) into.set(entry[0], entry[1]);
}

function decodeKeyValue(reader: ProtobufReader, depth: number, budget: Budget): [string, AnyValue] {
  spendValue(budget);
  let key = '';
  let value: AnyValue = { kind: 'empty' };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) key = readString(reader, wireType, 'key');
    else if (field === 2) {
      const message = expectMessage(reader, wireType, 'value');
      try {
        value = decodeAnyValue(message, depth, budget);
      } catch (err) {
        relocate(err, 'value');
      }
    }
    else reader.skip(wireType);
  }
  return [key, value];
}

function decodeAnyValue(reader: ProtobufReader, depth: number, budget: Budget): AnyValue {
  if (depth > budget.limits.maxValueDepth) throw new LocatedError(`attribute values nested deeper than ${budget.limits.maxValueDepth} levels`, []);
  spendValue(budget);
  // A oneof: the last member on the wire wins, as in every protobuf decoder.
  let value: AnyValue = { kind: 'empty' };
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    switch (field) {
      case 1:
        value = { kind: 'string', value: readString(reader, wireType, 'stringValue') };
        break;
      case 2:
        expectWireType(wireType, WIRE_TYPE.varint, 'boolValue');
        value = { kind: 'bool', value: located('boolValue', () => reader.bool()) };
        break;
      case 3:
        expectWireType(wireType, WIRE_TYPE.varint, 'intValue');
        value = { kind: 'int', value: located('intValue', () => reader.int64()) };
        break;
      case 4:
        expectWireType(wireType, WIRE_TYPE.fixed64, 'doubleValue');
        value = { kind: 'double', value: located('doubleValue', () => reader.double()) };
        break;
      case 5: {
        const message = expectMessage(reader, wireType, 'arrayValue');
        value = { kind: 'array', values: located('arrayValue', () => decodeArrayValue(message, depth, budget)) };
        break;
      }
      case 6: {
        const message = expectMessage(reader, wireType, 'kvlistValue');
        value = { kind: 'kvlist', values: located('kvlistValue', () => decodeKeyValueList(message, depth, budget)) };
        break;
      }
      case 7:
        expectWireType(wireType, WIRE_TYPE.lengthDelimited, 'bytesValue');
        value = { kind: 'bytes', value: located('bytesValue', () => reader.bytes()) };
        break;
      default:
        reader.skip(wireType);
    }
  }
  return value;
}

function decodeArrayValue(reader: ProtobufReader, depth: number, budget: Budget): AnyValue[] {
  const values: AnyValue[] = [];
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      if (values.length === budget.limits.maxListValues) throw new LocatedError(listLimitMessage(budget.limits), ['values']);
      const segment = `values[${values.length}]`;
      const message = expectMessage(reader, wireType, segment);
      values.push(located(segment, () => decodeAnyValue(message, depth + 1, budget)));
    } else reader.skip(wireType);
  }
  return values;
}

function decodeKeyValueList(reader: ProtobufReader, depth: number, budget: Budget): Map<string, AnyValue> {
  const values = new Map<string, AnyValue>();
  let index = 0;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      if (index === budget.limits.maxListValues) throw new LocatedError(listLimitMessage(budget.limits), ['values']);
      const segment = `values[${index++}]`;
      const message = expectMessage(reader, wireType, segment);
      const [key, value] = located(segment, () => decodeKeyValue(message, depth + 1, budget));
      if (!values.has(key)) values.set(key, value);
    } else reader.skip(wireType);
  }
  return values;
}

function readString(reader: ProtobufReader, wireType: number, name: string): string {
  expectWireType(wireType, WIRE_TYPE.lengthDelimited, name);
  return located(name, () => reader.string());
}

function readFixed64(reader: ProtobufReader, wireType: number, name: string): bigint {
  expectWireType(wireType, WIRE_TYPE.fixed64, name);
  return located(name, () => reader.fixed64());
}

/** A trace or span id: exactly `size` bytes, or empty (unset). */
function readId(reader: ProtobufReader, wireType: number, name: string, size: number): string {
  expectWireType(wireType, WIRE_TYPE.lengthDelimited, name);
  const bytes = located(name, () => reader.bytes());
  if (bytes.length !== 0 && bytes.length !== size) throw new LocatedError(`must be ${size} bytes, got ${bytes.length}`, [name]);
  return toHex(bytes);
}
