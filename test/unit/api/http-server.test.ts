import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { HttpError } from '../../../services/api/http-errors.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';

/** The HTTP shell every service shares: roles, error bodies, health and metrics. */

const TOKENS = { admin: 'admin-token-0123456789', reader: 'reader-token-0123456789', ingest: 'ingest-token-0123456789' };
let ready = true;
const app = buildHttpServer({
  log: createLogger('silent'),
  metrics: new Metrics({ processMetrics: false }),
  tokens: new BearerTokens({ adminToken: TOKENS.admin, readerTokens: [TOKENS.reader], ingestTokens: [TOKENS.ingest] }),
  readiness: [{ name: 'thing', check: () => ready }],
  bodyLimit: 64,
});

beforeAll(async () => {
  app.post('/echo', { config: { role: 'ingest' } }, async (request) => ({ got: request.body }));
  app.get('/read', { config: { role: 'reader' } }, async () => ({ ok: true }));
  app.get('/boom', async () => {
    throw new Error('database password is hunter2');
  });
  app.get('/teapot', async () => {
    throw new HttpError(418, 'teapot', 'short and stout', { issues: [{ path: 'spout', message: 'missing' }] });
  });
  await app.ready();
});

afterAll(() => app.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('http server', () => {
  it.each([
    ['no header', {}, 401, 'unauthorized'],
    ['not a bearer header', { authorization: 'Basic abc' }, 401, 'unauthorized'],
    ['unknown token', auth('nope-nope-nope-nope'), 401, 'unauthorized'],
    ['reader token on an ingest route', auth(TOKENS.reader), 403, 'forbidden'],
  ])('refuses %s', async (_name, headers, status, code) => {
    const response = await app.inject({ method: 'POST', url: '/echo', headers, payload: [] });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code } });
    if (status === 401) expect(response.headers['www-authenticate']).toContain('Bearer');
  });

  it('lets the right role and admin through', async () => {
    expect((await app.inject({ method: 'POST', url: '/echo', headers: auth(TOKENS.ingest), payload: [1] })).json()).toEqual({ got: [1] });
    expect((await app.inject({ method: 'POST', url: '/echo', headers: auth(TOKENS.admin), payload: [2] })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/read', headers: auth(TOKENS.admin) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/read', headers: auth(TOKENS.ingest) })).statusCode).toBe(403);
  });

  it.each([
    ['malformed JSON', 'application/json', '{"a":', 400, 'invalid_json'],
    ['an empty JSON body', 'application/json', '', 400, 'invalid_json'],
    ['a body over the limit', 'application/json', JSON.stringify({ pad: 'x'.repeat(100) }), 413, 'body_too_large'],
    ['text/plain', 'text/plain', 'hello', 415, 'unsupported_media_type'],
    ['form data', 'application/x-www-form-urlencoded', 'a=1', 415, 'unsupported_media_type'],
  ])('answers %s with a JSON error', async (_name, contentType, payload, status, code) => {
    const response = await app.inject({ method: 'POST', url: '/echo', headers: { ...auth(TOKENS.ingest), 'content-type': contentType }, payload });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error: { code } });
  });

  it('hides internals of unexpected errors and keeps details of client errors', async () => {
    const boom = await app.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('hunter2');
    expect(boom.json()).toMatchObject({ error: { code: 'internal' } });
    expect((await app.inject({ method: 'GET', url: '/teapot' })).json()).toEqual({
      error: { code: 'teapot', message: 'short and stout', issues: [{ path: 'spout', message: 'missing' }] },
    });
    expect((await app.inject({ method: 'GET', url: '/nowhere?x=1' })).json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nowhere' } });
  });

  it('reports health, readiness and metrics without a token', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready', checks: { thing: true } });
    ready = false;
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toEqual({ status: 'not_ready', checks: { thing: false } });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('spendline_ingest_events_accepted_total');
  });
});
