import { EVENT_LIMITS, usageEventJson, type UsageEventRecord } from '@spendline/emitter/usage-event';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { IngestConfig } from '../config/config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { HttpError } from '../api/http-errors.ts';
import type { RouteDocs } from '../api/openapi.ts';
import { CLOUDEVENTS_MEDIA_TYPES, cloudEventAttributes, isBinaryCloudEvent, parseCloudEvents, USAGE_EVENT_TYPE } from './cloud-events.ts';
import { parseIngestBatch, type ParsedBatch } from './ingest-batch.ts';
import { KafkaUnavailableError, type UsagePublisher } from './usage-publisher.ts';

/** What ingest needs of a publisher: events in, resolved once Kafka acknowledged them all. */
export type EventPublisher = Pick<UsagePublisher, 'publish'>;

const INGEST_DOCS: RouteDocs = {
  tag: 'ingest',
  summary: 'Post usage events (one per model call); answered only once Kafka has them',
  description: [
    'Each event is judged on its own: 200 all accepted, 207 some rejected, 400 none valid; per-event results name every field at fault. Resending is safe: an event_id counts once.',
    `Also takes CloudEvents 1.0 whose data is a usage event in this JSON form: ${CLOUDEVENTS_MEDIA_TYPES.structured} (one event), ${CLOUDEVENTS_MEDIA_TYPES.batch} (an array; empty is valid) and binary mode (application/json with ce-* headers).`,
    `The type must be ${USAGE_EVENT_TYPE}; data_base64 is refused. When data leaves them out, event_id is derived from source and id, occurred_at is time, tenant_id is subject.`,
  ].join(' '),
  body: z.union([z.array(usageEventJson), z.object({ events: z.array(usageEventJson) })]),
  bodyMediaTypes: {
    [CLOUDEVENTS_MEDIA_TYPES.structured]: cloudEventAttributes.extend({ data: usageEventJson }),
    [CLOUDEVENTS_MEDIA_TYPES.batch]: z.array(cloudEventAttributes.extend({ data: usageEventJson })),
  },
  responses: { 200: 'Every event accepted and acknowledged by Kafka (or an empty CloudEvents batch)', 207: 'Some accepted (acknowledged), some rejected: see results' },
  errors: {
    413: 'Body or batch too large',
    415: `Content type other than application/json, ${CLOUDEVENTS_MEDIA_TYPES.structured} or ${CLOUDEVENTS_MEDIA_TYPES.batch}`,
    503: 'Kafka did not acknowledge in time: nothing accepted; resend after Retry-After',
  },
};

/** Seconds a client should wait after a 503 before resending the same batch. */
const RETRY_AFTER_SECONDS = 5;

/**
 * POST /v1/events (role ingest). Answers only after Kafka acknowledged the
 * accepted events: 200 when all were accepted, 207 when some were rejected,
 * 400 when none were; per-event results always say which and why. The body is
 * the plain JSON form or CloudEvents (cloud-events.ts), chosen by Content-Type
 * as the CloudEvents HTTP binding says: its two JSON media types, else binary
 * mode when ce-* headers come with application/json.
 */
export function registerIngestRoutes(app: FastifyInstance, deps: { publisher: EventPublisher; policy: PolicySource; config: Pick<IngestConfig, 'maxBatchEvents' | 'maxBodyBytes'>; metrics: Metrics }): void {
  const { config, metrics } = deps;
  // A scope, so the CloudEvents media types are taken here and nowhere else.
  void app.register(async (scope) => {
    // The CloudEvents formats are JSON: fastify's own parser (prototype poisoning refused) under the same body limit.
    scope.addContentTypeParser([CLOUDEVENTS_MEDIA_TYPES.structured, CLOUDEVENTS_MEDIA_TYPES.batch], { parseAs: 'string', bodyLimit: config.maxBodyBytes }, scope.getDefaultJsonParser('error', 'error'));
    scope.post('/v1/events', { config: { role: 'ingest', docs: INGEST_DOCS }, bodyLimit: config.maxBodyBytes }, async (request, reply) => {
      const now = Date.now();
      const limits = { maxEvents: config.maxBatchEvents, maxFutureSkewMs: EVENT_LIMITS.maxFutureSkewMs };
      const policy = deps.policy.current(now);
      const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
      const batch: ParsedBatch =
        mediaType === CLOUDEVENTS_MEDIA_TYPES.batch
          ? parseCloudEvents({ mode: 'batch', body: request.body }, limits, now, policy)
          : mediaType === CLOUDEVENTS_MEDIA_TYPES.structured
            ? parseCloudEvents({ mode: 'structured', body: request.body }, limits, now, policy)
            : isBinaryCloudEvent(request.headers)
              ? parseCloudEvents({ mode: 'binary', headers: request.headers, body: request.body }, limits, now, policy)
              : parseIngestBatch(request.body, limits, now, policy);
      if (!batch.ok) {
        metrics.eventsRejected.inc({ reason: batch.code });
        throw new HttpError(batch.status, batch.code, batch.message, batch.issues ? { issues: batch.issues } : {});
      }
      const rejected = batch.results.length - batch.accepted.length;
      await publishAccepted(deps, batch.accepted);
      metrics.eventsAccepted.inc(batch.accepted.length);
      if (rejected > 0) metrics.eventsRejected.inc({ reason: 'invalid_event' }, rejected);
      const summary = { accepted: batch.accepted.length, rejected, results: batch.results };
      // An empty CloudEvents batch is valid and holds nothing to reject: 200.
      if (rejected > 0 && batch.accepted.length === 0) {
        return reply.status(400).send({ error: { code: 'invalid_events', message: 'no event in the batch is valid; see results' }, ...summary });
      }
      return reply.status(rejected === 0 ? 200 : 207).send(summary);
    });
  });
}

/**
 * Hands accepted events to Kafka and returns once it acknowledged them all;
 * otherwise throws the 503 every ingest path answers, so nothing is reported
 * as accepted that Kafka does not hold. Resending is safe: event_id dedups.
 */
export async function publishAccepted(deps: { publisher: EventPublisher; metrics: Metrics }, accepted: readonly UsageEventRecord[]): Promise<void> {
  if (accepted.length === 0) return;
  try {
    await deps.publisher.publish(accepted);
  } catch (err) {
    if (!(err instanceof KafkaUnavailableError)) throw err;
    deps.metrics.eventsRejected.inc({ reason: 'kafka_unavailable' }, accepted.length);
    throw new HttpError(503, 'kafka_unavailable', 'events could not be stored durably, so none were accepted; resend the same batch (event_id makes resending safe)', {
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }
}
