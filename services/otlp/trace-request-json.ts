import { formatPath, type FieldIssue } from '@spendline/emitter/field-issues';
import { DECODE_LIMITS, listLimitMessage, type AnyValue, type DecodedTraceRequest, type DecodeLimits, type OtlpResourceSpans, type OtlpScopeSpans, type OtlpSpan, type OtlpTraceRequest } from './otlp-model.ts';

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest (application/json): the
 * proto3 JSON mapping with OTLP's deviations (opentelemetry-proto
 * docs/specification.md, "JSON Protobuf Encoding"): lowerCamelCase keys only,
 * trace and span ids as case-insensitive hex, enums as integers, 64-bit
 * integers as decimal strings or numbers, null as the field's default, and
 * unknown fields ignored.
 *
 * Bounded like the protobuf decoder, under the same DECODE_LIMITS. Before
 * JSON.parse builds anything, one pass over the text counts nesting, objects
 * and arrays, and values (outside strings), so a body of millions of tiny
 * values is refused in milliseconds. Every attribute and every attribute value
 * is a JSON object, so the bound on objects and arrays is also the value
 * budget. The parsed value is then walked by hand, as the protobuf decoder
 * walks the wire format: list lengths, value nesting and spans are checked as
 * they come, and a limit stops the walk with one issue. Field problems are
 * collected, up to twenty, each at its path.
 */
export function decodeTraceRequestJson(text: string, limits: DecodeLimits = DECODE_LIMITS): DecodedTraceRequest {
  const shape = shapeIssue(text, limits);
  if (shape) return { ok: false, issues: [shape] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `is not valid JSON: ${(err as Error).message}` }] };
  }
  const reader = new JsonTraceReader(limits);
  try {
    const request = reader.request(parsed);
    return reader.issues.length === 0 ? { ok: true, request } : { ok: false, issues: reader.issues };
  } catch (err) {
    if (err instanceof StopDecoding) return { ok: false, issues: reader.issues };
    throw err;
  }
}

/** Problems listed in one 400 answer. */
const MAX_ISSUES = 20;

/**
 * Nesting a real request needs: 12 levels down to an attribute value of a
 * span event or link (a span's own are two shallower), 4 more per nested
 * kvlist level (AnyValue, kvlistValue, values, KeyValue).
 */
const maxJsonDepth = (limits: DecodeLimits) => 12 + 4 * limits.maxValueDepth;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Counts what JSON.parse would build, without building it: nesting depth,
 * objects and arrays, and values (at most one per comma and per container,
 * plus the root). Malformed text passes through to JSON.parse, which names
 * the fault.
 */
function shapeIssue(text: string, limits: DecodeLimits): FieldIssue | null {
  const maxDepth = maxJsonDepth(limits);
  const maxContainers = limits.maxValues;
  const maxValues = 2 * limits.maxValues;
  let depth = 0;
  let containers = 0;
  let commas = 0;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (code === QUOTE) at = closingQuote(text, at);
    else if (code === COMMA) {
      if (++commas + containers >= maxValues) return { path: '', message: `holds more than ${maxValues} JSON values; send smaller batches` };
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > maxDepth) return { path: '', message: `nests deeper than ${maxDepth} levels, more than any OTLP request needs` };
      if (++containers > maxContainers) return { path: '', message: `holds more than ${maxContainers} JSON objects and arrays; send smaller batches` };
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth -= 1;
  }
  return 1 + commas + containers > maxValues ? { path: '', message: `holds more than ${maxValues} JSON values; send smaller batches` } : null;
}

/** Where the string opened at `start` ends: the next quote not escaped by an odd run of backslashes (the text's end if none). */
function closingQuote(text: string, start: number): number {
  let at = start;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return at;
  }
}

/** Ends the walk: the issues so far are the answer (a limit was met, or enough problems were found). */
class StopDecoding extends Error {}

