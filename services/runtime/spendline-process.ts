import { UsageEmitter } from '@spendline/emitter';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka, SerialProducer } from '@spendline/emitter/kafka';
import type { FastifyInstance } from 'fastify';
import { buildHttpServer, type ReadinessCheck } from '../api/http-server.ts';
import { registerReportRoutes } from '../api/report-routes.ts';
import { registerPricingRoutes } from '../api/pricing-routes.ts';
import { registerAttributionRoutes } from '../api/attribution-routes.ts';
import { registerExportRoutes } from '../api/export-routes.ts';
import { registerRestatementRoutes } from '../api/restatement-routes.ts';
import { registerChargebackRoutes } from '../api/chargeback-routes.ts';
import { registerAnalysisRoutes } from '../api/analysis-routes.ts';
import { registerBudgetRoutes } from '../api/budget-routes.ts';
import { BudgetEvaluator } from '../budgets/budget-evaluator.ts';
import { BudgetStore } from '../budgets/budget-store.ts';
import { AlertNotifier } from '../alerts/alert-notifier.ts';
import { AlertStore } from '../alerts/alert-store.ts';
import { BudgetAlertPublisher } from '../alerts/budget-alert-publisher.ts';
import { loadChannels } from '../alerts/channels.ts';
import { AckStore } from '../alerts/ack-store.ts';
import { SilenceStore } from '../alerts/silence-store.ts';
import { registerAlertRoutes } from '../api/alert-routes.ts';
import { BudgetFile, syncBudgetFile } from '../budgets/budget-file.ts';
import { AllocationSource } from '../chargeback/allocation-rules.ts';
import { registerCallbackRoutes } from '../callbacks/callback-routes.ts';
import { PolicySource } from '../attribution/policy-source.ts';
import { BearerTokens } from '../auth/bearer-tokens.ts';
import { createClickHouse, type ClickHouse } from '../clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../clickhouse/migrations.ts';
import type { SpendlineConfig } from '../config/config.ts';
import { Enricher } from '../enricher/enricher.ts';
import { registerIngestRoutes } from '../ingest/ingest-routes.ts';
import { registerOtlpRoutes } from '../otlp/otlp-routes.ts';
import { loadOtlpSettings } from '../otlp/otlp-settings.ts';
import { UsagePublisher } from '../ingest/usage-publisher.ts';
import { ensureTopics, topicNames } from '../kafka/topics.ts';
import type { Logger } from '../logging/logger.ts';
import { emitterMetricsHooks } from '../metrics/emitter-hooks.ts';
import { Metrics } from '../metrics/metrics.ts';
import { SCHEMA_DIRS, SPENDLINE_VERSION, SQL_DIR } from '../project-paths.ts';
import { Sink } from '../sink/sink.ts';
import { PricingSource } from '../pricing/pricing-source.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import { loadDetectionSettings } from '../detection/detection-config.ts';
import { DetectionReader } from '../detection/detection-reader.ts';
import { DetectionService } from '../detection/detection-service.ts';
import { DetectorStateStore } from '../detection/detector-state-store.ts';
import { RunawayStreamWatch } from '../detection/runaway-stream-watch.ts';
import { loadGatewaySettings } from '../gateway/gateway-config.ts';
import { GatewayKeyStore } from '../gateway/gateway-keys.ts';
import { registerGatewayKeyRoutes } from '../gateway/gateway-key-routes.ts';
import { registerProxyRoutes } from '../gateway/proxy-routes.ts';
import { BudgetStatusFeed } from '../gateway/budget-status-feed.ts';
import { KeyRateLimiter } from '../gateway/key-rate-limiter.ts';

