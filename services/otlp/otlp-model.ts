import type { FieldIssue } from '@spendline/emitter/field-issues';

/**
 * The part of an OTLP ExportTraceServiceRequest that Spendline reads, as both
 * decoders (binary protobuf and OTLP/JSON) produce it: resources with their
 * attributes, and spans with ids (their parent's too), name, kind, times,
 * attributes and status.
 * Span events and links are skipped (prompts often travel there; usage never
 * does). Field meanings: opentelemetry-proto trace/v1/trace.proto.
 */

/** An attribute value (opentelemetry.proto.common.v1.AnyValue); int64 stays exact as a bigint. */
export type AnyValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'array'; readonly values: readonly AnyValue[] }
  | { readonly kind: 'kvlist'; readonly values: ReadonlyMap<string, AnyValue> }
  /** A KeyValue whose value was left unset. */
  | { readonly kind: 'empty' };

/** Attributes by key; the first occurrence of a repeated key wins (OTLP says keys are unique). */
export type Attributes = ReadonlyMap<string, AnyValue>;

/** opentelemetry.proto.trace.v1.Status.StatusCode */
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

export interface OtlpSpan {
  /** Lower-case hex, 32 digits; empty when the sender left it unset. */
  readonly traceId: string;
  /** Lower-case hex, 16 digits; empty when the sender left it unset. */
  readonly spanId: string;
  /** The span this one is nested in (same trace), lower-case hex; empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** SpanKind enum value (0 unspecified … 5 consumer). */
  readonly kind: number;
  /** Nanoseconds since the Unix epoch (fixed64). */
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Attributes;
  readonly status: { readonly code: number; readonly message: string };
}

export interface OtlpScopeSpans {
  readonly scope: { readonly name: string; readonly version: string };
  readonly spans: readonly OtlpSpan[];
}

export interface OtlpResourceSpans {
  readonly resource: Attributes;
  readonly scopeSpans: readonly OtlpScopeSpans[];
}

export interface OtlpTraceRequest {
  readonly resourceSpans: readonly OtlpResourceSpans[];
}

/**
 * A request that could not be decoded, answered 400: each problem at its path
 * in OTLP/JSON terms (resourceSpans[0].scopeSpans[1].spans[3].traceId),
 * whichever encoding came.
 */
export type DecodedTraceRequest = { readonly ok: true; readonly request: OtlpTraceRequest } | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * Bounds on what one request may make the decoders build, whatever its byte
 * size allows: a hostile or broken sender gets a 400 naming the bound, fast,
 * instead of exhausting memory, the stack or the event loop. Both encodings
 * decode under the same bounds. Real exporters stay far below them: the
 * collector's batch processor sends 8,192 spans per request, SDKs 512; SDKs
 * keep at most 128 attributes per span (OTEL_ATTRIBUTE_COUNT_LIMIT) and GenAI
 * spans carry 20 to 40; a 20 MiB body holds about 800,000 real attributes
 * (keys of 15 to 35 characters) as protobuf, 500,000 as JSON.
 */
export const DECODE_LIMITS: DecodeLimits = {
  maxSpans: 100_000,
  /** resourceSpans and scopeSpans entries across the whole request. */
  maxGroups: 100_000,
  /** Attributes and attribute values (nested ones included) across the whole request: a million attributes. */
  maxValues: 2_000_000,
  /** Nesting of array and kvlist values inside one attribute. */
  maxValueDepth: 16,
  /**
   * Values in one arrayValue, entries in one kvlistValue. The longest arrays
   * instrumentations record are embedding vectors (3,072 floats for
   * text-embedding-3-large, 4,096 for the largest common models).
   */
  maxListValues: 16_384,
};

export interface DecodeLimits {
  readonly maxSpans: number;
  readonly maxGroups: number;
  readonly maxValues: number;
  readonly maxValueDepth: number;
  readonly maxListValues: number;
}

/** Why an arrayValue or kvlistValue past DecodeLimits.maxListValues is refused (the path names the list). */
export function listLimitMessage(limits: DecodeLimits): string {
  return `holds more than ${limits.maxListValues} values; an attribute value may hold at most ${limits.maxListValues}`;
}

/** The hex form of trace and span ids in OTLP/JSON and in usage events. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
