import { randomUUID } from 'node:crypto';
import { request as httpRequest, Agent as HttpAgent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { urlToHttpOptions } from 'node:url';
import { usageEventWithDefaults, type UsageEventRecord } from '@spendline/emitter/usage-event';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { attributeEvent } from '../attribution/attribute-event.ts';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { Logger } from '../logging/logger.ts';
import type { PricingSource } from '../pricing/pricing-source.ts';
import { extractUsage } from '../pricing/usage-extractors.ts';
import { attributionFromHeaders, GATEWAY_HEADER_PREFIX, headerFor, type GatewayOwner } from './edge-attribution.ts';
import { upstreamFor, type GatewaySettings, type Upstream } from './gateway-config.ts';
import { StreamUsage, type StreamKind } from './stream-usage.ts';
import type { BudgetStatus } from '../alerts/budget-alert-publisher.ts';
import { budgetAction, modelVerdict } from './call-policy.ts';
import { KeyRateLimiter } from './key-rate-limiter.ts';

/**
 * The thin gateway: OpenAI- and Anthropic-compatible routes forwarded to the
 * upstreams of the gateway file. The request body goes up as it came (except
 * that a streamed chat completion asks for its usage when the caller did
 * not); the answer comes back as the upstream sent it — status, headers,
 * errors — chunk by chunk as it arrives, never buffered. Usage is read from a
 * copy on the side (the JSON body, or the event stream), and one usage event
 * per call is handed to the emitter after the response ended, so it never
 * delays the caller.
 */

interface ProxyRoute {
  readonly path: string;
  readonly api: Upstream['api'];
  /** How usage arrives when the call streams; null: it never streams. */
  readonly stream: StreamKind | null;
  readonly operation: UsageEventRecord['operation'];
  /** The catalog extractor that reads its usage. */
  readonly flavor: string;
}

export const PROXY_ROUTES: readonly ProxyRoute[] = [
  { path: '/v1/chat/completions', api: 'openai', stream: 'chat', operation: 'chat', flavor: 'chat' },
  { path: '/v1/responses', api: 'openai', stream: 'responses', operation: 'chat', flavor: 'responses' },
  { path: '/v1/embeddings', api: 'openai', stream: null, operation: 'embedding', flavor: 'embeddings' },
  { path: '/v1/messages', api: 'anthropic', stream: 'messages', operation: 'chat', flavor: 'default' },
];

/** Who is calling: the gateway key's id, the owner it maps to, and its limits. */
export interface GatewayCaller {
  readonly keyId: string;
  readonly owner: GatewayOwner;
  /** Models the key may use (empty: any). */
  readonly allowedModels: readonly string[];
  /** 0: unlimited. */
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
}

/** The tag recording the model a call asked for when a budget had it served by another. */
export const REQUESTED_MODEL_TAG = 'spendline.requested_model';

export interface ProxyDeps {
  readonly settings: GatewaySettings;
  /** Resolves a gateway key (from `authorization: Bearer` or `x-api-key`) to its caller; null when unknown or revoked. */
  readonly authenticate: (token: string) => Promise<GatewayCaller | null> | GatewayCaller | null;
  readonly policy: PolicySource;
  readonly pricing: PricingSource;
  /** Takes the usage event of each call; must not block (the emitter buffers and sends in the background). */
  readonly emit: (event: UsageEventRecord) => void;
  /** Budget statuses in force (the budget.status.v1 feed); absent: budgets are not enforced here. */
  readonly budgets?: () => Iterable<BudgetStatus>;
  readonly limiter?: KeyRateLimiter;
  readonly log: Logger;
  /** Largest request body forwarded. */
  readonly bodyLimit?: number;
}

/** Headers that belong to one hop, or carry credentials and attribution that stay here. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'authorization', 'x-api-key', 'api-key', 'accept-encoding']);
/** Request headers Node keeps only the first of (the rest it drops), each with its bit for a per-call mask. */
const SINGLE_HEADERS = new Map(
  ['content-type', 'user-agent', 'referer', 'from', 'if-modified-since', 'if-unmodified-since', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires', 'location'].map((name, bit) => [name, 1 << bit]),
);
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-authenticate', 'trailer', 'upgrade']);

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 512 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 512 });
/** Times a call is sent again after its pooled connection turned out closed (see closedWhileIdle): more than one pooled connection can have gone at once. */
const IDLE_CLOSE_RETRIES = 3;

