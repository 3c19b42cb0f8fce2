import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import type { GatewaySettings } from '../../../services/gateway/gateway-config.ts';
import { registerProxyRoutes, type GatewayCaller } from '../../../services/gateway/proxy-routes.ts';
import { KeyRateLimiter } from '../../../services/gateway/key-rate-limiter.ts';
import type { BudgetStatus } from '../../../services/alerts/budget-alert-publisher.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { PricingSource } from '../../../services/pricing/pricing-source.ts';

/**
 * The gateway against a local stand-in for the providers (the far side of the
 * network call): each route non-streaming and streaming, bodies and streams
 * passed through byte for byte, one usage event per call with the usage the
 * provider reported, and the failure paths — upstream errors, timeouts, a
 * caller hanging up mid-stream, a missing key, attribution the policy needs.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');
const KEY = 'slk_test0000000_secret';
const caller = (keyId: string, owner: GatewayCaller['owner'], limits: Partial<GatewayCaller> = {}): GatewayCaller => ({ keyId, owner, allowedModels: [], requestsPerMinute: 0, tokensPerMinute: 0, ...limits });
const CALLERS: Record<string, GatewayCaller> = {
  [KEY]: caller('key-1', { team: 'search', environment: 'prod' }),
  slk_limited: caller('key-2', { team: 'search', environment: 'prod' }, { requestsPerMinute: 2 }),
  slk_onlymini: caller('key-3', { team: 'search', environment: 'prod' }, { allowedModels: ['gpt-4o-mini'] }),
  slk_billing: caller('key-4', { team: 'billing', environment: 'prod' }),
};
const status = (budget_id: string, scope: Record<string, string[]>, decision: BudgetStatus['decision'], downgrade_model: string | null = null): BudgetStatus => ({
  budget_id,
  scope,
  state: decision === 'allow' ? 'ok' : 'breached',
  decision,
  downgrade_model,
  period: '2026-11',
  amount: '100',
  spent: '104.5',
  used: '1.045',
  evaluated_at: 0,
});
const BUDGETS: BudgetStatus[] = [status('billing-monthly', { team: ['billing'] }, 'block'), status('summaries', { feature: ['summarize'] }, 'downgrade', 'gpt-4o-mini'), status('search-ok', { team: ['search'] }, 'allow')];
let upstream: Server;
/** An upstream that drops each kept-alive connection when a second call arrives on it, unanswered: the race of an idle timeout. */
let resetting: Server;
const resettingConnections = { opened: 0, dropped: 0 };
let gateway: FastifyInstance;
let base: string;
const events: UsageEventRecord[] = [];
const seen: { path: string; headers: IncomingHttpHeaders; rawHeaders: string[]; body: Record<string, unknown>; text: string }[] = [];
/** Sends the next chunk of a lockstep-model stream. */
const lockstep: { next: (() => void) | null } = { next: null };

const CHAT_USAGE = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 12 } };
const chatBody = (model: string) => JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: `${model}-2026-01-01`, choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: CHAT_USAGE });
const sse = (events: readonly unknown[], named = false) =>
  events.map((event) => `${named ? `event: ${(event as { type: string }).type}\n` : ''}data: ${typeof event === 'string' ? event : JSON.stringify(event)}\n\n`);

function streamFor(path: string, body: Record<string, unknown>): string[] {
  const model = String(body['model']);
  if (path === '/v1/chat/completions') {
    const include = (body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
    return sse([
      { id: 'c', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: 'he' } }] },
      { id: 'c', object: 'chat.completion.chunk', model, choices: [{ index: 0, delta: { content: 'llo' }, finish_reason: 'stop' }] },
      ...(include ? [{ id: 'c', object: 'chat.completion.chunk', model, choices: [], usage: CHAT_USAGE }] : []),
      '[DONE]',
    ]);
  }
  if (path === '/v1/responses') {
    return sse(
      [
        { type: 'response.created', response: { model, status: 'in_progress' } },
        { type: 'response.output_text.delta', delta: 'hi' },
        { type: 'response.completed', response: { model, status: 'completed', usage: { input_tokens: 80, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 5 } } } },
      ],
      true,
    );
  }
  return sse(
    [
      { type: 'message_start', message: { model, usage: { input_tokens: 50, cache_read_input_tokens: 200, cache_creation_input_tokens: 0, output_tokens: 1 } } },
      { type: 'content_block_delta', delta: { type: 'text_delta', text: 'hi' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 42 } },
      { type: 'message_stop' },
    ],
    true,
  );
}