type Json = Record<string, unknown>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER_TEXT = /^-?[0-9]{1,20}$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const HEX_ID: Readonly<Record<number, RegExp>> = { 16: /^(?:[0-9a-fA-F]{32})?$/, 8: /^(?:[0-9a-fA-F]{16})?$/ };
const EMPTY: AnyValue = { kind: 'empty' };

/**
 * The walk over a parsed request. The path of the value being read is kept
 * as a stack of keys and indexes, rendered only when a problem is recorded.
 * Readers of optional fields take null and absence as the field's default.
 */
class JsonTraceReader {
  readonly issues: FieldIssue[] = [];
  readonly #limits: DecodeLimits;
  readonly #path: (string | number)[] = [];
  #spans: number;
  #groups: number;

  constructor(limits: DecodeLimits) {
    this.#limits = limits;
    this.#spans = limits.maxSpans;
    this.#groups = limits.maxGroups;
  }

  request(root: unknown): OtlpTraceRequest {
    const object = this.#object(root);
    return { resourceSpans: object ? this.#list(object, 'resourceSpans', (item) => this.#resourceSpans(item)) : [] };
  }

  #resourceSpans(item: unknown): OtlpResourceSpans {
    this.#spendGroup();
    const object = this.#object(item);
    const resource = new Map<string, AnyValue>();
    if (!object) return { resource, scopeSpans: [] };
    this.#path.push('resource');
    const resourceObject = this.#optionalObject(object['resource']);
    if (resourceObject) this.#attributes(resourceObject['attributes'], resource);
    this.#path.pop();
    return { resource, scopeSpans: this.#list(object, 'scopeSpans', (scope) => this.#scopeSpans(scope)) };
  }

  #scopeSpans(item: unknown): OtlpScopeSpans {
    this.#spendGroup();
    const object = this.#object(item);
    if (!object) return { scope: { name: '', version: '' }, spans: [] };
    this.#path.push('scope');
    const scopeObject = this.#optionalObject(object['scope']);
    const scope = { name: this.#text(scopeObject?.['name'], 'name'), version: this.#text(scopeObject?.['version'], 'version') };
    this.#path.pop();
    return { scope, spans: this.#list(object, 'spans', (span) => this.#span(span)) };
  }

  #span(item: unknown): OtlpSpan {
    if (--this.#spans < 0) this.#limit(`more than ${this.#limits.maxSpans} spans in one request; send smaller batches`);
    const object = this.#object(item) ?? {};
    const traceId = this.#hexId(object['traceId'], 'traceId', 16);
    const spanId = this.#hexId(object['spanId'], 'spanId', 8);
    const parentSpanId = this.#hexId(object['parentSpanId'], 'parentSpanId', 8);
    const name = this.#text(object['name'], 'name');
    const kind = this.#enum(object['kind'], 'kind');
    const startTimeUnixNano = this.#unixNano(object['startTimeUnixNano'], 'startTimeUnixNano');
    const endTimeUnixNano = this.#unixNano(object['endTimeUnixNano'], 'endTimeUnixNano');
    const attributes = new Map<string, AnyValue>();
    this.#attributes(object['attributes'], attributes);
    this.#path.push('status');
    const statusObject = this.#optionalObject(object['status']);
    const status = { code: this.#enum(statusObject?.['code'], 'code'), message: this.#text(statusObject?.['message'], 'message') };
    this.#path.pop();
    return { traceId, spanId, parentSpanId, name, kind, startTimeUnixNano, endTimeUnixNano, attributes, status };
  }

  /** A repeated KeyValue into a map; the first occurrence of a key wins. */
  #attributes(value: unknown, into: Map<string, AnyValue>): void {
    const entries = this.#array(value, 'attributes');
    this.#path.push('attributes');
    for (let index = 0; index < entries.length; index += 1) {
      this.#path.push(index);
      const entry = this.#keyValue(entries[index], 1);
      if (entry && !into.has(entry[0])) into.set(entry[0], entry[1]);
      this.#path.pop();
    }
    this.#path.pop();
  }

  #keyValue(item: unknown, depth: number): [string, AnyValue] | null {
    const object = this.#object(item);
    if (!object) return null;
    const key = this.#text(object['key'], 'key');
    const value = object['value'];
    if (value === null || value === undefined) return [key, EMPTY];
    this.#path.push('value');
    const read = this.#anyValue(value, depth);
    this.#path.pop();
    return [key, read];
  }

  /** One attribute value; the first member of the oneof that is present is taken. */
  #anyValue(value: unknown, depth: number): AnyValue {
    if (depth > this.#limits.maxValueDepth) this.#limit(`attribute values nested deeper than ${this.#limits.maxValueDepth} levels`);
    const object = this.#object(value);
    if (!object) return EMPTY;
    if (object['stringValue'] != null) return { kind: 'string', value: this.#text(object['stringValue'], 'stringValue') };
    if (object['boolValue'] != null) return { kind: 'bool', value: this.#bool(object['boolValue'], 'boolValue') };
    if (object['intValue'] != null) return { kind: 'int', value: this.#int64(object['intValue'], 'intValue', INT64_MIN, INT64_MAX, 'a 64-bit integer') };
    if (object['doubleValue'] != null) return { kind: 'double', value: this.#double(object['doubleValue'], 'doubleValue') };
    if (object['bytesValue'] != null) return { kind: 'bytes', value: this.#base64(object['bytesValue'], 'bytesValue') };
    if (object['arrayValue'] != null) return { kind: 'array', values: this.#arrayValue(object['arrayValue'], depth) };
    if (object['kvlistValue'] != null) return { kind: 'kvlist', values: this.#kvlistValue(object['kvlistValue'], depth) };
    return EMPTY;
  }

  #arrayValue(value: unknown, depth: number): AnyValue[] {
    this.#path.push('arrayValue');
    const items = this.#listValues(value);
    const values: AnyValue[] = new Array<AnyValue>(items.length);
    this.#path.push('values');
    for (let index = 0; index < items.length; index += 1) {
      this.#path.push(index);
      values[index] = this.#anyValue(items[index], depth + 1);
      this.#path.pop();
    }
    this.#path.length -= 2;
    return values;
  }

  #kvlistValue(value: unknown, depth: number): Map<string, AnyValue> {
    this.#path.push('kvlistValue');
    const items = this.#listValues(value);
    const values = new Map<string, AnyValue>();
    this.#path.push('values');
    for (let index = 0; index < items.length; index += 1) {
      this.#path.push(index);
      const entry = this.#keyValue(items[index], depth + 1);
      if (entry && !values.has(entry[0])) values.set(entry[0], entry[1]);
      this.#path.pop();
    }
    this.#path.length -= 2;
    return values;
  }

  /** The `values` of an ArrayValue or KeyValueList, refused past the list limit before any is read. */
  #listValues(wrapper: unknown): readonly unknown[] {
    const object = this.#object(wrapper);
    const items = object ? this.#array(object['values'], 'values') : [];
    if (items.length > this.#limits.maxListValues) this.#limit(listLimitMessage(this.#limits), 'values');
    return items;
  }

  #list<T>(object: Json, name: string, read: (item: unknown) => T): T[] {
    const items = this.#array(object[name], name);
    const out: T[] = [];
    this.#path.push(name);
    for (let index = 0; index < items.length; index += 1) {
      this.#path.push(index);
      out.push(read(items[index]));
      this.#path.pop();
    }
    this.#path.pop();
    return out;
  }

  #spendGroup(): void {
    if (--this.#groups < 0) this.#limit(`more than ${this.#limits.maxGroups} resourceSpans and scopeSpans entries in one request; send smaller batches`);
  }

  /** Records a problem at the current path (plus `segment`) and goes on with the field's default, until there are enough. */
  #problem(message: string, segment?: string): void {
    this.issues.push({ path: formatPath(segment === undefined ? this.#path : [...this.#path, segment]), message });
    if (this.issues.length >= MAX_ISSUES) throw new StopDecoding();
  }

  /** A limit met: the one issue of the answer. */
  #limit(message: string, segment?: string): never {
    this.issues.length = 0;
    this.issues.push({ path: formatPath(segment === undefined ? this.#path : [...this.#path, segment]), message });
    throw new StopDecoding();
  }

  #object(value: unknown): Json | null {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
    this.#problem(`must be an object, got ${typeName(value)}`);
    return null;
  }

  #optionalObject(value: unknown): Json | null {
    return value === null || value === undefined ? null : this.#object(value);
  }

  #array(value: unknown, segment: string): readonly unknown[] {
    if (Array.isArray(value)) return value;
    if (value !== null && value !== undefined) this.#problem(`must be an array, got ${typeName(value)}`, segment);
    return [];
  }

  #text(value: unknown, segment: string): string {
    if (typeof value === 'string') return value;
    if (value !== null && value !== undefined) this.#problem(`must be a string, got ${typeName(value)}`, segment);
    return '';
  }

  #bool(value: unknown, segment: string): boolean {
    if (typeof value === 'boolean') return value;
    this.#problem(`must be a boolean, got ${typeName(value)}`, segment);
    return false;
  }

  /** Enums are integers in OTLP/JSON; the proto's names are not allowed. */
  #enum(value: unknown, segment: string): number {
    if (value === null || value === undefined) return 0;
    if (typeof value !== 'number') this.#problem('must be an integer enum value (OTLP/JSON does not allow enum names)', segment);
    else if (!Number.isSafeInteger(value)) this.#problem('must be an integer enum value', segment);
    else return value;
    return 0;
  }

  /** A trace or span id: `bytes` bytes as hex (any case), or empty (unset); lower-cased. */
  #hexId(value: unknown, segment: string, bytes: 16 | 8): string {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'string') this.#problem(`must be a string, got ${typeName(value)}`, segment);
    else if (!HEX_ID[bytes]!.test(value)) this.#problem(`must be ${bytes * 2} hex digits`, segment);
    else return value.toLowerCase();
    return '';
  }

  #unixNano(value: unknown, segment: string): bigint {
    if (value === null || value === undefined) return 0n;
    return this.#int64(value, segment, 0n, UINT64_MAX, 'nanoseconds since the Unix epoch (an unsigned 64-bit integer)');
  }

  /**
   * A 64-bit integer as proto3 JSON writes it: a decimal string, or a number
   * that is a whole number (beyond 2^53 a JSON number is already rounded, but
   * still an int64).
   */
  #int64(value: unknown, segment: string, min: bigint, max: bigint, what: string): bigint {
    let big: bigint | null = null;
    if (typeof value === 'string' && INTEGER_TEXT.test(value)) big = BigInt(value);
    else if (typeof value === 'number') {
      if (!Number.isInteger(value)) {
        this.#problem(`must be ${what}`, segment);
        return 0n;
      }
      big = BigInt(value);
    }
    if (big === null) this.#problem(`must be ${what} as a decimal string or number`, segment);
    else if (big < min || big > max) this.#problem(`must be ${what}`, segment);
    else return big;
    return 0n;
  }

  /** proto3 JSON doubles: numbers, or the strings "NaN", "Infinity", "-Infinity" and numeric text. */
  #double(value: unknown, segment: string): number {
    if (typeof value === 'number') return value;
    if (value === 'NaN') return Number.NaN;
    if (value === 'Infinity') return Number.POSITIVE_INFINITY;
    if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
    this.#problem('must be a number', segment);
    return 0;
  }

  /** Base64 (standard or URL-safe alphabet, padding optional), as proto3 JSON writes bytes. */
  #base64(value: unknown, segment: string): Uint8Array {
    if (typeof value !== 'string') this.#problem(`must be a string, got ${typeName(value)}`, segment);
    else if (!BASE64.test(value)) this.#problem('must be base64', segment);
    else return new Uint8Array(Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64'));
    return new Uint8Array(0);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
