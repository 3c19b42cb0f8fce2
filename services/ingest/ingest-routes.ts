import { EVENT_LIMITS, usageEventJson, type UsageEventRecord } from '@spendline/emitter/usage-event';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { IngestConfig } from '../config/config.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { HttpError } from '../api/http-errors.ts';
import type { RouteDocs } from '../api/openapi.ts';
import { parseIngestBatch } from './ingest-batch.ts';
import { KafkaUnavailableError, type UsagePublisher } from './usage-publisher.ts';

const INGEST_DOCS: RouteDocs = {
  tag: 'ingest',
  summary: 'Post usage events (one per model call); answered only once Kafka has them',
  description: 'Each event is judged on its own: 200 all accepted, 207 some rejected, 400 none valid; per-event results name every field at fault. Resending is safe: an event_id counts once.',
  body: z.union([z.array(usageEventJson), z.object({ events: z.array(usageEventJson) })]),
  responses: { 200: 'Every event accepted and acknowledged by Kafka', 207: 'Some accepted (acknowledged), some rejected: see results' },
  errors: { 413: 'Body or batch too large', 415: 'Content type other than application/json', 503: 'Kafka did not acknowledge in time: nothing accepted; resend after Retry-After' },
};

/** Seconds a client should wait after a 503 before resending the same batch. */
const RETRY_AFTER_SECONDS = 5;

/**
 * POST /v1/events (role ingest). Answers only after Kafka acknowledged the
 * accepted events: 200 when all were accepted, 207 when some were rejected,
 * 400 when none were; per-event results always say which and why.
 */
export function registerIngestRoutes(app: FastifyInstance, deps: { publisher: UsagePublisher; policy: PolicySource; config: IngestConfig; metrics: Metrics }): void {
  const { config, metrics } = deps;
  app.post('/v1/events', { config: { role: 'ingest', docs: INGEST_DOCS }, bodyLimit: config.maxBodyBytes }, async (request, reply) => {
    const now = Date.now();
    const batch = parseIngestBatch(request.body, { maxEvents: config.maxBatchEvents, maxFutureSkewMs: EVENT_LIMITS.maxFutureSkewMs }, now, deps.policy.current(now));
    if (!batch.ok) {
      metrics.eventsRejected.inc({ reason: batch.code });
      throw new HttpError(batch.status, batch.code, batch.message, batch.issues ? { issues: batch.issues } : {});
    }
    const rejected = batch.results.length - batch.accepted.length;
    await publishAccepted(deps, batch.accepted);
    metrics.eventsAccepted.inc(batch.accepted.length);
    if (rejected > 0) metrics.eventsRejected.inc({ reason: 'invalid_event' }, rejected);
    const summary = { accepted: batch.accepted.length, rejected, results: batch.results };
    if (batch.accepted.length === 0) {
      return reply.status(400).send({ error: { code: 'invalid_events', message: 'no event in the batch is valid; see results' }, ...summary });
    }
    return reply.status(rejected === 0 ? 200 : 207).send(summary);
  });
}

/**
 * Hands accepted events to Kafka and returns once it acknowledged them all;
 * otherwise throws the 503 every ingest path answers, so nothing is reported
 * as accepted that Kafka does not hold. Resending is safe: event_id dedups.
 */
export async function publishAccepted(deps: { publisher: UsagePublisher; metrics: Metrics }, accepted: readonly UsageEventRecord[]): Promise<void> {
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
