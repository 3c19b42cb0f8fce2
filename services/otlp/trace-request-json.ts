import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { DECODE_LIMITS, type AnyValue, type Attributes, type DecodedTraceRequest, type OtlpTraceRequest } from './otlp-model.ts';

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest (application/json): the
 * proto3 JSON mapping with OTLP's deviations (opentelemetry-proto
 * docs/specification.md, "JSON Protobuf Encoding"): lowerCamelCase keys only,
 * trace and span ids as case-insensitive hex, enums as integers, 64-bit
 * integers as decimal strings or numbers, null as the field's default, and
 * unknown fields ignored. Before the schema runs, one iterative pass bounds
 * nesting and size, so a hostile body cannot overflow the stack or keep the
 * validator busy.
 */

/** Deepest nesting a real request needs: 10 levels down to an attribute value, 3 per nested kvlist level. */
const MAX_JSON_DEPTH = 10 + 3 * DECODE_LIMITS.maxValueDepth;
/** JSON values (objects, arrays, scalars) one request may hold: an attribute takes about four. */
const MAX_JSON_NODES = 2 * DECODE_LIMITS.maxValues;
/** Problems listed in one 400 answer. */
const MAX_ISSUES = 20;

export function decodeTraceRequestJson(text: string): DecodedTraceRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `is not valid JSON: ${(err as Error).message}` }] };
  }
  const shape = checkShape(parsed);
  if (shape) return { ok: false, issues: [shape] };
  const checked = validate(exportTraceServiceRequest, parsed);
  if (!checked.ok) return { ok: false, issues: checked.issues.slice(0, MAX_ISSUES) };
  const spans = checked.value.resourceSpans.reduce((sum, group) => sum + group.scopeSpans.reduce((inner, scope) => inner + scope.spans.length, 0), 0);
  if (spans > DECODE_LIMITS.maxSpans) return { ok: false, issues: [{ path: 'resourceSpans', message: `holds ${spans} spans; at most ${DECODE_LIMITS.maxSpans} per request` }] };
  return { ok: true, request: checked.value };
}

/** Walks the parsed value without recursion: too deep or too many values is a 400 before any schema runs. */
function checkShape(root: unknown): FieldIssue | null {
  const stack: [unknown, number][] = [[root, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (++nodes > MAX_JSON_NODES) return { path: '', message: `holds more than ${MAX_JSON_NODES} JSON values; send smaller batches` };
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_JSON_DEPTH) return { path: '', message: `nests deeper than ${MAX_JSON_DEPTH} levels, more than any OTLP request needs` };
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A 64-bit integer as proto3 JSON writes it: a decimal string, or a number that is a whole number. */
const int64 = (min: bigint, max: bigint, what: string) =>
  z
    // Not z.number().int(): zod's int stops at 2^53, and int64 values beyond it are legitimate (if rounded by JSON).
    .union([z.string().regex(/^-?[0-9]{1,20}$/, `must be ${what} as a decimal string or number`), z.number().refine(Number.isInteger, `must be ${what}`)])
    .transform((value, ctx) => {
      const big = BigInt(value);
      if (big < min || big > max) {
        ctx.addIssue({ code: 'custom', message: `must be ${what}` });
        return z.NEVER;
      }
      return big;
    });

const signedInt64 = int64(INT64_MIN, INT64_MAX, 'a 64-bit integer');
const unixNano = int64(0n, UINT64_MAX, 'nanoseconds since the Unix epoch (an unsigned 64-bit integer)').nullish().transform((value) => value ?? 0n);

/** Enums are integers in OTLP/JSON; the proto's names are not allowed. */
const enumValue = z
  .number({ error: 'must be an integer enum value (OTLP/JSON does not allow enum names)' })
  .int('must be an integer enum value')
  .nullish()
  .transform((value) => value ?? 0);

const hexId = (bytes: number) =>
  z
    .string()
    .regex(new RegExp(`^(?:[0-9a-fA-F]{${bytes * 2}})?$`), `must be ${bytes * 2} hex digits`)
    .nullish()
    .transform((value) => (value ?? '').toLowerCase());

const text = z
  .string()
  .nullish()
  .transform((value) => value ?? '');

/** proto3 JSON doubles: numbers, or the strings "NaN", "Infinity", "-Infinity" and numeric text. */
const double = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  const number = Number(value);
  if (value.trim() === '' || Number.isNaN(number)) {
    ctx.addIssue({ code: 'custom', message: 'must be a number' });
    return z.NEVER;
  }
  return number;
});

