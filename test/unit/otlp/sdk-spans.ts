import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/**
 * Real OpenTelemetry SDK spans for the OTLP tests: a BasicTracerProvider
 * records them, and the otlp-transformer serializers the exporters use turn
 * them into the exact protobuf and JSON bytes an SDK sends.
 */

export interface SpanSpec {
  readonly name?: string;
  readonly attributes?: Attributes;
  /** Epoch ms; the span lasts durationMs. */
  readonly startMs?: number;
  readonly durationMs?: number;
  readonly error?: boolean;
  /** Index of an earlier spec whose span is this one's parent (a span nested inside it). */
  readonly parent?: number;
}

/** Spans as the SDK records them, under one resource. */
export function recordSpans(resource: Attributes, specs: readonly SpanSpec[]): ReadableSpan[] {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('spendline-test', '1.0.0');
  const started: Span[] = [];
  for (const spec of specs) {
    const start = spec.startMs ?? Date.now() - 60_000;
    const parent = spec.parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, started[spec.parent]!);
    const span = tracer.startSpan(spec.name ?? 'chat gpt-4o', { kind: SpanKind.CLIENT, attributes: spec.attributes ?? {}, startTime: start }, parent);
    if (spec.error) span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream failed' });
    span.end(start + (spec.durationMs ?? 1234));
    started.push(span);
  }
  return exporter.getFinishedSpans();
}

export function protobufBody(spans: ReadableSpan[]): Buffer {
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
}

export function jsonBody(spans: ReadableSpan[]): Buffer {
  return Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
}