export function registerProxyRoutes(app: FastifyInstance, deps: ProxyDeps): void {
  void app.register(async (scope) => {
    // The body is forwarded as bytes: parsed here only to read the model and the stream flag.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: deps.bodyLimit ?? 64 * 1024 * 1024 }, (_request, body, done) => done(null, body));
    for (const route of PROXY_ROUTES) scope.post(route.path, (request, reply) => proxy(route, request, reply, deps));
  });
}

/** An error as OpenAI and Anthropic SDKs read it. */
function failure(reply: FastifyReply, status: number, type: string, message: string, param: string | null = null) {
  return reply.status(status).send({ type: 'error', error: { message, type, param, code: type } });
}

async function proxy(route: ProxyRoute, request: FastifyRequest, reply: FastifyReply, deps: ProxyDeps): Promise<unknown> {
  const started = Date.now();
  const token = bearer(request.headers);
  const caller = token ? await deps.authenticate(token) : null;
  if (!caller) return failure(reply, 401, 'invalid_api_key', 'a valid Spendline gateway key is required (authorization: Bearer slk_… or x-api-key: slk_…)');

  const raw = request.body;
  if (!Buffer.isBuffer(raw)) return failure(reply, 415, 'invalid_request_error', 'the body must be JSON (content-type: application/json)');
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    return failure(reply, 400, 'invalid_request_error', 'the body must be a JSON object');
  }
  const model = body['model'];
  if (typeof model !== 'string' || model.trim() === '') return failure(reply, 400, 'invalid_request_error', 'model is required: the model to call, as a string', 'model');

  const attribution = attributionFromHeaders(request.headers, caller.owner);
  if (!attribution.ok) return failure(reply, 400, 'invalid_request_error', attribution.message, attribution.header);
  const draft = eventDraft(route, model, caller, attribution.fields, deps.settings.gatewayId, started);
  const checked = attributeEvent(deps.policy.current(started), draft);
  if (checked.rejection) {
    const missing = checked.rejection.map((issue) => headerFor(issue.path));
    return failure(reply, 400, 'invalid_request_error', `attribution required by policy is missing: send ${missing.join(', ')} (or use a key that carries it)`, missing[0] ?? null);
  }
  // Rules and budgets see the owner as the policy resolves it (aliases, key mappings, defaults).
  const owner = checked.event;
  const allowed = (candidate: string) => modelVerdict(deps.settings.modelRules, { team: owner.team, environment: owner.environment, model: candidate, keyModels: caller.allowedModels });
  const verdict = allowed(model);
  if (!verdict.ok) return failure(reply, 403, 'model_not_allowed', verdict.message, 'model');
  let served = model;
  const budget = budgetAction(deps.budgets?.() ?? [], owner);
  if (budget.action === 'block') {
    const { status } = budget;
    return failure(reply, 429, 'budget_exceeded', `budget ${status.budget_id} is spent for ${status.period}: ${status.spent} of ${status.amount} USD; calls it covers are blocked until the period ends or the budget is raised`);
  }
  if (budget.action === 'downgrade') {
    const downgraded = allowed(budget.model);
    if (!downgraded.ok) return failure(reply, 403, 'model_not_allowed', `budget ${budget.status.budget_id} downgrades ${model} to ${budget.model}, but ${downgraded.message}`, 'model');
    served = budget.model;
    draft.model = served;
    draft.tags = { ...draft.tags, [REQUESTED_MODEL_TAG]: model };
  }
  const admission = deps.limiter?.admit(caller.keyId, caller, started) ?? { ok: true as const };
  if (!admission.ok) {
    void reply.header('retry-after', String(admission.retryAfterSeconds));
    return failure(reply, 429, 'rate_limit_exceeded', admission.message);
  }
  const upstream = upstreamFor(deps.settings, route.api, served);
  if (!upstream) return failure(reply, 404, 'model_not_found', `no upstream of this gateway serves ${route.api} model ${served}`, 'model');
  draft.provider = upstream.provider;

  // A streamed chat completion reports usage only when asked: ask for it. A downgraded call asks for the model it is served.
  const streaming = route.stream !== null && body['stream'] === true;
  let payload = raw;
  const options = (typeof body['stream_options'] === 'object' && body['stream_options'] !== null ? body['stream_options'] : {}) as Record<string, unknown>;
  const askUsage = streaming && route.stream === 'chat' && options['include_usage'] !== true;
  if (askUsage && served === model && !Object.hasOwn(body, 'stream_options')) payload = withUsageAsked(raw);
  else if (askUsage || served !== model) payload = Buffer.from(JSON.stringify({ ...body, model: served, ...(askUsage ? { stream_options: { ...options, include_usage: true } } : {}) }));
  return forward(route, upstream, request, reply, payload, streaming, draft, deps, caller);
}