beforeAll(async () => {
  upstream = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      const path = request.url ?? '';
      seen.push({ path, headers: request.headers, rawHeaders: request.rawHeaders, body, text });
      const model = String(body['model']);
      if (model === 'busy-model') return void response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' }).end('{"error":{"message":"rate limited","type":"rate_limit_error"}}');
      if (model === 'slow-model') return void setTimeout(() => response.writeHead(200).end('{}'), 2_000);
      if (body['stream'] === true) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunks = streamFor(path.replace(/\?.*/, ''), body);
        if (model === 'burst-model') {
          // The whole stream at once: it reaches the gateway in one read.
          for (const chunk of chunks) response.write(chunk);
          return void response.end();
        }
        if (model === 'lockstep-model') {
          // One chunk at a time: the next only once the caller has received this one (see lockstep below).
          let at = 0;
          const next = () => (at < chunks.length ? (response.write(chunks[at++]!), (lockstep.next = next)) : response.end());
          return void next();
        }
        if (model === 'endless-model') {
          // The start of a long answer, then nothing for a while: the caller gives up first.
          response.write(chunks[0]!);
          return;
        }
        let at = 0;
        const next = () => (at < chunks.length ? (response.write(chunks[at++]!), setTimeout(next, 5)) : response.end());
        return void next();
      }
      if (path.startsWith('/v1/embeddings')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [], model, usage: { prompt_tokens: 64, total_tokens: 64 } }));
      if (path.startsWith('/v1/responses')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'resp_1', model, usage: { input_tokens: 80, input_tokens_details: { cached_tokens: 0 }, output_tokens: 20 } }));
      if (path.startsWith('/v1/messages')) return void response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'msg_1', model, usage: { input_tokens: 50, cache_read_input_tokens: 200, cache_creation_input_tokens: 10, output_tokens: 42 } }));
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'up-1' }).end(chatBody(model));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamBase = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const served = new WeakMap<object, number>();
  resetting = createServer((request, response) => {
    const calls = (served.get(request.socket) ?? 0) + 1;
    served.set(request.socket, calls);
    if (calls > 1) {
      resettingConnections.dropped += 1;
      return void request.socket.destroy();
    }
    request.resume().on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end(chatBody('resetting-model')));
  });
  resetting.on('connection', () => (resettingConnections.opened += 1));
  await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
  const settings: GatewaySettings = {
    gatewayId: 'gw-test',
    modelRules: [{ team: ['search'], environment: ['prod'], deny_models: ['o1*'] }],
    upstreams: [
      { name: 'mock-basic', api: 'openai', provider: 'openai', base_url: upstreamBase.replace('http://', 'http://proxy-user:p%40ss@'), models: ['basic-*'], timeout_ms: 500, credential: null },
      { name: 'mock-resetting', api: 'openai', provider: 'openai', base_url: `http://127.0.0.1:${(resetting.address() as AddressInfo).port}/v1`, models: ['resetting-*'], timeout_ms: 500, credential: null },
      { name: 'mock-openai', api: 'openai', provider: 'openai', base_url: upstreamBase, models: ['*'], timeout_ms: 500, credential: 'upstream-openai-secret' },
      { name: 'mock-anthropic', api: 'anthropic', provider: 'anthropic', base_url: upstreamBase, models: ['claude-*'], timeout_ms: 500, credential: 'upstream-anthropic-secret' },
    ],
  };
  const policyFile = join(mkdtempSync(join(tmpdir(), 'spendline-gateway-')), 'policy.json');
  writeFileSync(policyFile, JSON.stringify({ version: 't1', requirements: [{ id: 'feature-needed', when: { team: 'search' }, dimensions: ['team', 'feature'], on_missing: 'reject' }] }));
  gateway = buildHttpServer({ log, metrics: new Metrics({ processMetrics: false }), tokens: new BearerTokens({ adminToken: null, readerTokens: [], scopedReaderTokens: [], ingestTokens: [] }), readiness: [], bodyLimit: 1024 * 1024 });
  registerProxyRoutes(gateway, {
    settings,
    authenticate: (token) => CALLERS[token] ?? null,
    budgets: () => BUDGETS,
    limiter: new KeyRateLimiter(),
    policy: new PolicySource(policyFile, log),
    pricing: new PricingSource({ catalogFile: null, contractsFile: null }, log),
    emit: (event) => void events.push(event),
    log,
  });
  base = await gateway.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await new Promise<void>((resolve) => resetting.close(() => resolve()));
});

beforeEach(() => {
  events.length = 0;
  seen.length = 0;
});

