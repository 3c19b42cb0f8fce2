import { gzipSync } from 'node:zlib';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { KafkaUnavailableError } from '../../../services/ingest/usage-publisher.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { registerOtlpRoutes } from '../../../services/otlp/otlp-routes.ts';
import { DEFAULT_OTLP_SETTINGS } from '../../../services/otlp/otlp-settings.ts';
import { ProtobufReader } from '../../../services/otlp/protobuf-reader.ts';
import { jsonBody, protobufBody, recordSpans } from './sdk-spans.ts';

/**
 * POST /v1/traces over app.inject(): the OTLP/HTTP transport (encodings,
 * compression, answers, failures). The publisher is an in-memory stand-in
 * here; test/integration/otlp.test.ts runs the real broker and ClickHouse.
 */

const INGEST = 'otlp-route-ingest-token-0123';
const READER = 'otlp-route-reader-token-0123';
const log = createLogger('silent');
const MAX_BODY = 64 * 1024;

const CHAT = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10 };
const BAD = { ...CHAT, 'gen_ai.usage.cache_read.input_tokens': 500 };

interface Harness {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly published: UsageEventRecord[][];
}

let app: FastifyInstance | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function harness(publish: (events: readonly UsageEventRecord[]) => Promise<void> = async () => {}, maxPublishBatch = 1000): Promise<Harness> {
  const metrics = new Metrics({ processMetrics: false });
  app = buildHttpServer({ log, metrics, tokens: new BearerTokens({ adminToken: null, readerTokens: [READER], ingestTokens: [INGEST] }), readiness: [], bodyLimit: 1024 * 1024 });
  const published: UsageEventRecord[][] = [];
  registerOtlpRoutes(app, {
    publisher: {
      publish: async (events) => {
        await publish(events);
        published.push([...events]);
      },
    },
    policy: new PolicySource(null, log),
    settings: DEFAULT_OTLP_SETTINGS,
    metrics,
    maxBodyBytes: MAX_BODY,
    maxPublishBatch,
  });
  await app.ready();
  return { app, metrics, published };
}

function post(target: FastifyInstance, body: Buffer | string, headers: Record<string, string>) {
  return target.inject({ method: 'POST', url: '/v1/traces', headers: { authorization: `Bearer ${INGEST}`, ...headers }, payload: body });
}

const PROTOBUF = { 'content-type': 'application/x-protobuf' };
const JSON_TYPE = { 'content-type': 'application/json' };

async function spanCount(metrics: Metrics, outcome: string): Promise<number> {
  const metric = await metrics.otlpSpans.get();
  return metric.values.find((value) => value.labels['outcome'] === outcome)?.value ?? 0;
}

/** A google.rpc.Status in protobuf: code, message and the BadRequest field violations. */
function decodeStatus(body: Buffer): { code: number; message: string; violations: { field: string; description: string }[] } {
  const status = { code: 0, message: '', violations: [] as { field: string; description: string }[] };
  const reader = new ProtobufReader(body);
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) status.code = reader.int32();
    else if (field === 2) status.message = reader.string();
    else if (field === 3) {
      const any = reader.message();
      while (!any.done) {
        const tag = any.tag();
        if (tag.field === 1) expect(any.string()).toBe('type.googleapis.com/google.rpc.BadRequest');
        else if (tag.field === 2) {
          const badRequest = any.message();
          while (!badRequest.done) {
            badRequest.tag();
            const violation = badRequest.message();
            const entry = { field: '', description: '' };
            while (!violation.done) {
              const inner = violation.tag();
              if (inner.field === 1) entry.field = violation.string();
              else entry.description = violation.string();
            }
            status.violations.push(entry);
          }
        } else any.skip(tag.wireType);
      }
    } else reader.skip(wireType);
  }
  return status;
}