/** Where and how a route's calls to one upstream go: worked out once, not per call. */
interface UpstreamTarget {
  readonly send: typeof httpRequest;
  /** Protocol, host, port, path with the upstream's query, and the agent. */
  readonly options: RequestOptions;
  /**
   * The headers the gateway gives every call, as a flat [name, value, ...] list:
   * Host (the upstream's host, and its port unless the scheme's default), the
   * upstream credential if it takes one, and Basic authorization from a base
   * URL's user and password unless the credential is the authorization header
   * (what Node adds itself when headers are an object, not a list).
   */
  readonly ownHeaders: readonly string[];
}

const targets = new WeakMap<Upstream, Map<string, UpstreamTarget>>();

function targetFor(upstream: Upstream, route: ProxyRoute): UpstreamTarget {
  let byPath = targets.get(upstream);
  if (!byPath) targets.set(upstream, (byPath = new Map()));
  let target = byPath.get(route.path);
  if (!target) {
    const url = new URL(upstream.base_url.replace(/\/+$/, '') + route.path.replace(/^\/v1/, ''));
    for (const [key, value] of Object.entries(upstream.query ?? {})) url.searchParams.set(key, value);
    const https = url.protocol === 'https:';
    const header = upstream.auth_header ?? (upstream.api === 'anthropic' ? 'x-api-key' : 'authorization');
    const { auth, ...options } = urlToHttpOptions(url);
    const ownHeaders = ['host', url.host];
    if (upstream.credential) ownHeaders.push(header, header === 'authorization' ? `Bearer ${upstream.credential}` : upstream.credential);
    if (auth && !(upstream.credential && header === 'authorization')) ownHeaders.push('authorization', `Basic ${Buffer.from(auth).toString('base64')}`);
    target = { send: https ? httpsRequest : httpRequest, options: { ...options, method: 'POST', agent: https ? httpsAgent : httpAgent }, ownHeaders };
    byPath.set(route.path, target);
  }
  return target;
}

const ASK_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

/**
 * The caller's body with `stream_options.include_usage` added as its first
 * member, every byte of the caller's kept (a parse and re-serialization would
 * cost more, and rewrite numbers such as 1.0 or integers beyond 2^53). Only
 * for a body that is a JSON object with members and no stream_options.
 */
function withUsageAsked(raw: Buffer): Buffer {
  const open = raw.indexOf(0x7b /* { */);
  return Buffer.concat([raw.subarray(0, open + 1), ASK_USAGE, raw.subarray(open + 1)]);
}

