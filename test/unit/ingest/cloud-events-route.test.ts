import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import { cloudEventEventId, CLOUDEVENTS_MEDIA_TYPES, USAGE_EVENT_TYPE } from '../../../services/ingest/cloud-events.ts';
import { registerIngestRoutes, type EventPublisher } from '../../../services/ingest/ingest-routes.ts';
import { KafkaUnavailableError } from '../../../services/ingest/usage-publisher.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';

/**
 * POST /v1/events with CloudEvents bodies, through fastify's content-type
 * parsing, the route and its answers. The publisher here records what the
 * route hands over (or fails like Kafka does); the real broker is in
 * test/integration/pipeline.test.ts.
 */

const TOKEN = 'ingest-token-0123456789';
const BODY_LIMIT = 16 * 1024;
const log = createLogger('silent');
const published: string[] = [];
let kafkaDown = false;
const publisher: EventPublisher = {
  publish: async (events) => {
    if (kafkaDown) throw new KafkaUnavailableError(new Error('no acknowledgement within 10 ms'));
    published.push(...events.map((event) => event.event_id));
  },
};
const app = buildHttpServer({
  log,
  metrics: new Metrics({ processMetrics: false }),
  tokens: new BearerTokens({ adminToken: null, readerTokens: [], ingestTokens: [TOKEN] }),
  readiness: [],
  bodyLimit: BODY_LIMIT,
});

beforeAll(async () => {
  registerIngestRoutes(app, { publisher, policy: new PolicySource(null, log), config: { maxBatchEvents: 3, maxBodyBytes: BODY_LIMIT }, metrics: new Metrics({ processMetrics: false }) });
  app.post('/other', { config: { role: 'ingest' } }, async (request) => ({ got: request.body }));
  await app.ready();
});
afterAll(() => app.close());
beforeEach(() => {
  published.length = 0;
  kafkaDown = false;
});

const recent = new Date(Date.now() - 60_000).toISOString();
const usageEvent = (id: string, data: Record<string, unknown> = {}) =>
  new CloudEvent({ type: USAGE_EVENT_TYPE, source: '/gw', id, time: recent, subject: 'acme', data: { provider: 'openai', model: 'gpt-4o-mini', input_tokens: 10, ...data } });

