import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HttpError, invalidRequest } from '../api/http-errors.ts';
import type { RouteDocs } from '../api/openapi.ts';
import type { PolicySource } from '../attribution/policy-source.ts';
import { EVENT_LIMITS, NO_CONTROL_CHARACTERS } from '@spendline/emitter/usage-event';
import { publishAccepted, type EventPublisher } from '../ingest/ingest-routes.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { validate } from '@spendline/emitter/field-issues';
import { judgeCallbackBatch, type CallbackAdapter, type CallbackResult } from './callback-batch.ts';
import { jsonOrJsonLines } from './json-lines-body.ts';
import { kongLogEntry } from './kong-log-entry.ts';
import { kongAdapter } from './kong-usage-event.ts';
import { liteLlmPayload } from './litellm-payload.ts';
import { liteLlmAdapter } from './litellm-usage-event.ts';

export interface CallbackRouteDeps {
  readonly publisher: EventPublisher;
  readonly policy: PolicySource;
  readonly metrics: Metrics;
  /** The limits of POST /v1/events (INGEST_MAX_BODY_BYTES, INGEST_MAX_BATCH_EVENTS), per request. */
  readonly limits: { readonly maxBodyBytes: number; readonly maxItems: number };
}

const queryValue = z.string().trim().min(1, 'must not be empty').max(EVENT_LIMITS.maxNameLength).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');

/** Set once in the gateway's callback URL: what its payloads cannot say. */
const callbackQuery = z.strictObject({
  gateway_id: queryValue.optional().describe('gateway_id of every event of the request (default: the adapter name, litellm or kong)'),
  environment: queryValue.optional().describe('environment of events whose payload names none'),
});

const ANSWERS = {
  responses: { 200: 'Every item accepted (and acknowledged by Kafka) or ignored as no model call', 207: 'Some items accepted (acknowledged), some rejected: see results' },
  errors: {
    413: 'Body or batch too large (INGEST_MAX_BODY_BYTES, INGEST_MAX_BATCH_EVENTS)',
    415: 'Content type other than application/json',
    503: 'Kafka did not acknowledge in time: nothing accepted; the gateway resends (request and call ids make that safe)',
  },
} as const;

const LITELLM_DOCS: RouteDocs = {
  tag: 'ingest',
  summary: "LiteLLM's generic API logger: standard logging payloads as usage events",
  description:
    'Point LiteLLM\'s generic_api callback here. Takes one StandardLoggingPayload, a JSON array of them (log_format json_array) or one per line (ndjson). Each becomes a usage event judged like POST /v1/events; results name each rejected field by its path in the payload. event_id is LiteLLM\'s call id and the attempt\'s start time, so a payload sent twice counts once and every retry of a request counts.',
  query: callbackQuery,
  body: z.union([liteLlmPayload, z.array(liteLlmPayload)]),
  ...ANSWERS,
};

const KONG_DOCS: RouteDocs = {
  tag: 'ingest',
  summary: "Kong's http-log plugin: AI Proxy statistics as usage events",
  description:
    'Point an http-log plugin (on the routes with AI Proxy, log_statistics on) here. Takes one log entry or a JSON array of them (queue.max_batch_size > 1). Entries with ai.proxy statistics become usage events judged like POST /v1/events; entries without are ignored. event_id is Kong\'s request id, so a batch sent again counts once.',
  query: callbackQuery,
  body: z.union([kongLogEntry, z.array(kongLogEntry)]),
  ...ANSWERS,
};

/**
 * POST /v1/callbacks/litellm and /v1/callbacks/kong (role ingest): the payloads
 * these gateways already send, taken as they send them. Answers like POST
 * /v1/events and only after Kafka acknowledged the accepted events: 200 when
 * none was rejected, 207 when some were, 400 when no item was accepted and some
 * were rejected, 503 with Retry-After when Kafka did not acknowledge.
 */
export function registerCallbackRoutes(app: FastifyInstance, deps: CallbackRouteDeps): void {
  const { maxBodyBytes } = deps.limits;
  // Its own scope: LiteLLM's ndjson log format comes as application/json too.
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: maxBodyBytes }, jsonOrJsonLines(scope.getDefaultJsonParser('error', 'error')));
    scope.post('/v1/callbacks/litellm', { config: { role: 'ingest', docs: LITELLM_DOCS }, bodyLimit: maxBodyBytes }, (request, reply) => handle(deps, liteLlmAdapter, request, reply));
  });
  app.post('/v1/callbacks/kong', { config: { role: 'ingest', docs: KONG_DOCS }, bodyLimit: maxBodyBytes }, (request, reply) => handle(deps, kongAdapter, request, reply));
}

async function handle(deps: CallbackRouteDeps, adapter: CallbackAdapter, request: FastifyRequest, reply: FastifyReply) {
  const query = validate(callbackQuery, request.query ?? {});
  if (!query.ok) throw invalidRequest(query.issues, 'the query string is invalid');
  const now = Date.now();
  const defaults = { gatewayId: query.value.gateway_id ?? adapter.name, environment: query.value.environment };
  const limits = { maxItems: deps.limits.maxItems, maxFutureSkewMs: EVENT_LIMITS.maxFutureSkewMs };
  const batch = judgeCallbackBatch(request.body, adapter, defaults, limits, now, deps.policy.current(now));
  if (!batch.ok) throw new HttpError(batch.status, batch.code, batch.message);

  const count = (status: CallbackResult['status']) => batch.results.filter((result) => result.status === status).length;
  const summary = { accepted: batch.accepted.length, rejected: count('rejected'), ignored: count('ignored'), results: batch.results };
  const tally = (outcome: string, n: number) => n > 0 && deps.metrics.callbackItems.inc({ adapter: adapter.name, outcome }, n);
  tally('rejected', summary.rejected);
  tally('ignored', summary.ignored);
  try {
    await publishAccepted(deps, batch.accepted);
  } catch (err) {
    tally('unavailable', summary.accepted);
    throw err;
  }
  tally('accepted', summary.accepted);
  if (summary.accepted === 0 && summary.rejected > 0) {
    return reply.status(400).send({ error: { code: 'invalid_events', message: 'no item in the batch is valid; see results' }, ...summary });
  }
  return reply.status(summary.rejected === 0 ? 200 : 207).send(summary);
}
