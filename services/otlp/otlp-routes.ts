import { EVENT_LIMITS, type UsageEventRecord } from '@spendline/emitter/usage-event';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PolicySource } from '../attribution/policy-source.ts';
import { HttpError } from '../api/http-errors.ts';
import type { RouteDocs } from '../api/openapi.ts';
import { publishAccepted } from '../ingest/ingest-routes.ts';
import type { UsagePublisher } from '../ingest/usage-publisher.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { CONTENT_TYPES, exportTraceServiceResponse, rpcStatus, type OtlpEncoding } from './export-response.ts';
import { encodingOf, readTraceRequest } from './otlp-body.ts';
import type { OtlpSettings } from './otlp-settings.ts';
import { judgeTraceExport, rejectionMessage } from './trace-export.ts';
import { traceRequestJsonDocs } from './trace-request-docs.ts';

const OTLP_DOCS: RouteDocs = {
  tag: 'ingest',
  summary: 'OTLP/HTTP trace export: one usage event per OpenTelemetry GenAI model-call span; answered only once Kafka has them',
  description:
    'An ExportTraceServiceRequest as application/x-protobuf or application/json (OTLP/JSON), optionally gzip- or deflate-encoded. ' +
    'Spans that are GenAI model calls (gen_ai.operation.name chat, text_completion, generate_content, embeddings) become usage events identified by their trace and span ids; ' +
    'other spans are ignored. The answer is an ExportTraceServiceResponse in the request\'s encoding, with partial_success naming each rejected span and its attributes at fault; ' +
    'failures answer a google.rpc.Status. Resending is safe: a span counts once.',
  body: traceRequestJsonDocs,
  responses: { 200: 'Every model-call span stored durably (or rejected, see partial_success); other spans ignored' },
  errors: {
    413: 'Body larger than OTLP_MAX_BODY_BYTES, before or after decompression',
    415: 'Content type other than application/x-protobuf or application/json, or a content coding other than gzip or deflate',
    503: 'Kafka did not acknowledge in time: nothing accepted; resend after Retry-After',
  },
};

export interface OtlpRouteOptions {
  /** Resolves once Kafka acknowledged every event (UsagePublisher). */
  readonly publisher: Pick<UsagePublisher, 'publish'>;
  readonly policy: PolicySource;
  readonly settings: OtlpSettings;
  readonly metrics: Metrics;
  /** Largest body, compressed and decompressed (OTLP_MAX_BODY_BYTES: 20 MiB, the collector's own receiver default). */
  readonly maxBodyBytes: number;
  /** Most events handed to Kafka in one produce request (a request's spans may be many more). */
  readonly maxPublishBatch: number;
}

/**
 * POST /v1/traces (role ingest), OTLP/HTTP as the OpenTelemetry collector's
 * otlphttp exporter and the SDKs' exporters send it. Registered in a scope of
 * its own, so its raw-body parsers and its google.rpc.Status answers do not
 * touch the other routes.
 */
export function registerOtlpRoutes(app: FastifyInstance, options: OtlpRouteOptions): void {
  const { settings, metrics, maxBodyBytes } = options;
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([CONTENT_TYPES.protobuf, CONTENT_TYPES.json], { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));

    scope.post('/v1/traces', { config: { role: 'ingest', docs: OTLP_DOCS }, bodyLimit: maxBodyBytes, errorHandler: answerFailure }, async (request, reply) => {
      const encoding = encodingOf(request.headers['content-type']);
      if (encoding === null) throw new HttpError(415, 'unsupported_media_type', 'send Content-Type: application/x-protobuf or application/json');
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const read = await readTraceRequest(raw, encoding, request.headers['content-encoding'], maxBodyBytes);
      if (!read.ok) throw new HttpError(read.status, 'invalid_otlp', read.message, { issues: read.issues });

      const now = Date.now();
      const judged = judgeTraceExport(read.request, settings, now, EVENT_LIMITS.maxFutureSkewMs, options.policy.current(now));
      for (const batch of chunks(judged.accepted, options.maxPublishBatch)) await publishAccepted(options, batch);

      // Counted once Kafka has the events: a 503 is resent, and its spans would count twice.
      metrics.otlpSpans.inc({ outcome: 'accepted' }, judged.accepted.length);
      metrics.otlpSpans.inc({ outcome: 'rejected' }, judged.rejected.length);
      metrics.otlpSpans.inc({ outcome: 'ignored_non_genai' }, judged.ignoredNonGenAi);
      metrics.otlpSpans.inc({ outcome: 'ignored_not_a_model_call' }, judged.ignoredNotAModelCall);
      metrics.otlpSpans.inc({ outcome: 'ignored_wrapper' }, judged.ignoredWrapper);
      const partial = judged.rejected.length > 0 ? { rejectedSpans: judged.rejected.length, errorMessage: rejectionMessage(judged.rejected) } : null;
      if (partial) request.log.info({ rejected: partial.rejectedSpans, accepted: judged.accepted.length }, 'OTLP spans rejected');
      return reply.status(200).header('content-type', CONTENT_TYPES[encoding]).send(exportTraceServiceResponse(encoding, partial));
    });
  });
}

function* chunks(events: readonly UsageEventRecord[], size: number): Generator<readonly UsageEventRecord[]> {
  for (let at = 0; at < events.length; at += size) yield events.slice(at, at + size);
}

/** fastify's own client errors on this route, in OTLP's terms. */
const FASTIFY_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'the body is larger than this server accepts; send smaller batches' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: 'send Content-Type: application/x-protobuf or application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, message: 'Content-Length does not match the body' },
};

/**
 * Every failure of POST /v1/traces as a google.rpc.Status in the request's
 * encoding (JSON when the request's is unknown), as OTLP/HTTP requires; 5xx
 * hide internals. Retryable answers (503) keep their Retry-After.
 */
function answerFailure(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const encoding: OtlpEncoding = encodingOf(request.headers['content-type']) ?? 'json';
  let status = 500;
  let message = 'internal error';
  let issues: HttpError['issues'] = undefined;
  if (error instanceof HttpError) {
    status = error.statusCode;
    message = error.message;
    issues = error.issues;
    reply.headers(error.headers);
    if (status >= 500) request.log.warn({ err: error, url: request.url }, 'request failed');
  } else if (error.code && FASTIFY_ERRORS[error.code]) {
    ({ status, message } = FASTIFY_ERRORS[error.code]!);
  } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    status = error.statusCode;
    message = error.message;
  } else {
    request.log.error({ err: error, url: request.url, method: request.method }, 'unhandled error');
  }
  return reply.status(status).header('content-type', CONTENT_TYPES[encoding]).send(rpcStatus(encoding, status, message, issues));
}