const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-spendline-feature': 'chat', 'x-spendline-tags': 'release=2026.11, experiment=b', 'x-spendline-agent-run': 'run-9' };
const post = (path: string, body: unknown, extra: Record<string, string> = {}) => fetch(`${base}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
const oneEvent = async () => {
  for (let i = 0; i < 50 && events.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(events).toHaveLength(1);
  return events[0]!;
};

describe('gateway proxy, non-streaming', () => {
  it("sends the caller's own headers up as they came (case, repeats), with the upstream's host and credential instead of the caller's, and none of Spendline's", async () => {
    const upstreamHost = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: ['Authorization', `Bearer ${KEY}`, 'Content-Type', 'application/json', 'X-Spendline-Feature', 'chat', 'X-Trace', 'a', 'X-Trace', 'b', 'Accept-Encoding', 'gzip', 'Host', 'gateway.example', 'OpenAI-Organization', 'org-1', 'User-Agent', 'sdk/1', 'content-type', 'text/plain', 'User-Agent', 'other/2'],
      }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }));
    });
    expect(status).toBe(200);
    const raw = seen.at(-1)!.rawHeaders;
    const pairs = Array.from({ length: raw.length / 2 }, (_, i): [string, string] => [raw[2 * i]!, raw[2 * i + 1]!]);
    const named = (name: string) => pairs.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
    expect(pairs.filter(([key]) => key === 'X-Trace')).toEqual([['X-Trace', 'a'], ['X-Trace', 'b']]);
    expect(pairs).toContainEqual(['OpenAI-Organization', 'org-1']);
    expect(named('host')).toEqual([upstreamHost]);
    expect(named('authorization')).toEqual(['Bearer upstream-openai-secret']);
    expect(named('accept-encoding')).toEqual(['identity']);
    expect(named('content-length')).toHaveLength(1);
    // Of the headers Node keeps only the first of, only the first goes up: the upstream reads what the gateway read.
    expect(named('content-type')).toEqual(['application/json']);
    expect(named('user-agent')).toEqual(['sdk/1']);
    expect(pairs.filter(([key]) => key.toLowerCase().startsWith('x-spendline-'))).toEqual([]);
    await oneEvent();
  });

  it("sends Basic authorization from the user and password of an upstream's base URL", async () => {
    const response = await post('/v1/chat/completions', { model: 'basic-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(200);
    expect(seen.at(-1)!.headers['authorization']).toBe(`Basic ${Buffer.from('proxy-user:p@ss').toString('base64')}`);
    await oneEvent();
  });

  it('forwards a chat completion with the upstream credential, returns its answer untouched, and records its usage', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('up-1');
    expect(await response.text()).toBe(chatBody('gpt-4o-mini'));
    expect(seen[0]!.headers['authorization']).toBe('Bearer upstream-openai-secret');
    expect(Object.keys(seen[0]!.headers).filter((name) => name.startsWith('x-spendline-'))).toEqual([]);
    expect(seen[0]!.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const event = await oneEvent();
    expect(event).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini-2026-01-01',
      api_flavor: 'chat',
      operation: 'chat',
      input_tokens: 120,
      cache_read_tokens: 100,
      output_tokens: 30,
      reasoning_tokens: 12,
      status: 'ok',
      error_code: null,
      team: 'search',
      environment: 'prod',
      feature: 'chat',
      agent_run_id: 'run-9',
      api_key_id: 'key-1',
      gateway_id: 'gw-test',
      tags: { release: '2026.11', experiment: 'b' },
      ttft_ms: null,
    });
    expect(JSON.parse(event.provider_usage!)).toEqual(CHAT_USAGE);
    expect(event.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('reads the usage of responses, embeddings and Anthropic messages', async () => {
    await post('/v1/responses', { model: 'gpt-4.1', input: 'hi' });
    expect(await oneEvent()).toMatchObject({ api_flavor: 'responses', input_tokens: 80, output_tokens: 20 });
    events.length = 0;
    await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'hi' });
    expect(await oneEvent()).toMatchObject({ api_flavor: 'embeddings', operation: 'embedding', input_tokens: 64, output_tokens: 0 });
    events.length = 0;
    const response = await post('/v1/messages', { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] }, { authorization: '', 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
    expect(response.status).toBe(200);
    expect(seen.at(-1)!.headers).toMatchObject({ 'x-api-key': 'upstream-anthropic-secret', 'anthropic-version': '2023-06-01' });
    expect(await oneEvent()).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', input_tokens: 260, cache_read_tokens: 200, cache_write_tokens: 10, output_tokens: 42 });
  });
});

describe('gateway proxy, streaming', () => {
  it('relays a chat stream chunk by chunk, asking the upstream for usage the caller did not ask for', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [] });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(seen[0]!.body['stream_options']).toEqual({ include_usage: true });
    expect(text).toBe(streamFor('/v1/chat/completions', seen[0]!.body).join(''));
    const event = await oneEvent();
    expect(event).toMatchObject({ input_tokens: 120, output_tokens: 30, cache_read_tokens: 100, status: 'ok' });
    expect(event.ttft_ms).not.toBeNull();
  });

  it('passes each chunk on as it arrives, before the upstream has sent the next', async () => {
    const received = await new Promise<string[]>((resolve, reject) => {
      const parts: string[] = [];
      const request = httpRequest(`${base}/v1/chat/completions`, { method: 'POST', headers }, (response) => {
        response.on('data', (part: Buffer) => {
          parts.push(part.toString());
          const next = lockstep.next;
          lockstep.next = null;
          next?.();
        });
        response.on('end', () => resolve(parts));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ model: 'lockstep-model', stream: true, messages: [] }));
      setTimeout(() => reject(new Error('a chunk was held back')), 2_000);
    });
    expect(received.join('')).toBe(streamFor('/v1/chat/completions', seen[0]!.body).join(''));
    expect(received.length).toBeGreaterThanOrEqual(streamFor('/v1/chat/completions', seen[0]!.body).length);
    expect(await oneEvent()).toMatchObject({ model: 'lockstep-model', input_tokens: 120, status: 'ok' });
  });

  it('relays a stream that arrives in one piece as it came, and reads its usage', async () => {
    const response = await post('/v1/chat/completions', { model: 'burst-model', stream: true, messages: [] });
    expect(await response.text()).toBe(streamFor('/v1/chat/completions', seen[0]!.body).join(''));
    expect(await oneEvent()).toMatchObject({ model: 'burst-model', input_tokens: 120, output_tokens: 30, status: 'ok' });
  });

  it('asks for usage without rewriting the rest of the body', async () => {
    const text = '{ "model": "gpt-4o-mini", "stream": true, "temperature": 1.0, "seed": 12345678901234567890, "messages": [] }';
    const response = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: text });
    await response.text();
    expect(seen[0]!.text).toBe(`{"stream_options":{"include_usage":true}, ${text.slice(2)}`);
  });

  it('leaves the request untouched when the caller asked for usage itself', async () => {
    const body = { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [] };
    await (await post('/v1/chat/completions', body)).text();
    expect(seen[0]!.body).toEqual(body);
  });

  it('reads usage from responses and Anthropic message streams', async () => {
    await (await post('/v1/responses', { model: 'gpt-4.1', stream: true, input: 'hi' })).text();
    expect(await oneEvent()).toMatchObject({ input_tokens: 80, output_tokens: 20, reasoning_tokens: 5 });
    events.length = 0;
    const text = await (await post('/v1/messages', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, messages: [] })).text();
    expect(text).toContain('event: message_delta');
    expect(await oneEvent()).toMatchObject({ model: 'claude-sonnet-4-5', input_tokens: 250, cache_read_tokens: 200, output_tokens: 42 });
  });

  it('records what was delivered when the caller hangs up mid-stream', async () => {
    await new Promise<void>((resolve, reject) => {
      const request = httpRequest(`${base}/v1/messages`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${KEY}` } }, (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', () => {});
      request.end(JSON.stringify({ model: 'claude-endless-model', stream: true, messages: [] }));
      setTimeout(() => reject(new Error('no first chunk')), 2_000);
    });
    // The model name routes to the Anthropic upstream; the stand-in treats names with "endless" as never finishing.
    const event = await oneEvent();
    expect(event).toMatchObject({ status: 'error', error_code: 'client_disconnected', input_tokens: 250, cache_read_tokens: 200, output_tokens: 1 });
  });
});