function forward(route: ProxyRoute, upstream: Upstream, request: FastifyRequest, reply: FastifyReply, payload: Buffer, streaming: boolean, draft: UsageEventRecord, deps: ProxyDeps, caller: GatewayCaller): Promise<void> {
  const target = targetFor(upstream, route);
  // The caller's headers as it sent them (names in its case, repeated ones repeated), as a flat list: Node writes
  // such a list out as it is, where an object costs a validated setHeader per header. Host is then ours to give.
  const received = request.raw.rawHeaders;
  const headers: string[] = [];
  let sent = 0;
  for (let at = 0; at < received.length; at += 2) {
    const name = received[at]!;
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || lower.startsWith(GATEWAY_HEADER_PREFIX)) continue;
    const single = SINGLE_HEADERS.get(lower);
    if (single !== undefined) {
      // Only the first, as the gateway itself read it (Node keeps the first of these), so the upstream cannot act on another.
      if (sent & single) continue;
      sent |= single;
    }
    headers.push(name, received[at + 1]!);
  }
  headers.push(...target.ownHeaders, 'content-length', String(payload.length), 'accept-encoding', 'identity');
  const options: RequestOptions = { ...target.options, headers };
  const tracker = streaming && route.stream ? new StreamUsage(route.stream) : null;
  const collected: Buffer[] = [];
  let firstByteAt: number | null = null;
  let status = 0;
  let delivered = false;

  reply.hijack();
  const out = reply.raw;
  /**
   * The chunks that arrive together (one read from the upstream: an event
   * stream's events come as one chunk each) go out as one write, together
   * with the end of the answer when it came in the same read: gathered as
   * they arrive, written once the callbacks of that read have run (a
   * microtask; 'end' comes before it and takes them along). Nothing waits
   * for a later read. One write per read instead of one per chunk: each
   * write of a chunked answer frames its bytes and costs a trip through the
   * stream machinery.
   */
  let arrived: Buffer[] = [];
  const taken = (): Buffer | undefined => {
    const chunks = arrived;
    arrived = [];
    return chunks.length <= 1 ? chunks[0] : Buffer.concat(chunks);
  };
  const passOn = () => {
    const chunk = taken();
    if (chunk && !out.writableEnded) out.write(chunk);
  };
  return new Promise<void>((resolve) => {
    let settled = false;
    const finish = (outcome: { error: string | null }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      tracker?.end();
      resolve();
      // After the caller has its answer: the usage event.
      setImmediate(() => {
        const event = record(route, upstream, draft, deps, { status, streaming, tracker, collected, firstByteAt, error: outcome.error });
        deps.limiter?.spend(caller.keyId, event.input_tokens + event.output_tokens, Date.now());
      });
    };
    let upstreamRequest: ClientRequest;
    const timer = setTimeout(() => {
      if (status !== 0) return;
      upstreamRequest.destroy(new Error('upstream timed out'));
      if (!out.headersSent) sendJson(out, 504, { type: 'error', error: { message: `upstream ${upstream.name} did not answer within ${upstream.timeout_ms} ms`, type: 'upstream_timeout', code: 'upstream_timeout', param: null } });
      finish({ error: 'upstream_timeout' });
    }, upstream.timeout_ms);

    const attempt = (retriesLeft: number) => {
      upstreamRequest = target.send(options);
      upstreamRequest.on('response', (response: IncomingMessage) => {
        status = response.statusCode ?? 502;
        out.writeHead(status, returnedHeaders(response.rawHeaders));
        response.on('data', (chunk: Buffer) => {
          firstByteAt ??= Date.now();
          if (arrived.length === 0) queueMicrotask(passOn);
          arrived.push(chunk);
          if (tracker) tracker.push(chunk);
          else if (status < 400) collected.push(chunk);
        });
        response.on('end', () => {
          delivered = true;
          out.end(taken());
          finish({ error: null });
        });
        response.on('error', (err) => {
          out.destroy(err);
          finish({ error: 'upstream_disconnected' });
        });
      });
      const thisRequest = upstreamRequest;
      thisRequest.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        if (retriesLeft > 0 && closedWhileIdle(thisRequest, err)) {
          deps.log.debug({ upstream: upstream.name }, 'upstream closed a kept-alive connection as the call went out: sent again on another');
          attempt(retriesLeft - 1);
          return;
        }
        deps.log.warn({ err, upstream: upstream.name }, 'upstream call failed');
        if (!out.headersSent) sendJson(out, 502, { type: 'error', error: { message: `upstream ${upstream.name} unreachable: ${err.message}`, type: 'upstream_error', code: 'upstream_error', param: null } });
        else out.destroy(err);
        finish({ error: 'upstream_unreachable' });
      });
      upstreamRequest.end(payload);
    };
    // The caller hung up before the end: stop the upstream, record what was delivered.
    out.on('close', () => {
      if (delivered || settled) return;
      upstreamRequest.destroy();
      finish({ error: 'client_disconnected' });
    });
    attempt(IDLE_CLOSE_RETRIES);
  });
}

/**
 * A kept-alive connection the upstream closed while it sat idle in the pool
 * (its idle timeout, a load balancer's) can be picked for the next call in
 * the instant before the close arrives: the call fails with a reset before
 * any answer, the upstream never having read it. Such a call is sent again
 * on another connection, as Node's documentation advises; any other failure,
 * and any failure after an answer began, is the caller's to see.
 */