export const SERVICE_NAMES = ['ingest', 'enricher', 'sink', 'api', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface ProcessOptions {
  readonly config: SpendlineConfig;
  readonly services: ReadonlySet<ServiceName>;
  /** Bootstrap brokers actually used (the configured cluster or the local broker). */
  readonly brokers: readonly string[];
  readonly log: Logger;
  /** Process-level metrics (GC, memory); off when tests build several processes at once. */
  readonly processMetrics?: boolean;
  /** Reads a secret the configuration names (an upstream's api_key_env); the composition root passes the environment. */
  readonly secret?: (variable: string) => string | undefined;
}

export interface RunningProcess {
  /** Base URL the HTTP server listens on. */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  readonly clickhouse: ClickHouse | null;
  /** The anomaly and drift detectors (with the API), to run on demand as well as on their schedules. */
  readonly detection: DetectionService | null;
  /** Settles if a consumer dies for good: the process cannot do its work and should exit non-zero. */
  readonly fatal: Promise<Error>;
  /** Ordered shutdown: stop intake → drain consumers (the sink flushes its batch) → close clients. */
  stop(): Promise<void>;
}

/**
 * Composition root of one Spendline process running any subset of the
 * services: builds the Kafka, ClickHouse and HTTP clients once and hands them
 * down. `spendline start` runs all four in one process (chDB allows one data
 * directory per process); each also runs alone on a shared Kafka and ClickHouse.
 */
export async function startProcess(options: ProcessOptions): Promise<RunningProcess> {
  const { config, services, log } = options;
  const metrics = new Metrics({ processMetrics: options.processMetrics ?? true });
  const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
  const kafka = createKafka({ brokers: options.brokers, clientId: config.kafka.clientId }, log);
  const topics = topicNames(config.kafka.topicPrefix);
  let onFatal: (err: Error) => void = () => {};
  const fatal = new Promise<Error>((resolve) => {
    onFatal = resolve;
  });

  try {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, topics, { partitions: config.kafka.partitions, replicationFactor: config.kafka.replicationFactor });
      if (created.length > 0) log.info({ topics: created }, 'created topics');
    } finally {
      await admin.disconnect();
    }
  } catch (err) {
    // Ingest alone can serve (503) until Kafka is back; consumers cannot work without their topics.
    if (services.size === 1 && services.has('ingest')) log.warn({ err }, 'cannot reach Kafka to check topics; ingest answers 503 until it can');
    else throw err;
  }

  // The gateway runs where it is asked for and has upstreams; `spendline start` without a gateway file has no proxy routes.
  const gatewaySettings = services.has('gateway') && config.gateway.file ? loadGatewaySettings(config.gateway.file, options.secret ?? (() => undefined)) : null;
  if (services.has('gateway') && !gatewaySettings) log.info('no SPENDLINE_GATEWAY_FILE: the gateway routes are off');
  const pricing = services.has('enricher') || services.has('api') || gatewaySettings ? new PricingSource(config.pricing, log) : null;
  // Every service applies the attribution policy: ingest rejects by it, the enricher resolves by it, reports scope by it.
  const policy = new PolicySource(config.attributionPolicyFile, log);
  const clickhouse = services.has('sink') || services.has('api') || gatewaySettings ? await createClickHouse(config.clickhouse, log) : null;
  // Gateway keys: checked by the gateway from memory, issued and revoked through the admin API.
  const gatewayKeys = clickhouse && (gatewaySettings || services.has('api')) ? new GatewayKeyStore(clickhouse, { log }) : null;
  // Budgets as the gateway enforces them: the compacted status topic, in memory.
  const budgetFeed = gatewaySettings ? new BudgetStatusFeed({ kafka, topic: topics.budgetStatus, groupPrefix: 'spendline-gateway-budgets', registry, log, metrics, onFatal }) : null;
  const emitter = gatewaySettings
    ? new UsageEmitter({ kafka, topic: topics.raw, spillDir: config.gateway.spillDir, bufferCapacity: config.gateway.eventBuffer, log, hooks: emitterMetricsHooks(metrics, topics.raw) })
    : null;
  const publisher = services.has('ingest')
    ? new UsagePublisher({
        producer: new SerialProducer(kafka, { retries: 3 }),
        topic: topics.raw,
        registry,
        timeoutMs: config.ingest.produceTimeoutMs,
        log: log.child({ component: 'ingest' }),
        metrics,
      })
    : null;
  const enricher = services.has('enricher') && pricing ? new Enricher({ kafka, topics, groupId: config.enricher.groupId, registry, pricing, attribution: policy, log, metrics, onFatal }) : null;
  const sink = services.has('sink') && clickhouse ? new Sink({ kafka, clickhouse, topics, registry, config: config.sink, log, metrics, onFatal }) : null;
  // Budgets live with the API (they need ClickHouse): the evaluation schedule publishes alert changes, the notifier tells the channels.
  const budgets = services.has('api') && clickhouse ? new BudgetStore(clickhouse) : null;
  const evaluator = budgets && clickhouse ? new BudgetEvaluator(budgets, clickhouse) : null;
  const alertStore = clickhouse && evaluator ? new AlertStore(clickhouse) : null;
  const alertProducer = alertStore ? new SerialProducer(kafka) : null;
  const budgetFile = budgets && config.alerts.budgetsFile ? new BudgetFile(config.alerts.budgetsFile, log) : null;
  const alertPublisher =
    evaluator && alertStore && alertProducer
      ? new BudgetAlertPublisher({ evaluator, store: alertStore, producer: alertProducer, registry, topic: topics.alerts, statusTopic: topics.budgetStatus, budgetFile, schedule: config.alerts.evaluationSchedule, log })
      : null;
  // Detection lives with the budgets: it reads ClickHouse on node-cron schedules and publishes to alerts.v1 like they do.
  const detectionSettings = loadDetectionSettings(config.detection.file);
  const detectionReader = clickhouse && alertStore ? new DetectionReader(clickhouse) : null;
  const detection =
    clickhouse && detectionReader && alertProducer && detectionSettings.enabled
      ? new DetectionService({
          reader: detectionReader,
          states: new DetectorStateStore(clickhouse),
          publish: (alerts) => alertProducer.send([{ topic: topics.alerts, messages: alerts.map((alert) => ({ key: alert.alert_id, value: registry.encode(SCHEMA_NAMES.alert, alert) })) }]),
          settings: detectionSettings,
          minuteSchedule: config.detection.minuteSchedule,
          hourlySchedule: config.detection.hourlySchedule,
          log,
          metrics,
        })
      : null;
  // The kill-switch case on the live stream: a runaway is judged while its minute is still going on.
  const runawayWatch =
    detection && detectionReader && detectionSettings.runaway.enabled
      ? new RunawayStreamWatch({ kafka, topic: topics.enriched, groupPrefix: config.detection.streamGroupPrefix, registry, reader: detectionReader, detection, log, metrics, onFatal })
      : null;
  const silences = alertStore && clickhouse ? new SilenceStore(clickhouse) : null;
  const notifier =
    alertStore && silences
      ? new AlertNotifier({ kafka, topic: topics.alerts, dlqTopic: topics.dlq, groupId: config.alerts.notifierGroupId, registry, store: alertStore, silences, channels: loadChannels(config.alerts.channelsFile), log, metrics, onFatal })
      : null;

  const readiness: ReadinessCheck[] = [
    ...(publisher ? [{ name: 'kafka_producer', check: () => publisher.connected }] : []),
    ...(enricher ? [{ name: 'enricher', check: () => enricher.ready }] : []),
    ...(sink ? [{ name: 'sink', check: () => sink.ready }] : []),
    ...(notifier ? [{ name: 'notifier', check: () => notifier.ready }] : []),
    ...(gatewayKeys ? [{ name: 'gateway_keys', check: () => gatewayKeys.ready }] : []),
    ...(clickhouse ? [{ name: 'clickhouse', check: () => clickhouse.ping() }] : []),
  ];
  const app = buildHttpServer({ log, metrics, tokens: new BearerTokens(config.auth), readiness, bodyLimit: config.ingest.maxBodyBytes, version: SPENDLINE_VERSION });
  if (publisher) registerIngestRoutes(app, { publisher, policy, config: config.ingest, metrics });
  // The payloads LiteLLM and Kong already send, through the same validation and Kafka hand-off.
  if (publisher) registerCallbackRoutes(app, { publisher, policy, metrics, limits: { maxBodyBytes: config.ingest.callbackMaxBodyBytes, maxItems: config.ingest.maxBatchEvents } });
  // OTLP/HTTP traces: GenAI model-call spans become usage events through the same validation and Kafka hand-off.
  if (publisher) {
    const settings = loadOtlpSettings(config.otlp.file);
    registerOtlpRoutes(app, { publisher, policy, settings, metrics, maxBodyBytes: config.otlp.maxBodyBytes, maxPublishBatch: config.ingest.maxBatchEvents });
  }
  if (gatewaySettings && gatewayKeys && emitter && pricing) {
    const gatewayLog = log.child({ component: 'gateway' });
    registerProxyRoutes(app, {
      settings: gatewaySettings,
      authenticate: (token) => {
        const key = gatewayKeys.verify(token);
        if (!key) return null;
        const { team, feature, environment, tenant_id, cost_center, user_id } = key.owner;
        const owner = Object.fromEntries(Object.entries({ team, feature, environment, tenant_id, cost_center, user_id }).filter(([, value]) => value)) as Record<string, string>;
        return { keyId: key.key_id, owner, allowedModels: key.allowed_models, requestsPerMinute: key.requests_per_minute, tokensPerMinute: key.tokens_per_minute };
      },
      policy,
      pricing,
      emit: (event) => {
        const result = emitter.emit(event);
        if (!result.accepted) gatewayLog.error({ eventId: event.event_id, reason: result.reason, issues: result.issues }, 'usage event refused by the emitter');
      },
      budgets: budgetFeed ? () => budgetFeed.statuses() : undefined,
      limiter: new KeyRateLimiter(),
      log: gatewayLog,
      bodyLimit: config.gateway.maxBodyBytes,
    });
  }
  if (services.has('api') && gatewayKeys) registerGatewayKeyRoutes(app, { keys: gatewayKeys });
  if (services.has('api') && clickhouse) registerReportRoutes(app, { clickhouse, policy });
  if (services.has('api') && clickhouse) registerAnalysisRoutes(app, { clickhouse, policy });
  if (budgets && evaluator && alertStore) registerBudgetRoutes(app, { store: budgets, evaluator, alerts: alertStore, policy });
  if (alertStore && silences && clickhouse) registerAlertRoutes(app, { alerts: alertStore, silences, acks: new AckStore(clickhouse), context: detection ? (alert) => detection.context(alert) : undefined });
  if (services.has('api') && clickhouse) registerChargebackRoutes(app, { clickhouse, policy, allocation: new AllocationSource(config.allocationFile, log) });
  if (services.has('api') && pricing) registerPricingRoutes(app, { pricing });
  if (services.has('api')) registerAttributionRoutes(app, { policy, clickhouse });
  if (services.has('api') && clickhouse) registerExportRoutes(app, { clickhouse, policy });
  if (services.has('api') && clickhouse && pricing) registerRestatementRoutes(app, { clickhouse, pricing, policy, log: log.child({ component: 'restatement' }) });

  // Intake stops first; consumers finish (and the sink flushes) their batch in hand; clients
  // close last. Each step runs even if an earlier one failed.
  const stopAll = async () => {
    const steps: [string, (() => Promise<unknown>) | undefined][] = [
      ['http', () => app.close()],
      ['ingest', publisher ? () => publisher.close() : undefined],
      // The gateway's answers are out; what it has not sent yet is flushed (or left in its spill file).
      ['gateway events', emitter ? () => emitter.close() : undefined],
      ['gateway keys', gatewayKeys ? () => gatewayKeys.stop() : undefined],
      ['budget status feed', budgetFeed ? () => budgetFeed.stop() : undefined],
      ['enricher', enricher ? () => enricher.stop() : undefined],
      ['sink', sink ? () => sink.stop() : undefined],
      ['budget alerts', alertPublisher ? () => alertPublisher.stop() : undefined],
      ['runaway stream watch', runawayWatch ? () => runawayWatch.stop() : undefined],
      ['detection', detection ? () => detection.stop() : undefined],
      ['notifier', notifier ? () => notifier.stop() : undefined],
      ['alert producer', alertProducer ? () => alertProducer.close() : undefined],
      ['clickhouse', clickhouse ? () => clickhouse.close() : undefined],
    ];
    let failed: unknown = null;
    for (const [name, step] of steps) {
      try {
        await step?.();
      } catch (err) {
        log.error({ err, step: name }, 'shutdown step failed');
        failed ??= err;
      }
    }
    if (failed) throw failed;
  };

  let url: string;
  try {
    if (clickhouse) await migrate(clickhouse, readMigrations(SQL_DIR), log.child({ component: 'migrations' }));
    await gatewayKeys?.start();
    await budgetFeed?.start();
    if (publisher) {
      await publisher.connect().catch((err: unknown) => log.warn({ err }, 'Kafka producer not connected yet; POST /v1/events answers 503 until it is'));
    }
    await enricher?.start();
    await sink?.start();
    if (budgets && budgetFile) await syncBudgetFile(budgets, budgetFile.current(), budgetFile.file);
    await alertProducer?.connect();
    await notifier?.start();
    alertPublisher?.start();
    detection?.start();
    await runawayWatch?.start();
    url = await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    await stopAll().catch((stopErr: unknown) => log.error({ err: stopErr }, 'cleanup after a failed start failed'));
    throw err;
  }
  log.info({ url, services: [...services] }, 'spendline is serving');

  let stopping: Promise<void> | null = null;
  return {
    url,
    app,
    metrics,
    clickhouse,
    detection,
    fatal,
    stop: () => {
      stopping ??= stopAll().then(() => log.info('spendline stopped'));
      return stopping;
    },
  };
}