describe('POST /v1/traces', () => {
  it('accepts a protobuf export, publishes the model calls, and answers an empty ExportTraceServiceResponse', async () => {
    const { app, metrics, published } = await harness();
    const spans = recordSpans({ 'service.name': 'checkout' }, [{ attributes: CHAT }, { name: 'GET /', attributes: { 'http.request.method': 'GET' } }, { attributes: { 'gen_ai.operation.name': 'invoke_agent' } }]);
    const response = await post(app, protobufBody(spans), PROTOBUF);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    expect(response.rawPayload).toHaveLength(0);
    expect(ProtobufTraceSerializer.deserializeResponse(response.rawPayload)).toEqual({});
    expect(published.flat().map((event) => [event.span_id, event.feature, event.input_tokens])).toEqual([[spans[0]!.spanContext().spanId, 'checkout', 100]]);
    expect([await spanCount(metrics, 'accepted'), await spanCount(metrics, 'ignored_non_genai'), await spanCount(metrics, 'ignored_not_a_model_call'), await spanCount(metrics, 'rejected')]).toEqual([1, 1, 1, 0]);
  });

  it('counts a framework span wrapping the provider SDK\'s model call once, as the inner call, and the wrapper as ignored_wrapper', async () => {
    const { app, metrics, published } = await harness();
    const spans = recordSpans({}, [
      { name: 'chat ChatOpenAI', attributes: { ...CHAT, 'gen_ai.usage.input_tokens': 100 } },
      { name: 'chat gpt-4o', attributes: { ...CHAT, 'gen_ai.response.model': 'gpt-4o-2024-08-06', 'gen_ai.usage.input_tokens': 100 }, parent: 0 },
    ]);
    expect((await post(app, protobufBody(spans), PROTOBUF)).statusCode).toBe(200);
    expect(published.flat().map((event) => [event.span_id, event.model])).toEqual([[spans[1]!.spanContext().spanId, 'gpt-4o-2024-08-06']]);
    expect([await spanCount(metrics, 'accepted'), await spanCount(metrics, 'ignored_wrapper')]).toEqual([1, 1]);
  });

  it('accepts an OTLP/JSON export and answers in JSON', async () => {
    const { app, published } = await harness();
    const response = await post(app, jsonBody(recordSpans({}, [{ attributes: CHAT }])), { 'content-type': 'application/json; charset=utf-8' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.json()).toEqual({});
    expect(published.flat()).toHaveLength(1);
  });

  it.each([
    ['protobuf', PROTOBUF, protobufBody, (body: Buffer) => ProtobufTraceSerializer.deserializeResponse(body)],
    ['json', JSON_TYPE, jsonBody, (body: Buffer) => JsonTraceSerializer.deserializeResponse(body)],
  ] as const)('answers partial_success naming each rejected span and attribute (%s), storing the rest', async (_encoding, headers, serialize, deserialize) => {
    const { app, metrics, published } = await harness();
    const spans = recordSpans({}, [{ attributes: CHAT }, { attributes: BAD }]);
    const response = await post(app, serialize(spans), headers);
    expect(response.statusCode).toBe(200);
    const answer = deserialize(response.rawPayload) as { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: string } };
    expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(1);
    const { traceId, spanId } = spans[1]!.spanContext();
    expect(answer.partialSuccess?.errorMessage).toBe(
      `1 GenAI span rejected (not stored; fix and resend them): span ${spanId} of trace ${traceId}: gen_ai.usage.input_tokens: is 100, less than gen_ai.usage.cache_read.input_tokens (500) + gen_ai.usage.cache_creation.input_tokens (0): the conventions count cached tokens as part of the input, so the instrumentation must report the whole input, cached tokens included`,
    );
    expect(published.flat().map((event) => event.span_id)).toEqual([spans[0]!.spanContext().spanId]);
    expect(await spanCount(metrics, 'rejected')).toBe(1);
  });

  it('takes a gzip body, as the collector\'s otlphttp exporter sends by default', async () => {
    const { app, published } = await harness();
    const response = await post(app, gzipSync(protobufBody(recordSpans({}, [{ attributes: CHAT }]))), { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(200);
    expect(published.flat()).toHaveLength(1);
  });

  it('answers 413 for a body that inflates past the limit (a gzip bomb), without publishing', async () => {
    const { app, published } = await harness();
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const response = await post(app, bomb, { ...PROTOBUF, 'content-encoding': 'gzip' });
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    expect(decodeStatus(response.rawPayload)).toMatchObject({ code: 8, message: `the body decompresses to more than ${MAX_BODY} bytes; send smaller batches` });
    expect(published).toEqual([]);
  });

  it('answers 413 for a body over the limit before decompression', async () => {
    const { app } = await harness();
    const response = await post(app, Buffer.alloc(MAX_BODY + 1), PROTOBUF);
    expect(response.statusCode).toBe(413);
    expect(decodeStatus(response.rawPayload).message).toBe('the body is larger than this server accepts; send smaller batches');
  });

  it.each([
    ['corrupt gzip', { ...PROTOBUF, 'content-encoding': 'gzip' }, Buffer.from('not gzip at all'), 400, /^the body is not valid gzip data: /],
    ['an unsupported content coding', { ...PROTOBUF, 'content-encoding': 'br' }, Buffer.from([]), 415, /^Content-Encoding br is not supported; send gzip, deflate or an uncompressed body$/],
  ])('refuses %s', async (_what, headers, body, status, message) => {
    const { app } = await harness();
    const response = await post(app, body, headers);
    expect(response.statusCode).toBe(status);
    expect(decodeStatus(response.rawPayload).message).toMatch(message);
  });

  it('answers 400 with a google.rpc.Status and its BadRequest field violation for a truncated protobuf body', async () => {
    const { app, published } = await harness();
    const body = protobufBody(recordSpans({}, [{ attributes: CHAT }]));
    const response = await post(app, body.subarray(0, body.length - 3), PROTOBUF);
    expect(response.statusCode).toBe(400);
    const status = decodeStatus(response.rawPayload);
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/^the body is not a valid protobuf ExportTraceServiceRequest at resourceSpans\[0\]: embedded message of \d+ bytes runs past the end/);
    expect(status.violations).toEqual([{ field: 'resourceSpans[0]', description: expect.stringMatching(/runs past the end/) }]);
    expect(published).toEqual([]);
  });

  it('answers 400 in JSON for an undecodable JSON body, every field at fault listed', async () => {
    const { app } = await harness();
    const response = await post(app, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'xyz', kind: 'SPAN_KIND_CLIENT' }] }] }] }), JSON_TYPE);
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.json()).toEqual({
      code: 3,
      message: 'the body is not a valid OTLP/JSON ExportTraceServiceRequest at resourceSpans[0].scopeSpans[0].spans[0].traceId: must be 32 hex digits',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [
            { field: 'resourceSpans[0].scopeSpans[0].spans[0].traceId', description: 'must be 32 hex digits' },
            { field: 'resourceSpans[0].scopeSpans[0].spans[0].kind', description: 'must be an integer enum value (OTLP/JSON does not allow enum names)' },
          ],
        },
      ],
    });
  });

  it('answers 415 for other content types', async () => {
    const { app } = await harness();
    const response = await post(app, 'hello', { 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 3, message: 'send Content-Type: application/x-protobuf or application/json' });
  });

  it('needs a token with the ingest role, answered as a Status in the request\'s encoding', async () => {
    const { app } = await harness();
    const body = protobufBody(recordSpans({}, [{ attributes: CHAT }]));
    const missing = await app.inject({ method: 'POST', url: '/v1/traces', headers: PROTOBUF, payload: body });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="spendline"');
    expect(decodeStatus(missing.rawPayload).code).toBe(16);
    const reader = await post(app, body, { ...PROTOBUF, authorization: `Bearer ${READER}` });
    expect(reader.statusCode).toBe(403);
    expect(decodeStatus(reader.rawPayload).code).toBe(7);
  });

  it('answers 503 with Retry-After when Kafka does not acknowledge, counting nothing as accepted', async () => {
    const { app, metrics } = await harness(async () => {
      throw new KafkaUnavailableError(new Error('no leader'));
    });
    const response = await post(app, protobufBody(recordSpans({}, [{ attributes: CHAT }])), PROTOBUF);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(decodeStatus(response.rawPayload)).toMatchObject({ code: 14, message: expect.stringContaining('resend the same batch') });
    expect(await spanCount(metrics, 'accepted')).toBe(0);
  });

  it('answers only after Kafka acknowledged, publishing in batches of the configured size', async () => {
    const order: string[] = [];
    const { app, published } = await harness(async (events) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      order.push(`acknowledged ${events.length}`);
    }, 2);
    const spans = recordSpans({}, Array.from({ length: 5 }, () => ({ attributes: CHAT })));
    const response = await post(app, protobufBody(spans), PROTOBUF);
    order.push(`answered ${response.statusCode}`);
    expect(order).toEqual(['acknowledged 2', 'acknowledged 2', 'acknowledged 1', 'answered 200']);
    expect(published.flat()).toHaveLength(5);
  });

  it('answers an empty request with success, publishing nothing', async () => {
    const { app, published } = await harness();
    const response = await post(app, Buffer.alloc(0), PROTOBUF);
    expect(response.statusCode).toBe(200);
    expect(published).toEqual([]);
  });

  it('is described in the OpenAPI document, with its role', async () => {
    const { app } = await harness();
    const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{ paths: Record<string, Record<string, { 'x-spendline-role'?: string; requestBody?: unknown }>>; 'x-undocumented-routes'?: string[] }>();
    expect(document.paths['/v1/traces']?.['post']?.['x-spendline-role']).toBe('ingest');
    expect(document['x-undocumented-routes']).toBeUndefined();
    // The body's shape, with no reference the document cannot resolve.
    const body = JSON.stringify(document.paths['/v1/traces']?.['post']?.requestBody);
    expect(body).toContain('resourceSpans');
    expect(body).not.toContain('$ref');
  });
});
