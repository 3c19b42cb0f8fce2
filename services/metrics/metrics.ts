import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one Spendline process, in a registry of its own (so
 * tests can build several pipelines in one process). Exposed on GET /metrics.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly eventsAccepted = new Counter({
    name: 'spendline_ingest_events_accepted_total',
    help: 'Events accepted by POST /v1/events and acknowledged by Kafka',
    registers: [this.registry],
  });

  readonly eventsRejected = new Counter({
    name: 'spendline_ingest_events_rejected_total',
    help: 'Events rejected by POST /v1/events, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly otlpSpans = new Counter({
    name: 'spendline_otlp_spans_total',
    help: 'Spans received on POST /v1/traces (counted once Kafka has their events), by outcome: accepted, rejected (partial success), ignored_non_genai, ignored_not_a_model_call (agent, tool and workflow spans), ignored_wrapper (a model-call span with another nested inside it in the same request: the inner one counts)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly callbackItems = new Counter({
    name: 'spendline_callback_items_total',
    help: 'Items of gateway callback batches (POST /v1/callbacks/<adapter>), by adapter and outcome (accepted and acknowledged by Kafka, rejected, ignored as no model call, unavailable: Kafka did not acknowledge)',
    labelNames: ['adapter', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly messagesProduced = new Counter({
    name: 'spendline_kafka_messages_produced_total',
    help: 'Messages acknowledged by Kafka, by topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly messagesConsumed = new Counter({
    name: 'spendline_kafka_messages_consumed_total',
    help: 'Messages a consumer finished with (written, forwarded or dead-lettered), by consumer group and topic',
    labelNames: ['group', 'topic'] as const,
    registers: [this.registry],
  });

  readonly deadLettered = new Counter({
    name: 'spendline_dlq_messages_total',
    help: 'Messages sent to the dead-letter topic, by stage and reason code',
    labelNames: ['stage', 'reason_code'] as const,
    registers: [this.registry],
  });

  readonly eventsAttributed = new Counter({
    name: 'spendline_enricher_events_attributed_total',
    help: 'Events the enricher attributed, by outcome (complete, fixed_by_rule, defaulted, unattributed) and policy version',
    labelNames: ['status', 'policy'] as const,
    registers: [this.registry],
  });

  readonly detectorFindings = new Counter({
    name: 'spendline_detector_findings_total',
    help: 'Findings the detectors reported (a series or subject out of its expected range in one run), by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly detectorAlerts = new Counter({
    name: 'spendline_detector_alerts_total',
    help: 'Detector alert state changes published to alerts.v1 (one per incident opened or closed), by kind and state',
    labelNames: ['kind', 'state'] as const,
    registers: [this.registry],
  });

  readonly detectorRunSeconds = new Histogram({
    name: 'spendline_detector_run_seconds',
    help: 'Duration of one detection run, by schedule (minute, hour)',
    labelNames: ['schedule'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly rowsWritten = new Counter({
    name: 'spendline_sink_rows_written_total',
    help: 'Usage rows inserted into ClickHouse',
    registers: [this.registry],
  });

  readonly duplicatesSkipped = new Counter({
    name: 'spendline_sink_duplicates_skipped_total',
    help: 'Events not inserted because their event_id was already stored or repeated in the batch',
    registers: [this.registry],
  });

  readonly insertDuration = new Histogram({
    name: 'spendline_sink_insert_duration_seconds',
    help: 'Duration of one ClickHouse batch insert, duplicate check included',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'spendline_kafka_consumer_lag',
    help: 'Messages between the last one a consumer handled and the partition end, at the last batch',
    labelNames: ['group', 'topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'spendline_retries_total',
    help: 'Retried operations (Kafka produce, ClickHouse insert), by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly emitterEventsEmitted = new Counter({
    name: 'spendline_emitter_events_emitted_total',
    help: 'Usage events the emitter accepted (into its buffer or, when full, its spill file)',
    registers: [this.registry],
  });

  readonly emitterEventsSent = new Counter({
    name: 'spendline_emitter_events_sent_total',
    help: 'Usage events Kafka acknowledged to the emitter (acks=all), replays of the spill file included; a resend after a lost answer counts again',
    registers: [this.registry],
  });

  readonly emitterEventsBuffered = new Gauge({
    name: 'spendline_emitter_events_buffered',
    help: 'Usage events held in the emitter\'s in-memory buffer, not yet acknowledged by Kafka',
    registers: [this.registry],
  });

  readonly emitterEventsSpilled = new Counter({
    name: 'spendline_emitter_events_spilled_total',
    help: 'Usage events written to the spill file (buffer full, or still unsent at a flush timeout)',
    registers: [this.registry],
  });

  readonly emitterEventsReplayed = new Counter({
    name: 'spendline_emitter_events_replayed_total',
    help: 'Spilled usage events sent from the spill file and acknowledged by Kafka',
    registers: [this.registry],
  });

  readonly emitterEventsRefused = new Counter({
    name: 'spendline_emitter_events_refused_total',
    help: 'Usage events the emitter refused, by reason (invalid, closed, spill_failed)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly emitterSpillBytes = new Gauge({
    name: 'spendline_emitter_spill_bytes',
    help: 'Bytes in the emitter\'s spill file still to be replayed to Kafka',
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'spendline_' });
  }
}
