import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';

/** The topics of the usage pipeline; names carry the schema's major version. */
export interface Topics {
  readonly raw: string;
  readonly enriched: string;
  readonly dlq: string;
  /** Alert state changes (budgets now, detectors later), keyed by alert id. */
  readonly alerts: string;
  /** Where each budget stands, compacted: a gateway reads the latest per budget instead of polling. */
  readonly budgetStatus: string;
}

export function topicNames(prefix: string): Topics {
  return {
    raw: `${prefix}usage.raw.v1`,
    enriched: `${prefix}usage.enriched.v1`,
    dlq: `${prefix}usage.dlq.v1`,
    alerts: `${prefix}alerts.v1`,
    budgetStatus: `${prefix}budget.status.v1`,
  };
}

export interface TopicLayout {
  readonly partitions: number;
  /** null: 3, or every broker when the cluster has fewer. */
  readonly replicationFactor: number | null;
}

/** Tries before ensureTopics gives up on transient broker errors. */
const ENSURE_ATTEMPTS = 5;

/**
 * Creates the pipeline topics that do not exist yet; existing topics are left
 * as they are (partitions are never changed behind an operator's back).
 * Keys are event ids, so retention-based deletion is right; the DLQ keeps
 * messages for 30 days so someone can look at them; budget statuses are
 * compacted (the latest per budget stays). A broker may answer "does
 * not host this topic-partition" while a topic it just created propagates:
 * such retriable errors are tried again (only what is still missing is created).
 */
export async function ensureTopics(admin: Admin, topics: Topics, layout: TopicLayout, retryDelayMs = 500): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await createMissingTopics(admin, topics, layout);
    } catch (err) {
      if (attempt >= ENSURE_ATTEMPTS || (err as { retriable?: unknown }).retriable !== true) throw err;
      await sleep(retryDelayMs * attempt);
    }
  }
}

async function createMissingTopics(admin: Admin, topics: Topics, layout: TopicLayout): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const dayMs = 24 * 60 * 60 * 1000;
  const wanted: { topic: string; retentionMs: number; compact?: boolean }[] = [
    { topic: topics.raw, retentionMs: 7 * dayMs },
    { topic: topics.enriched, retentionMs: 7 * dayMs },
    { topic: topics.dlq, retentionMs: 30 * dayMs },
    { topic: topics.alerts, retentionMs: 30 * dayMs },
    { topic: topics.budgetStatus, retentionMs: 0, compact: true },
  ].filter(({ topic }) => !existing.has(topic));
  if (wanted.length === 0) return [];
  // kafkajs speaks CreateTopics v3, which predates "-1 = broker default", so the factor is chosen here.
  const replicationFactor = layout.replicationFactor ?? Math.min(3, (await admin.describeCluster()).brokers.length);
  await admin.createTopics({
    waitForLeaders: true,
    topics: wanted.map(({ topic, retentionMs, compact }) => ({
      topic,
      numPartitions: layout.partitions,
      replicationFactor,
      configEntries: [
        // A compacted topic keeps the latest message per key for good; the others expire.
        ...(compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [{ name: 'retention.ms', value: String(retentionMs) }]),
        // With acks=all, a write is durable only once it reached this many replicas.
        ...(replicationFactor >= 3 ? [{ name: 'min.insync.replicas', value: '2' }] : []),
      ],
    })),
  });
  return wanted.map(({ topic }) => topic);
}