describe('gateway proxy, failures', () => {
  it('returns an upstream error as the upstream sent it, and records it', async () => {
    const response = await post('/v1/chat/completions', { model: 'busy-model', messages: [] });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({ error: { message: 'rate limited', type: 'rate_limit_error' } });
    expect(await oneEvent()).toMatchObject({ status: 'error', error_code: 'http_429', input_tokens: 0 });
  });

  it('sends a call again on a new connection when the upstream had closed the kept-alive one it went out on', async () => {
    for (let call = 1; call <= 3; call += 1) {
      const response = await post('/v1/chat/completions', { model: 'resetting-model', messages: [] });
      expect(response.status, `call ${call}`).toBe(200);
      expect(await response.text()).toBe(chatBody('resetting-model'));
    }
    // Calls 2 and 3 each found the previous connection in the pool, lost it unanswered, and went out on a new one.
    expect(resettingConnections).toEqual({ opened: 3, dropped: 2 });
  });

  it('answers 504 when the upstream does not answer in time, and records it', async () => {
    const response = await post('/v1/chat/completions', { model: 'slow-model', messages: [] });
    expect(response.status).toBe(504);
    expect(((await response.json()) as any).error.type).toBe('upstream_timeout');
    expect(await oneEvent()).toMatchObject({ status: 'error', error_code: 'upstream_timeout' });
  });

  it('refuses a call without a valid gateway key, without calling the upstream or recording usage', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, { authorization: 'Bearer slk_nope' });
    expect(response.status).toBe(401);
    expect(((await response.json()) as any).error.type).toBe('invalid_api_key');
    expect(seen).toHaveLength(0);
    expect(events).toHaveLength(0);
  });

  it('refuses a call the attribution policy rejects, naming the header to send', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, { 'x-spendline-feature': '' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as any;
    expect(body.error).toMatchObject({ param: 'x-spendline-feature' });
    expect(body.error.message).toContain('x-spendline-feature');
    expect(seen).toHaveLength(0);
  });

  it('names the field of a body it cannot route', async () => {
    expect(((await (await post("/v1/chat/completions", { messages: [] })).json()) as any).error).toMatchObject({ param: 'model' });
    const unknown = await post('/v1/messages', { model: 'gpt-4o', messages: [] });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.message).toContain('no upstream of this gateway serves anthropic model gpt-4o');
    const bad = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers, body: '{"model":' });
    expect(bad.status).toBe(400);
  });

  it('rejects malformed attribution headers by name', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, { 'x-spendline-tags': '1bad=key' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.param).toBe('x-spendline-tags');
  });
});

