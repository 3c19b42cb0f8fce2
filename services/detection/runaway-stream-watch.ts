import { randomUUID } from 'node:crypto';
import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import type { Kafka } from 'kafkajs';
import type { EnrichedUsageEvent } from '../events/enriched-usage-event.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import { BatchConsumer, type KafkaMessage } from '../kafka/batch-consumer.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { decimalUnits } from '../money/decimal.ts';
import type { DetectionReader } from './detection-reader.ts';
import type { DetectionService } from './detection-service.ts';
import type { FeatureRunBaseline } from './named/inputs.ts';
import { detectRunaways, RUNAWAY_DEFAULTS } from './named/runaway.ts';
import { RunTally } from './run-tally.ts';

export interface RunawayStreamWatchOptions {
  readonly kafka: Kafka;
  /** usage.enriched.v1 */
  readonly topic: string;
  /** Prefix of this watcher's own consumer group (a fresh one per process: every replica sees every event). */
  readonly groupPrefix: string;
  readonly registry: AvroSchemaRegistry;
  readonly reader: DetectionReader;
  readonly detection: DetectionService;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly onFatal?: (err: Error) => void;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Feature baselines are read again after this long. */
const BASELINE_TTL = 10 * MINUTE;

/**
 * The runaway detector on the stream: the kill-switch case cannot wait for a
 * minute to close and be stored. Every enriched event is tallied per agent
 * run and session and minute as it passes; a run whose current minute already
 * holds more calls (or spend) than the runaway floor is judged at once by the
 * same detector the minute run uses, against its feature's usual runs (from
 * ClickHouse), and a runaway goes into the detection service's incidents —
 * so the minute run, which sees it again once stored, adds to the same
 * incident instead of paging twice. Each process reads the whole topic in its
 * own consumer group from the latest offset (a tally needs every partition);
 * what it misses while down, the minute run still catches.
 */
export class RunawayStreamWatch {
  readonly #options: RunawayStreamWatchOptions;
  readonly #consumer: BatchConsumer;
  readonly #tally = new RunTally();
  readonly #log: Logger;
  readonly #baselines = new Map<string, { at: number; baseline: FeatureRunBaseline | undefined }>();
  /** Run → the minute it was last reported for: one report per run and minute. */
  readonly #reported = new Map<string, number>();
  readonly #floorUnits = decimalUnits(RUNAWAY_DEFAULTS.minCostPerMinute);

  constructor(options: RunawayStreamWatchOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'runaway-stream' });
    this.#consumer = new BatchConsumer(
      options.kafka,
      { groupId: `${options.groupPrefix}-${randomUUID()}`, topic: options.topic, fromBeginning: false, handle: (messages) => this.#handle(messages), concurrency: 3, onFatal: options.onFatal },
      this.#log,
      options.metrics,
    );
  }

  get ready(): boolean {
    return this.#consumer.ready;
  }

  start(): Promise<void> {
    return this.#consumer.start();
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }

  async #handle(messages: readonly KafkaMessage[]): Promise<void> {
    for (const message of messages) {
      if (!message.value) continue;
      // Undecodable messages are the sink's to dead-letter; the watch only looks.
      const decoded = this.#options.registry.decode<EnrichedUsageEvent>(SCHEMA_NAMES.enrichedUsageEvent, message.value);
      if (!decoded.ok) continue;
      const { event, cost } = decoded.value;
      this.#tally.add({ agentRunId: event.agent_run_id ?? null, sessionId: event.session_id ?? null, feature: event.feature ?? '', team: event.team ?? '', user: event.user_id ?? '', occurredAt: event.occurred_at, costUnits: decimalUnits(cost) });
    }
    const now = Date.now();
    const busy = this.#tally.touched(now).filter((run) => {
      const latest = run.minutes.at(-1);
      // Only live runs: a loop that ended minutes ago (late or replayed events) is the minute run's to report.
      return latest !== undefined && latest.at >= now - 2 * MINUTE && (latest.calls >= RUNAWAY_DEFAULTS.minCalls || latest.costUnits >= this.#floorUnits) && this.#reported.get(`${run.dimension}/${run.run}`) !== latest.at;
    });
    if (busy.length === 0) return;
    const baselines = await this.#featureBaselines([...new Set(busy.map((run) => run.feature))], now);
    for (const run of busy) {
      const latest = run.minutes.at(-1)!.at;
      const window = { start: latest - HOUR + MINUTE, end: latest + MINUTE, baselineStart: now - DAY - HOUR, baselineEnd: now - HOUR };
      const findings = detectRunaways([run], baselines, window);
      if (findings.length === 0) continue;
      this.#reported.set(`${run.dimension}/${run.run}`, latest);
      const published = await this.#options.detection.report(findings, latest + MINUTE);
      this.#log.info({ run: run.run, published: published.map((alert) => alert.alert_id) }, 'runaway seen on the stream');
    }
    for (const [key, minute] of this.#reported) if (minute < now - HOUR) this.#reported.delete(key);
  }

  async #featureBaselines(features: readonly string[], now: number): Promise<Map<string, FeatureRunBaseline>> {
    const stale = features.filter((feature) => (this.#baselines.get(feature)?.at ?? -Infinity) < now - BASELINE_TTL);
    if (stale.length > 0) {
      const fresh = await this.#options.reader.featureRunBaselines(stale, now - DAY - HOUR, now - HOUR);
      for (const feature of stale) this.#baselines.set(feature, { at: now, baseline: fresh.get(feature) });
    }
    const known = new Map<string, FeatureRunBaseline>();
    for (const feature of features) {
      const baseline = this.#baselines.get(feature)?.baseline;
      if (baseline) known.set(feature, baseline);
    }
    return known;
  }
}