const post = (headers: Record<string, string>, payload: string) => app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TOKEN}`, ...headers }, payload });
const postBatch = (events: CloudEvent<unknown>[]) => post({ 'content-type': CLOUDEVENTS_MEDIA_TYPES.batch }, `[${events.map((event) => HTTP.structured(event).body).join(',')}]`);

describe('POST /v1/events with CloudEvents', () => {
  it('takes a structured event as the SDK sends it (application/cloudevents+json; charset=utf-8)', async () => {
    const message = HTTP.structured(usageEvent('s1'));
    expect(message.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    const response = await post(message.headers as Record<string, string>, message.body as string);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 1, rejected: 0, results: [{ index: 0, event_id: cloudEventEventId('/gw', 's1'), status: 'accepted' }] });
    expect(published).toEqual([cloudEventEventId('/gw', 's1')]);
  });

  it('takes binary mode as the SDK sends it', async () => {
    const message = HTTP.binary(usageEvent('b1'));
    const response = await post(message.headers as Record<string, string>, message.body as string);
    expect(response.statusCode).toBe(200);
    expect(published).toEqual([cloudEventEventId('/gw', 'b1')]);
  });

  it('answers a batch with the same statuses as the JSON form: 200, 207, 400', async () => {
    expect((await postBatch([usageEvent('a'), usageEvent('b')])).statusCode).toBe(200);
    const some = await postBatch([usageEvent('c'), usageEvent('d', { input_tokens: -1 })]);
    expect(some.statusCode).toBe(207);
    expect(some.json()).toEqual({
      accepted: 1,
      rejected: 1,
      results: [
        { index: 0, event_id: cloudEventEventId('/gw', 'c'), status: 'accepted' },
        { index: 1, event_id: cloudEventEventId('/gw', 'd'), status: 'rejected', errors: [{ path: 'data.input_tokens', message: 'must not be negative' }] },
      ],
    });
    const none = await post({ 'content-type': CLOUDEVENTS_MEDIA_TYPES.batch }, JSON.stringify([{ ...JSON.parse(HTTP.structured(usageEvent('e')).body as string), specversion: '0.3' }]));
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ error: { code: 'invalid_events' }, accepted: 0, rejected: 1, results: [{ index: 0, errors: [{ path: 'specversion', message: 'must be "1.0"' }] }] });
    expect(published).toEqual([cloudEventEventId('/gw', 'a'), cloudEventEventId('/gw', 'b'), cloudEventEventId('/gw', 'c')]);
  });

  it('answers 200 to an empty batch and publishes nothing', async () => {
    const response = await post({ 'content-type': CLOUDEVENTS_MEDIA_TYPES.batch }, '[]');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 0, rejected: 0, results: [] });
    expect(published).toEqual([]);
  });

  it('answers 503 with Retry-After and accepts nothing when Kafka does not acknowledge', async () => {
    kafkaDown = true;
    const response = await postBatch([usageEvent('k1')]);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ error: { code: 'kafka_unavailable' } });
  });

  it.each([
    ['more events than allowed', CLOUDEVENTS_MEDIA_TYPES.batch, () => `[${['1', '2', '3', '4'].map((id) => HTTP.structured(usageEvent(id)).body).join(',')}]`, 413, 'batch_too_large'],
    ['a body over the byte limit', CLOUDEVENTS_MEDIA_TYPES.structured, () => HTTP.structured(usageEvent('big', { tags: { note: 'x'.repeat(200) }, provider_usage: { pad: 'y'.repeat(BODY_LIMIT) } })).body as string, 413, 'body_too_large'],
    ['malformed JSON', CLOUDEVENTS_MEDIA_TYPES.structured, () => '{"specversion": "1.0",', 400, 'invalid_json'],
    ['an empty body', CLOUDEVENTS_MEDIA_TYPES.batch, () => '', 400, 'invalid_json'],
    ['a "__proto__" key (prototype poisoning)', CLOUDEVENTS_MEDIA_TYPES.structured, () => '{"specversion":"1.0","__proto__":{"x":1}}', 400, 'invalid_json'],
    ['a batch that is an object', CLOUDEVENTS_MEDIA_TYPES.batch, () => HTTP.structured(usageEvent('o')).body as string, 400, 'invalid_request'],
    ['a CloudEvents format Spendline does not read', 'application/cloudevents+avro', () => 'AVRO', 415, 'unsupported_media_type'],
  ])('refuses %s', async (_what, contentType, body, status, code) => {
    const response = await post({ 'content-type': contentType }, body());
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code } });
    expect(published).toEqual([]);
  });

  it('still takes the plain JSON form, and keeps the CloudEvents media types to this route', async () => {
    const plain = await post({ 'content-type': 'application/json' }, JSON.stringify([{ event_id: 'plain-1', occurred_at: recent, provider: 'openai', model: 'gpt-4o-mini' }]));
    expect(plain.statusCode).toBe(200);
    expect(published).toEqual(['plain-1']);
    const elsewhere = await app.inject({ method: 'POST', url: '/other', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': CLOUDEVENTS_MEDIA_TYPES.structured }, payload: '{}' });
    expect(elsewhere.statusCode).toBe(415);
  });

  it('describes the CloudEvents forms in the API description, which still renders', async () => {
    type Operation = { description: string; responses: Record<string, { description: string }>; requestBody: { content: Record<string, { schema: { type?: string; required?: string[] } }> } };
    const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };
    const operation = document.paths['/v1/events']!['post']!;
    // Each CloudEvents media type is listed with its own schema.
    expect(operation.requestBody.content[CLOUDEVENTS_MEDIA_TYPES.structured]!.schema.required).toEqual(expect.arrayContaining(['specversion', 'id', 'source', 'type']));
    expect(operation.requestBody.content[CLOUDEVENTS_MEDIA_TYPES.batch]!.schema.type).toBe('array');
    expect(operation.description).toContain(CLOUDEVENTS_MEDIA_TYPES.batch);
    expect(operation.description).toContain(USAGE_EVENT_TYPE);
    expect(operation.responses['415']!.description).toContain(CLOUDEVENTS_MEDIA_TYPES.structured);
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<code>POST /v1/events</code>');
  });
});