describe('gateway proxy, policy', () => {
  it('refuses a model a rule denies for the team and environment, and one the key may not use', async () => {
    const denied = await post('/v1/chat/completions', { model: 'o1-preview', messages: [] });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).error).toMatchObject({ type: 'model_not_allowed', param: 'model', message: 'model o1-preview is denied for team search in environment prod (policy rule 1)' });
    const keyLimited = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }, { authorization: 'Bearer slk_onlymini' });
    expect(keyLimited.status).toBe(403);
    expect(((await keyLimited.json()) as any).error.message).toContain('not among the models this gateway key may use (gpt-4o-mini)');
    expect(seen).toHaveLength(0);
    expect((await post('/v1/chat/completions', { model: 'gpt-4o-mini', messages: [] }, { authorization: 'Bearer slk_onlymini' })).status).toBe(200);
  });

  it('blocks a call a spent budget covers, saying which budget', async () => {
    const blocked = await post('/v1/chat/completions', { model: 'gpt-4o', messages: [] }, { authorization: 'Bearer slk_billing' });
    expect(blocked.status).toBe(429);
    expect(((await blocked.json()) as any).error).toMatchObject({ type: 'budget_exceeded', message: expect.stringContaining('budget billing-monthly is spent for 2026-11: 104.5 of 100 USD') });
    expect(seen).toHaveLength(0);
    expect(events).toHaveLength(0);
  });

  it('downgrades a call a budget covers to its cheaper model, recording the model asked for', async () => {
    const response = await post('/v1/chat/completions', { model: 'gpt-4o', temperature: 0.2, messages: [] }, { 'x-spendline-feature': 'summarize' });
    expect(response.status).toBe(200);
    expect(seen[0]!.body).toEqual({ model: 'gpt-4o-mini', temperature: 0.2, messages: [] });
    expect(await oneEvent()).toMatchObject({ model: 'gpt-4o-mini-2026-01-01', feature: 'summarize', tags: { release: '2026.11', experiment: 'b', 'spendline.requested_model': 'gpt-4o' } });
  });

  it('limits a key to its requests per minute, saying when to retry', async () => {
    const limited = { authorization: 'Bearer slk_limited' };
    expect((await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'a' }, limited)).status).toBe(200);
    expect((await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'b' }, limited)).status).toBe(200);
    const third = await post('/v1/embeddings', { model: 'text-embedding-3-small', input: 'c' }, limited);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await third.json()) as any).error).toMatchObject({ type: 'rate_limit_exceeded', message: 'gateway key key-2 is limited to 2 requests per minute' });
  });
});
