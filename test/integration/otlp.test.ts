import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as HttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { protobufBody, recordSpans } from '../unit/otlp/sdk-spans.ts';

/**
 * OTLP ingest end to end: the OpenTelemetry SDK's own exporters (protobuf,
 * gzip-compressed like the collector's default, and JSON) export GenAI spans
 * over real sockets to a Spendline process on the real broker and chDB; the
 * model calls land priced in ClickHouse with their trace and span ids, and a
 * span that arrives several times, by OTLP and by POST /v1/events, is stored
 * once.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let running: RunningProcess;

/** ExportResultCode of @opentelemetry/core. */
const SUCCESS = 0;
const FAILED = 1;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  running = await startProcess({ config: testConfig(brokers), services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
});

afterAll(async () => {
  await running?.stop();
});

const auth = { Authorization: `Bearer ${TEST_TOKENS.ingest}` };
const gzip = 'gzip' as NonNullable<NonNullable<ConstructorParameters<typeof ProtobufExporter>[0]>['compression']>;

function exporters(url: string) {
  return {
    protobuf: new ProtobufExporter({ url: `${url}/v1/traces`, headers: auth, compression: gzip }),
    json: new HttpJsonExporter({ url: `${url}/v1/traces`, headers: auth }),
  };
}

function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<number> {
  return new Promise((resolve) => exporter.export(spans, (result) => resolve(result.code)));
}

const storedRow = z.object({
  event_id: z.string(),
  trace_id: z.string(),
  span_id: z.string(),
  provider: z.string(),
  model: z.string(),
  operation: z.string(),
  input_tokens: z.coerce.number(),
  output_tokens: z.coerce.number(),
  cache_read_tokens: z.coerce.number(),
  cost_status: z.string(),
  cost: z.string(),
  feature: z.string().nullable(),
  team: z.string().nullable(),
  environment: z.string().nullable(),
  gateway_id: z.string().nullable(),
});

async function storedBySpan(spanIds: readonly string[]) {
  return running.clickhouse!.query({
    name: 'otlp_test_rows',
    sql: `SELECT event_id, trace_id, span_id, provider, model, toString(operation) AS operation, input_tokens, output_tokens, cache_read_tokens,
                 cost_status, toString(cost) AS cost, feature, team, environment, gateway_id
          FROM {db:Identifier}.usage_events_v1 WHERE span_id IN {spans:Array(String)} ORDER BY input_tokens`,
    params: { spans: [...spanIds] },
    schema: storedRow,
  });
}

