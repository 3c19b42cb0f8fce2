import { z } from 'zod';

/**
 * The OTLP/JSON request's shape for the OpenAPI description (GET /docs), field
 * by field as trace-request-json.ts reads them. Never used to decode: that
 * walk runs by hand, under DECODE_LIMITS, for both encodings alike. AnyValue
 * is recursive; nested values are described, not expanded, so the document
 * holds no references it cannot resolve.
 */

const int64 = z.union([z.string(), z.number()]).describe('a 64-bit integer: a decimal string, or a number');
const hexId = (bytes: number) => z.string().describe(`${bytes} bytes as ${bytes * 2} hex digits (any case); empty when unset`);
const nested = z.unknown().describe('an AnyValue');

const anyValue = z
  .object({
    stringValue: z.string(),
    boolValue: z.boolean(),
    intValue: int64,
    doubleValue: z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]),
    bytesValue: z.string().describe('base64'),
    arrayValue: z.object({ values: z.array(nested) }),
    kvlistValue: z.object({ values: z.array(z.object({ key: z.string(), value: nested })) }),
  })
  .partial()
  .describe('AnyValue: one member set; the first present is taken');

const keyValues = z.array(z.object({ key: z.string(), value: anyValue.optional() }));

const span = z
  .object({
    traceId: hexId(16),
    spanId: hexId(8),
    parentSpanId: hexId(8),
    name: z.string(),
    kind: z.number().int().describe('SpanKind, as an integer (enum names are not allowed)'),
    startTimeUnixNano: int64,
    endTimeUnixNano: int64,
    attributes: keyValues,
    status: z.object({ code: z.number().int().describe('StatusCode: 0 unset, 1 ok, 2 error'), message: z.string() }).partial(),
  })
  .partial();

export const traceRequestJsonDocs = z
  .object({
    resourceSpans: z.array(
      z
        .object({
          resource: z.object({ attributes: keyValues }).partial(),
          scopeSpans: z.array(z.object({ scope: z.object({ name: z.string(), version: z.string() }).partial(), spans: z.array(span) }).partial()),
        })
        .partial(),
    ),
  })
  .partial()
  .describe('ExportTraceServiceRequest (opentelemetry-proto collector/trace/v1/trace_service.proto) in OTLP/JSON; other fields are accepted and ignored');