/** Base64 (standard or URL-safe alphabet, padding optional), as proto3 JSON writes bytes. */
const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64')
  .transform((value) => new Uint8Array(Buffer.from(value, value.includes('-') || value.includes('_') ? 'base64url' : 'base64')));

interface AnyValueJson {
  stringValue?: string | null | undefined;
  boolValue?: boolean | null | undefined;
  intValue?: bigint | null | undefined;
  doubleValue?: number | null | undefined;
  bytesValue?: Uint8Array | null | undefined;
  arrayValue?: { values: AnyValue[] } | null | undefined;
  kvlistValue?: { values: Attributes } | null | undefined;
}

/** One attribute value; the first member of the oneof that is present is taken. */
const anyValue: z.ZodType<AnyValue, unknown> = z.lazy(() =>
  z
    .object({
      stringValue: z.string().nullish(),
      boolValue: z.boolean().nullish(),
      intValue: signedInt64.nullish(),
      doubleValue: double.nullish(),
      bytesValue: base64.nullish(),
      arrayValue: z.object({ values: z.array(anyValue).nullish().transform((values) => values ?? []) }).nullish(),
      kvlistValue: z.object({ values: keyValues }).nullish(),
    })
    .transform(toAnyValue),
);

function toAnyValue(json: AnyValueJson): AnyValue {
  if (json.stringValue != null) return { kind: 'string', value: json.stringValue };
  if (json.boolValue != null) return { kind: 'bool', value: json.boolValue };
  if (json.intValue != null) return { kind: 'int', value: json.intValue };
  if (json.doubleValue != null) return { kind: 'double', value: json.doubleValue };
  if (json.bytesValue != null) return { kind: 'bytes', value: json.bytesValue };
  if (json.arrayValue != null) return { kind: 'array', values: json.arrayValue.values };
  if (json.kvlistValue != null) return { kind: 'kvlist', values: json.kvlistValue.values };
  return { kind: 'empty' };
}

/** A repeated KeyValue as a map; the first occurrence of a key wins. */
const keyValues: z.ZodType<Attributes, unknown> = z.lazy(() =>
  z
    .array(z.object({ key: text, value: anyValue.nullish() }))
    .nullish()
    .transform((entries) => {
      const map = new Map<string, AnyValue>();
      for (const { key, value } of entries ?? []) if (!map.has(key)) map.set(key, value ?? { kind: 'empty' });
      return map;
    }),
);

const span = z.object({
  traceId: hexId(16),
  spanId: hexId(8),
  name: text,
  kind: enumValue,
  startTimeUnixNano: unixNano,
  endTimeUnixNano: unixNano,
  attributes: keyValues,
  status: z
    .object({ code: enumValue, message: text })
    .nullish()
    .transform((status) => status ?? { code: 0, message: '' }),
});

const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((items): z.output<T>[] => items ?? []);

export const exportTraceServiceRequest: z.ZodType<OtlpTraceRequest, unknown> = z.object({
  resourceSpans: list(
    z.object({
      resource: z
        .object({ attributes: keyValues })
        .nullish()
        .transform((resource) => resource?.attributes ?? new Map<string, AnyValue>()),
      scopeSpans: list(
        z.object({
          scope: z
            .object({ name: text, version: text })
            .nullish()
            .transform((scope) => scope ?? { name: '', version: '' }),
          spans: list(span),
        }),
      ),
    }),
  ),
});
