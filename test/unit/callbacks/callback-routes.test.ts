import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import { registerCallbackRoutes } from '../../../services/callbacks/callback-routes.ts';
import type { EventPublisher } from '../../../services/ingest/ingest-routes.ts';
import { KafkaUnavailableError } from '../../../services/ingest/usage-publisher.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { callbackFixture } from '../../fixtures/callbacks/callback-fixtures.ts';

/**
 * POST /v1/callbacks/litellm and /v1/callbacks/kong through fastify: body
 * parsing (JSON, JSON Lines, hostile JSON), authorization, answers and the
 * metric. The publisher records what the route hands over or fails as Kafka
 * does; test/integration/callbacks.test.ts runs the real broker and ClickHouse.
 */

const INGEST = 'callback-ingest-token-0123456789';
const READER = 'callback-reader-token-0123456789';
const BODY_LIMIT = 256 * 1024;
const log = createLogger('silent');
const published: UsageEventRecord[] = [];
let kafkaDown = false;
const publisher: EventPublisher = {
  publish: async (events) => {
    if (kafkaDown) throw new KafkaUnavailableError(new Error('no acknowledgement within 10 ms'));
    published.push(...events);
  },
};
const metrics = new Metrics({ processMetrics: false });
const app = buildHttpServer({ log, metrics, tokens: new BearerTokens({ adminToken: null, readerTokens: [READER], ingestTokens: [INGEST] }), readiness: [], bodyLimit: BODY_LIMIT });

beforeAll(async () => {
  registerCallbackRoutes(app, { publisher, policy: new PolicySource(null, log), metrics, limits: { maxBodyBytes: BODY_LIMIT, maxItems: 20 } });
  await app.ready();
});
afterAll(() => app.close());
beforeEach(() => {
  published.length = 0;
  kafkaDown = false;
});

function post(url: string, payload: unknown, headers: Record<string, string> = {}) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json', ...headers }, payload: body });
}

async function items(adapter: string, outcome: string): Promise<number> {
  const metric = await metrics.callbackItems.get();
  return metric.values.find((value) => value.labels['adapter'] === adapter && value.labels['outcome'] === outcome)?.value ?? 0;
}

const CHAT = '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456';
const EMBEDDING = '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f@1795167180.5';