function closedWhileIdle(request: ClientRequest, err: NodeJS.ErrnoException): boolean {
  return request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
}

/** The upstream's headers as it sent them (names in its case, repeated ones repeated), less those of its hop: a flat [name, value, ...] list. */
function returnedHeaders(raw: readonly string[]): string[] {
  const returned: string[] = [];
  for (let at = 0; at < raw.length; at += 2) if (!NOT_RETURNED.has(raw[at]!.toLowerCase())) returned.push(raw[at]!, raw[at + 1]!);
  return returned;
}

function sendJson(out: FastifyReply['raw'], status: number, body: unknown): void {
  const text = JSON.stringify(body);
  out.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  out.end(text);
}

function bearer(headers: IncomingHttpHeaders): string | null {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string' && /^bearer\s+/i.test(authorization)) return authorization.replace(/^bearer\s+/i, '').trim();
  const key = headers['x-api-key'];
  return typeof key === 'string' && key.trim() !== '' ? key.trim() : null;
}

function eventDraft(route: ProxyRoute, model: string, caller: GatewayCaller, fields: Partial<UsageEventRecord>, gatewayId: string, started: number): UsageEventRecord {
  const draft = usageEventWithDefaults({ event_id: randomUUID(), occurred_at: started, provider: route.api, model });
  draft.api_flavor = route.flavor;
  draft.operation = route.operation;
  draft.api_key_id = caller.keyId;
  draft.gateway_id = gatewayId;
  return Object.assign(draft, fields);
}

interface CallOutcome {
  readonly status: number;
  readonly streaming: boolean;
  readonly tracker: StreamUsage | null;
  readonly collected: readonly Buffer[];
  readonly firstByteAt: number | null;
  readonly error: string | null;
}

/** The call's usage event: tokens as the provider reported them, the served model, how long it took, how it ended. */
function record(route: ProxyRoute, upstream: Upstream, draft: UsageEventRecord, deps: ProxyDeps, outcome: CallOutcome): UsageEventRecord {
  const ended = Date.now();
  let usage: Record<string, unknown> | null = outcome.tracker?.usage ?? null;
  let served = outcome.tracker?.model ?? null;
  if (!outcome.tracker && outcome.collected.length > 0 && outcome.status < 400) {
    try {
      const parsed: unknown = JSON.parse(Buffer.concat(outcome.collected).toString('utf8'));
      if (typeof parsed === 'object' && parsed !== null) {
        const response = parsed as Record<string, unknown>;
        if (typeof response['usage'] === 'object' && response['usage'] !== null) usage = response['usage'] as Record<string, unknown>;
        if (typeof response['model'] === 'string') served = response['model'];
      }
    } catch {
      deps.log.warn({ upstream: upstream.name, route: route.path }, 'upstream answered with a body that is not JSON; usage unknown');
    }
  }
  const tokens: Partial<UsageEventRecord> = {};
  if (usage) {
    const provider = deps.pricing.current(ended).catalog.providerById(upstream.provider);
    const extracted = provider.ok ? extractUsage(provider.value, { usage }, route.flavor) : null;
    if (extracted?.ok) Object.assign(tokens, extracted.usage);
    const reasoning = nested(usage, 'completion_tokens_details', 'reasoning_tokens') ?? nested(usage, 'output_tokens_details', 'reasoning_tokens');
    if (reasoning !== null) tokens.reasoning_tokens = reasoning;
  }
  const error = outcome.error ?? (outcome.status >= 400 ? `http_${outcome.status}` : null);
  // The draft is this call's own: completed in place rather than copied.
  const event = Object.assign(draft, tokens);
  event.model = served ?? draft.model;
  event.provider_usage = usage ? JSON.stringify(usage) : null;
  event.latency_ms = ended - draft.occurred_at;
  event.ttft_ms = outcome.streaming && outcome.firstByteAt !== null ? outcome.firstByteAt - draft.occurred_at : null;
  event.status = error ? 'error' : 'ok';
  event.error_code = error;
  deps.emit(event);
  return event;
}

function nested(usage: Record<string, unknown>, object: string, field: string): number | null {
  const details = usage[object];
  if (typeof details !== 'object' || details === null) return null;
  const value = (details as Record<string, unknown>)[field];
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
