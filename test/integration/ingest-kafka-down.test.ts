import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import { SerialProducer } from '@spendline/emitter/kafka';
import { describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../services/api/http-server.ts';
import { BearerTokens } from '../../services/auth/bearer-tokens.ts';
import { PolicySource } from '../../services/attribution/policy-source.ts';
import { registerIngestRoutes } from '../../services/ingest/ingest-routes.ts';
import { UsagePublisher } from '../../services/ingest/usage-publisher.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { Metrics } from '../../services/metrics/metrics.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * With Kafka unreachable, ingest must not claim anything was accepted: 503,
 * Retry-After, and no event counted. The broker address is a closed local
 * port, so kafkajs really fails to connect (nothing is mocked).
 */
describe('ingest while Kafka is unreachable', () => {
  it('answers 503 with Retry-After and accepts nothing', async () => {
    const log = createLogger('silent');
    const metrics = new Metrics({ processMetrics: false });
    const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'down-test' }, log);
    const publisher = new UsagePublisher({
      producer: new SerialProducer(kafka, { retries: 1 }),
      topic: 'usage.raw.v1',
      registry: AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS),
      timeoutMs: 2_000,
      log,
      metrics,
    });
    const app = buildHttpServer({
      log,
      metrics,
      tokens: new BearerTokens({ adminToken: null, readerTokens: [], ingestTokens: [TEST_TOKENS.ingest] }),
      readiness: [{ name: 'kafka_producer', check: () => publisher.connected }],
      bodyLimit: 1024 * 1024,
    });
    registerIngestRoutes(app, { publisher, policy: new PolicySource(null, log), config: { maxBatchEvents: 10, maxBodyBytes: 1024 * 1024 }, metrics });

    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` },
      payload: [usageEventJson(), usageEventJson()],
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toMatchObject({ error: { code: 'kafka_unavailable' } });
    expect(response.json()).not.toHaveProperty('accepted');
    expect((await metrics.eventsAccepted.get()).values[0]?.value ?? 0).toBe(0);

    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    await app.close();
    await publisher.close();
  });
});