describe('POST /v1/callbacks/litellm', () => {
  it('takes one payload (log_format single) and answers 200 once the event is handed to Kafka', async () => {
    const before = await items('litellm', 'accepted');
    const response = await post('/v1/callbacks/litellm', callbackFixture('litellm-openai-chat'));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 1, rejected: 0, ignored: 0, results: [{ index: 0, event_id: CHAT, status: 'accepted' }] });
    expect(published.map((event) => [event.event_id, event.team, event.reported_cost])).toEqual([[CHAT, 'search', '0.0003249']]);
    expect(await items('litellm', 'accepted')).toBe(before + 1);
  });

  it('takes a JSON array (log_format json_array, the default)', async () => {
    const response = await post('/v1/callbacks/litellm', [callbackFixture('litellm-openai-chat'), callbackFixture('litellm-embedding')]);
    expect(response.statusCode).toBe(200);
    expect(published.map((event) => event.event_id)).toEqual([CHAT, EMBEDDING]);
  });

  it('takes JSON Lines sent as application/json (log_format ndjson), blank lines skipped', async () => {
    const body = `${JSON.stringify(callbackFixture('litellm-openai-chat'))}\n\n${JSON.stringify(callbackFixture('litellm-embedding'))}\n`;
    const response = await post('/v1/callbacks/litellm', body, { 'content-type': 'application/json; charset=utf-8' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ accepted: 2, results: [{ index: 0, event_id: CHAT }, { index: 1, event_id: EMBEDDING }] });
  });

  it('names the line of a JSON Lines body that is not JSON, and takes nothing from it', async () => {
    const body = `${JSON.stringify(callbackFixture('litellm-openai-chat'))}\n{"id": "broken",\n`;
    const response = await post('/v1/callbacks/litellm', body);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'invalid_json', message: 'line 2 of the body is not valid JSON (the body is neither one JSON value nor JSON Lines)' } });
    expect(published).toEqual([]);
  });

  it.each([
    ['a __proto__ key', '{"id": "x", "__proto__": {"team": "admins"}}'],
    ['a constructor.prototype key', '{"id": "x", "metadata": {"constructor": {"prototype": {"team": "admins"}}}}'],
    ['a __proto__ key on a JSON line', `${JSON.stringify(callbackFixture('litellm-embedding'))}\n{"__proto__": {"polluted": true}}`],
    ['truncated JSON', '{"id": "x", "startTime": 17951'],
  ])('refuses a body with %s as invalid JSON', async (_what, body) => {
    const response = await post('/v1/callbacks/litellm', body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('invalid_json');
    expect(published).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('answers 207 with per-item results when some items are refused, naming the field in the LiteLLM payload', async () => {
    const bad = callbackFixture('litellm-openai-stream');
    bad['metadata']['usage_object']['prompt_tokens'] = -5;
    const response = await post('/v1/callbacks/litellm', [callbackFixture('litellm-openai-chat'), bad]);
    expect(response.statusCode).toBe(207);
    expect(response.json()).toEqual({
      accepted: 1,
      rejected: 1,
      ignored: 0,
      results: [
        { index: 0, event_id: CHAT, status: 'accepted' },
        { index: 1, event_id: null, status: 'rejected', errors: [{ path: 'metadata.usage_object.prompt_tokens', message: 'must not be negative' }] },
      ],
    });
    expect(published.map((event) => event.event_id)).toEqual([CHAT]);
  });

  it('answers 400 invalid_events with the results when no item is valid', async () => {
    const response = await post('/v1/callbacks/litellm', [null, { id: 'x' }]);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: { code: 'invalid_events', message: 'no item in the batch is valid; see results' },
      accepted: 0,
      rejected: 2,
      ignored: 0,
      results: [
        { index: 0, event_id: null, status: 'rejected', errors: [{ path: '', message: 'is null: LiteLLM logged no standard logging payload for this call' }] },
        {
          index: 1,
          event_id: null,
          status: 'rejected',
          errors: [
            { path: 'startTime', message: 'is required' },
            { path: 'model', message: 'is required' },
          ],
        },
      ],
    });
  });

  it('answers 503 with Retry-After and accepts nothing when Kafka does not acknowledge', async () => {
    kafkaDown = true;
    const before = await items('litellm', 'unavailable');
    const response = await post('/v1/callbacks/litellm', [callbackFixture('litellm-openai-chat'), callbackFixture('litellm-embedding')]);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json().error.code).toBe('kafka_unavailable');
    expect(published).toEqual([]);
    expect(await items('litellm', 'unavailable')).toBe(before + 2);
  });

  it('sets gateway_id and a default environment from the query string, and refuses unknown or empty parameters', async () => {
    const response = await post('/v1/callbacks/litellm?gateway_id=litellm-eu&environment=prod', callbackFixture('litellm-openai-chat'));
    expect(response.statusCode).toBe(200);
    expect(published.map((event) => [event.gateway_id, event.environment])).toEqual([['litellm-eu', 'prod']]);
    const typo = await post('/v1/callbacks/litellm?enviroment=prod', callbackFixture('litellm-openai-chat'));
    expect(typo.statusCode).toBe(400);
    expect(typo.json()).toEqual({ error: { code: 'invalid_request', message: 'the query string is invalid', issues: [{ path: '', message: 'unknown field: enviroment' }] } });
    const empty = await post('/v1/callbacks/litellm?environment=', callbackFixture('litellm-openai-chat'));
    expect(empty.json().error.issues).toEqual([{ path: 'environment', message: 'must not be empty' }]);
  });

  it('answers 413 past the item limit and past the byte limit', async () => {
    const many = await post('/v1/callbacks/litellm', Array.from({ length: 21 }, () => callbackFixture('litellm-embedding')));
    expect(many.statusCode).toBe(413);
    expect(many.json()).toEqual({ error: { code: 'batch_too_large', message: 'the batch holds 21 items; at most 20 per request' } });
    const huge = await post('/v1/callbacks/litellm', [{ ...callbackFixture('litellm-embedding'), messages: 'x'.repeat(BODY_LIMIT) }]);
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('body_too_large');
  });

  it('needs an ingest token, and JSON', async () => {
    const anonymous = await app.inject({ method: 'POST', url: '/v1/callbacks/litellm', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(anonymous.statusCode).toBe(401);
    const reader = await post('/v1/callbacks/litellm', {}, { authorization: `Bearer ${READER}` });
    expect(reader.statusCode).toBe(403);
    const text = await post('/v1/callbacks/litellm', 'hello', { 'content-type': 'text/plain' });
    expect(text.statusCode).toBe(415);
  });
});

describe('POST /v1/callbacks/kong', () => {
  it('takes one log entry (queue.max_batch_size 1) and a batch (a JSON array), ignoring entries of other routes', async () => {
    const before = await items('kong', 'ignored');
    const single = await post('/v1/callbacks/kong', callbackFixture('kong-openai-chat'));
    expect(single.statusCode).toBe(200);
    const batch = await post('/v1/callbacks/kong', [callbackFixture('kong-plain-route'), callbackFixture('kong-embedding'), callbackFixture('kong-3.6-legacy')]);
    expect(batch.statusCode).toBe(200);
    expect(batch.json()).toMatchObject({
      accepted: 2,
      rejected: 0,
      ignored: 1,
      results: [
        { index: 0, event_id: null, status: 'ignored' },
        { index: 1, event_id: '5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f', status: 'accepted' },
        { index: 2, event_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', status: 'accepted' },
      ],
    });
    expect(published.map((event) => [event.event_id, event.gateway_id])).toEqual([
      ['9ec9264afbbbad5fe5c64877d92eeb04', 'kong'],
      ['5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f', 'kong'],
      ['a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', 'kong'],
    ]);
    expect(await items('kong', 'ignored')).toBe(before + 1);
  });

  it('answers 200 when every entry is ignored (Kong would otherwise send the batch again for nothing)', async () => {
    const response = await post('/v1/callbacks/kong', [callbackFixture('kong-plain-route')]);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ accepted: 0, rejected: 0, ignored: 1 });
  });
});

describe('the callback routes in the API description', () => {
  it('documents both routes with their query parameters and role', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, { post?: { parameters: { name: string }[]; 'x-spendline-role'?: string } }> };
    for (const path of ['/v1/callbacks/litellm', '/v1/callbacks/kong']) {
      const operation = document.paths[path]?.post;
      expect(operation?.['x-spendline-role']).toBe('ingest');
      expect(operation?.parameters.map((parameter) => parameter.name)).toEqual(['gateway_id', 'environment']);
    }
  });
});