describe('OTLP ingest on the real broker and ClickHouse', () => {
  it('stores the model-call spans the SDK exporters send, priced, with their trace and span ids', async () => {
    const sent = new InMemorySpanExporter();
    const { protobuf } = exporters(running.url);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout', 'deployment.environment.name': 'prod', 'spendline.team': 'payments' }),
      spanProcessors: [new SimpleSpanProcessor(protobuf), new SimpleSpanProcessor(sent)],
    });
    const tracer = provider.getTracer('openai-instrumentation', '1.0.0');
    const agent = tracer.startSpan('invoke_agent planner', { kind: SpanKind.INTERNAL, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 9999 } });
    tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200 } }).end();
    tracer.startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'azure.ai.openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 2000, 'gen_ai.usage.cache_read.input_tokens': 1000, 'gen_ai.usage.output_tokens': 10 } }).end();
    const failed = tracer.startSpan('embeddings', { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'embeddings', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'text-embedding-3-small', 'gen_ai.usage.input_tokens': 3000, 'error.type': '429' } });
    failed.setStatus({ code: SpanStatusCode.ERROR });
    failed.end();
    tracer.startSpan('GET /checkout', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } }).end();
    agent.end();
    await provider.forceFlush();

    const spans = sent.getFinishedSpans();
    const modelCalls = spans.filter((span) => span.name !== 'GET /checkout' && !span.name.startsWith('invoke_agent'));
    const rows = await eventually(async () => {
      const found = await storedBySpan(modelCalls.map((span) => span.spanContext().spanId));
      return found.length === 3 ? found : undefined;
    }, { what: 'three model-call spans stored' });
    expect(rows.map(({ event_id: _id, trace_id: _trace, span_id: _span, ...row }) => row)).toEqual([
      { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat', input_tokens: 1000, output_tokens: 200, cache_read_tokens: 0, cost_status: 'priced', cost: '0.00027', feature: 'checkout', team: 'payments', environment: 'prod', gateway_id: 'otlp' },
      { provider: 'azure', model: 'gpt-4o-mini', operation: 'chat', input_tokens: 2000, output_tokens: 10, cache_read_tokens: 1000, cost_status: 'priced', cost: expect.stringMatching(/^0\.000\d+$/), feature: 'checkout', team: 'payments', environment: 'prod', gateway_id: 'otlp' },
      { provider: 'openai', model: 'text-embedding-3-small', operation: 'embedding', input_tokens: 3000, output_tokens: 0, cache_read_tokens: 0, cost_status: 'priced', cost: '0.00006', feature: 'checkout', team: 'payments', environment: 'prod', gateway_id: 'otlp' },
    ]);
    for (const row of rows) {
      const span = modelCalls.find((candidate) => candidate.spanContext().spanId === row.span_id)!;
      expect(row).toMatchObject({ trace_id: span.spanContext().traceId, event_id: `span-${span.spanContext().traceId}-${row.span_id}` });
    }
    const [ignored] = await running.clickhouse!.query({
      name: 'otlp_test_ignored',
      sql: 'SELECT count() AS n FROM {db:Identifier}.usage_events_v1 WHERE span_id IN {spans:Array(String)}',
      params: { spans: spans.filter((span) => !modelCalls.includes(span)).map((span) => span.spanContext().spanId) },
      schema: z.object({ n: z.coerce.number() }),
    });
    expect(ignored!.n).toBe(0);
    await provider.shutdown();
  });

  it('stores a span once when the exporters send it again and a gateway posts it to /v1/events', async () => {
    const [span] = recordSpans({ 'service.name': 'retry-test' }, [
      { startMs: Date.now() - 30_000, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'anthropic', 'gen_ai.request.model': 'claude-3-5-haiku-20241022', 'gen_ai.usage.input_tokens': 700, 'gen_ai.usage.output_tokens': 70 } },
    ]);
    const { traceId, spanId } = span!.spanContext();
    const { protobuf, json } = exporters(running.url);
    const skippedBefore = (await running.metrics.duplicatesSkipped.get()).values[0]?.value ?? 0;

    expect(await exportOnce(protobuf, [span!])).toBe(SUCCESS);
    expect(await exportOnce(json, [span!])).toBe(SUCCESS);
    expect(await exportOnce(protobuf, [span!])).toBe(SUCCESS);
    const posted = await running.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` },
      payload: [{ trace_id: traceId.toUpperCase(), span_id: spanId, occurred_at: new Date().toISOString(), provider: 'anthropic', model: 'claude-3-5-haiku-20241022', input_tokens: 700, output_tokens: 70 }],
    });
    expect(posted.statusCode).toBe(200);
    expect(posted.json()).toMatchObject({ results: [{ status: 'accepted', event_id: `span-${traceId}-${spanId}` }] });

    // Four deliveries of one event: one stored, three skipped as duplicates by the sink.
    await eventually(async () => (((await running.metrics.duplicatesSkipped.get()).values[0]?.value ?? 0) - skippedBefore >= 3 ? true : undefined), { what: 'three duplicates skipped' });
    const rows = await storedBySpan([spanId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event_id: `span-${traceId}-${spanId}`, trace_id: traceId, provider: 'anthropic', input_tokens: 700, feature: 'retry-test', cost_status: 'priced' });
    await Promise.all([protobuf.shutdown(), json.shutdown()]);
  });

  it('answers partial success over the wire, and the exporter takes it as success', async () => {
    const spans = recordSpans({}, [
      { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10 } },
      { attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 50 } },
    ]);
    const response = await fetch(`${running.url}/v1/traces`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body: protobufBody(spans) });
    expect(response.status).toBe(200);
    const answer = ProtobufTraceSerializer.deserializeResponse(new Uint8Array(await response.arrayBuffer()));
    expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(1);
    expect(answer.partialSuccess?.errorMessage).toContain(`span ${spans[1]!.spanContext().spanId} of trace ${spans[1]!.spanContext().traceId}: gen_ai.usage.input_tokens: is 10, less than`);
    const { protobuf } = exporters(running.url);
    expect(await exportOnce(protobuf, [spans[1]!])).toBe(SUCCESS);
    await protobuf.shutdown();
  });
});

describe('OTLP ingest while Kafka is unreachable', () => {
  let down: RunningProcess;
  beforeAll(async () => {
    // A closed local port: kafkajs really fails to connect (nothing is mocked).
    const brokers = ['127.0.0.1:1'];
    down = await startProcess({ config: testConfig(brokers, { INGEST_PRODUCE_TIMEOUT_MS: '1000' }), services: new Set(['ingest']), brokers, log: createLogger('silent'), processMetrics: false });
  });
  afterAll(async () => {
    await down?.stop();
  });

  it('answers 503 with Retry-After, and the exporter reports the export failed', async () => {
    const spans = recordSpans({}, [{ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 10 } }]);
    const empty = await fetch(`${down.url}/v1/traces`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"resourceSpans":[]}' });
    expect(empty.status).toBe(200); // nothing to store: no Kafka needed
    const withSpan = await fetch(`${down.url}/v1/traces`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-protobuf' }, body: protobufBody(spans) });
    expect(withSpan.status).toBe(503);
    expect(withSpan.headers.get('retry-after')).toBe('5');
    expect(withSpan.headers.get('content-type')).toBe('application/x-protobuf');
    const protobuf = new ProtobufExporter({ url: `${down.url}/v1/traces`, headers: auth, timeoutMillis: 3_000 });
    expect(await exportOnce(protobuf, spans)).toBe(FAILED);
    expect(((await down.metrics.otlpSpans.get()).values.find((value) => value.labels['outcome'] === 'accepted')?.value ?? 0)).toBe(0);
    await protobuf.shutdown();
  });
});
