import { resolve } from 'node:path';
import { validate, type Validated } from '@spendline/emitter/field-issues';
import { z } from 'zod';

/**
 * Every setting Spendline reads, parsed once from the environment by the
 * composition root (services/cli) and passed down as typed values. Nothing
 * else reads process.env. All problems are reported at once.
 */

// Coercion turns text such as "abc" into NaN, which the generic message would render as
// "must be a number, got number"; say it plainly instead.
const integer = (min: number, max: number) => z.coerce.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a number' : undefined) }).int('must be a whole number').min(min).max(max);
const list = z
  .string()
  .transform((text) => text.split(',').map((item) => item.trim()).filter((item) => item.length > 0));
const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a ClickHouse identifier: letters, digits and _ only');
const token = z.string().min(16, 'must be at least 16 characters: tokens guard cost data');

const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Local state of the embedded default: the local broker's log dirs, chDB data, a generated token. */
  SPENDLINE_DATA_DIR: z.string().default('.spendline'),

  /** Comma-separated bootstrap brokers. Unset: Spendline starts and uses its own local broker. */
  KAFKA_BROKERS: list.optional(),
  KAFKA_CLIENT_ID: z.string().min(1).default('spendline'),
  /** Prepended to every topic name, to share a cluster between installations (and isolate tests). */
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'must use letters, digits, ".", "_" or "-" only').default(''),
  /** Partitions of topics Spendline creates; the unit of consumer parallelism. */
  KAFKA_TOPIC_PARTITIONS: integer(1, 1024).default(3),
  /** Replication of topics Spendline creates. Unset: 3, or the broker count if the cluster is smaller. */
  KAFKA_REPLICATION_FACTOR: integer(1, 16).optional(),
  /** Client port of the local broker (its controller listens on the next port). */
  LOCAL_KAFKA_PORT: integer(1024, 65534).default(19092),

  /** http(s)://host:port of a ClickHouse server. Unset: embedded chDB in SPENDLINE_DATA_DIR/chdb. */
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier.default('spendline'),

  /** Where CLI commands that act on a running Spendline (reprice) send their request. Unset: http://127.0.0.1:PORT. */
  SPENDLINE_API_URL: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }).optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(8080),

  /** Bearer token with every role. Unset and no other token: `spendline start` generates one. */
  SPENDLINE_ADMIN_TOKEN: token.optional(),
  /** Comma-separated tokens allowed to read reports. */
  SPENDLINE_READER_TOKENS: list.pipe(z.array(token)).default([]),
  /**
   * Reader tokens that see only some owners' rows, as JSON:
   * [{"token": "...", "teams": ["search"], "tenants": ["acme"]}] (teams and/or tenants; both given: both must match).
   */
  SPENDLINE_SCOPED_READER_TOKENS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array such as [{"token": "...", "teams": ["search"]}]' });
        return z.NEVER;
      }
    })
    .pipe(
      z.array(
        z
          .strictObject({ token, teams: z.array(z.string().min(1)).min(1).optional(), tenants: z.array(z.string().min(1)).min(1).optional() })
          .refine((entry) => entry.teams !== undefined || entry.tenants !== undefined, 'must name teams, tenants or both'),
      ),
    )
    .default([]),
  /** Comma-separated tokens allowed to post events only (give these to gateways). */
  SPENDLINE_INGEST_TOKENS: list.pipe(z.array(token)).default([]),

  /** Most events one POST /v1/events may carry. */
  INGEST_MAX_BATCH_EVENTS: integer(1, 100_000).default(1000),
  /** Largest request body accepted, in bytes. */
  INGEST_MAX_BODY_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  /** How long a POST waits for Kafka's acknowledgement before answering 503. */
  INGEST_PRODUCE_TIMEOUT_MS: integer(100, 120_000).default(10_000),

  /** Price catalog file (spendline-price-catalog/1). Unset: the catalog bundled in services/pricing/catalog. */
  SPENDLINE_PRICE_CATALOG: z.string().min(1).optional(),
  /** Contracts file (negotiated prices, discounts, self-hosted models). Unset: list prices only. */
  SPENDLINE_CONTRACTS_FILE: z.string().min(1).optional(),

  /** Attribution policy file (JSON; see docs/attribution.md), reloaded when it changes. Unset: the built-in policy (normalization only). */
  SPENDLINE_ATTRIBUTION_POLICY: z.string().min(1).optional(),

  /** Shared-cost allocation rules for chargeback (JSON; see docs/reports.md, Chargeback), reloaded when they change. Unset: nothing shared. */
  SPENDLINE_ALLOCATION_FILE: z.string().min(1).optional(),

  /** Notification channels for alerts (JSON; see docs/budgets.md). Unset: alerts are recorded, nobody is told. */
  SPENDLINE_CHANNELS_FILE: z.string().min(1).optional(),
  /** Budgets as code (JSON {"budgets": [...]}), synced into the stored budgets when it changes. Unset: budgets come from the API only. */
  SPENDLINE_BUDGETS_FILE: z.string().min(1).optional(),
  /** When budgets are evaluated and their alerts published: a node-cron expression with seconds. */
  BUDGET_EVALUATION_SCHEDULE: z.string().min(1).default('*/10 * * * * *'),
  NOTIFIER_GROUP_ID: z.string().min(1).default('spendline-notifier'),
  /** Anomaly and drift detection settings (JSON; see docs/anomaly-detection.md). Unset: the defaults. */
  SPENDLINE_DETECTION_FILE: z.string().min(1).optional(),
  /** When the minute detectors run (node-cron with seconds): just after each minute closes and its events are stored. */
  DETECTION_MINUTE_SCHEDULE: z.string().min(1).default('35 * * * * *'),
  /** When the hourly detectors (hourly series, model mix, token and price drift) run. */
  DETECTION_HOURLY_SCHEDULE: z.string().min(1).default('0 2 * * * *'),
  /** Prefix of the runaway stream watch's consumer groups (each process gets its own group: every replica reads every partition). */
  DETECTION_STREAM_GROUP_PREFIX: z.string().min(1).default('spendline-runaway-watch'),

  /** The gateway's upstreams (JSON; see README.md, Gateway). Unset: no gateway routes (`spendline gateway` needs it). */
  SPENDLINE_GATEWAY_FILE: z.string().min(1).optional(),
  /** Usage events the gateway holds in memory while Kafka is slow; beyond them they go to the spill file. */
  GATEWAY_EVENT_BUFFER: integer(1, 10_000_000).default(10_000),
  /** Where the gateway's spill file lives (one gateway process per directory). Default: <SPENDLINE_DATA_DIR>/gateway-spill. */
  GATEWAY_SPILL_DIR: z.string().min(1).optional(),
  /** Largest request body the gateway forwards (prompts with images or long context are big). */
  GATEWAY_MAX_BODY_BYTES: integer(1024, 1024 * 1024 * 1024).default(64 * 1024 * 1024),

  /** How OTLP spans become usage events: attribute mappings, provider names, model-call operations (JSON; see docs/sending-usage.md, OpenTelemetry). Unset: the defaults. */
  SPENDLINE_OTLP_FILE: z.string().min(1).optional(),
  /**
   * Largest POST /v1/traces body, compressed and after decompression (gzip bombs). 20 MiB is the OpenTelemetry
   * Collector's default for its own OTLP/HTTP receiver (confighttp max_request_body_size), so what a collector
   * takes is taken here; the OTLP specification requires a limit and recommends 64 MiB, not 20.
   */
  OTLP_MAX_BODY_BYTES: integer(1024, 256 * 1024 * 1024).default(20 * 1024 * 1024),
  /** Largest POST /v1/callbacks/* body: LiteLLM batches up to 512 payloads of 2–6 KB each and drops a batch it cannot deliver, so this is larger than INGEST_MAX_BODY_BYTES. */
  CALLBACK_MAX_BODY_BYTES: integer(1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),

  ENRICHER_GROUP_ID: z.string().min(1).default('spendline-enricher'),
  SINK_GROUP_ID: z.string().min(1).default('spendline-sink'),
  /** Most rows in one ClickHouse insert. */
  SINK_MAX_BATCH_ROWS: integer(1, 1_000_000).default(10_000),
  /** Longest the sink waits to fill a batch before inserting what it has (bounds ingest-to-queryable delay). */
  SINK_MAX_WAIT_MS: integer(10, 60_000).default(500),
  /** Bytes the sink waits for before inserting early (bounds insert rate under load). */
  SINK_MIN_BATCH_BYTES: integer(1, 64 * 1024 * 1024).default(256 * 1024),
});

export interface KafkaConfig {
  /** null: use the local broker Spendline starts. */
  readonly brokers: readonly string[] | null;
  readonly clientId: string;
  readonly topicPrefix: string;
  readonly partitions: number;
  /** null: min(3, brokers in the cluster). */
  readonly replicationFactor: number | null;
  readonly localPort: number;
}

export interface ClickHouseConfig {
  /** null: embedded chDB at chdbPath. */
  readonly url: string | null;
  readonly username: string;
  readonly password: string;
  readonly database: string;
  readonly chdbPath: string;
}

/** Whose rows a scoped reader token may see; an absent list does not restrict. */
export interface DataScope {
  readonly teams?: readonly string[] | undefined;
  readonly tenants?: readonly string[] | undefined;
}

export interface AuthConfig {
  readonly adminToken: string | null;
  readonly readerTokens: readonly string[];
  /** Reader tokens limited to some teams or tenants. */
  readonly scopedReaderTokens?: readonly ({ readonly token: string } & DataScope)[];
  readonly ingestTokens: readonly string[];
}

export interface IngestConfig {
  readonly maxBatchEvents: number;
  readonly maxBodyBytes: number;
  /** Largest body of the gateway callback routes (their batches are bigger than POST /v1/events'). */
  readonly callbackMaxBodyBytes: number;
  readonly produceTimeoutMs: number;
}

export interface SinkConfig {
  readonly groupId: string;
  readonly maxBatchRows: number;
  readonly maxWaitMs: number;
  readonly minBatchBytes: number;
}

export interface PricingConfig {
  /** null: the bundled catalog. */
  readonly catalogFile: string | null;
  readonly contractsFile: string | null;
}

export interface SpendlineConfig {
  readonly logLevel: string;
  readonly pricing: PricingConfig;
  /** Attribution policy file; null: the built-in policy. */
  readonly attributionPolicyFile: string | null;
  /** Shared-cost allocation file; null: nothing is shared. */
  readonly allocationFile: string | null;
  readonly alerts: {
    /** Notification channels file; null: none. */
    readonly channelsFile: string | null;
    readonly evaluationSchedule: string;
    readonly notifierGroupId: string;
    /** Budgets file; null: none. */
    readonly budgetsFile: string | null;
  };
  readonly gateway: {
    /** Gateway file (upstreams); null: no gateway routes. */
    readonly file: string | null;
    readonly eventBuffer: number;
    readonly spillDir: string;
    readonly maxBodyBytes: number;
  };
  readonly otlp: {
    /** OTLP mapping file; null: the defaults. */
    readonly file: string | null;
    readonly maxBodyBytes: number;
  };
  readonly detection: {
    /** Detection settings file; null: the defaults. */
    readonly file: string | null;
    readonly minuteSchedule: string;
    readonly hourlySchedule: string;
    readonly streamGroupPrefix: string;
  };
  readonly dataDir: string;
  readonly kafka: KafkaConfig;
  readonly clickhouse: ClickHouseConfig;
  readonly http: { readonly host: string; readonly port: number };
  /** Base URL of a running Spendline API, for CLI commands. */
  readonly apiUrl: string;
  readonly auth: AuthConfig;
  readonly ingest: IngestConfig;
  readonly enricher: { readonly groupId: string };
  readonly sink: SinkConfig;
}

export function loadConfig(env: Record<string, string | undefined>): Validated<SpendlineConfig> {
  // Empty variables count as unset, the way shells and compose files leave them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = validate(envSchema, present);
  if (!parsed.ok) return parsed;
  const e = parsed.value;
  const dataDir = resolve(e.SPENDLINE_DATA_DIR);
  return {
    ok: true,
    value: {
      logLevel: e.LOG_LEVEL,
      dataDir,
      pricing: {
        catalogFile: e.SPENDLINE_PRICE_CATALOG ? resolve(e.SPENDLINE_PRICE_CATALOG) : null,
        contractsFile: e.SPENDLINE_CONTRACTS_FILE ? resolve(e.SPENDLINE_CONTRACTS_FILE) : null,
      },
      attributionPolicyFile: e.SPENDLINE_ATTRIBUTION_POLICY ? resolve(e.SPENDLINE_ATTRIBUTION_POLICY) : null,
      allocationFile: e.SPENDLINE_ALLOCATION_FILE ? resolve(e.SPENDLINE_ALLOCATION_FILE) : null,
      alerts: {
        channelsFile: e.SPENDLINE_CHANNELS_FILE ? resolve(e.SPENDLINE_CHANNELS_FILE) : null,
        evaluationSchedule: e.BUDGET_EVALUATION_SCHEDULE,
        notifierGroupId: e.NOTIFIER_GROUP_ID,
        budgetsFile: e.SPENDLINE_BUDGETS_FILE ? resolve(e.SPENDLINE_BUDGETS_FILE) : null,
      },
      gateway: {
        file: e.SPENDLINE_GATEWAY_FILE ? resolve(e.SPENDLINE_GATEWAY_FILE) : null,
        eventBuffer: e.GATEWAY_EVENT_BUFFER,
        spillDir: resolve(e.GATEWAY_SPILL_DIR ?? `${dataDir}/gateway-spill`),
        maxBodyBytes: e.GATEWAY_MAX_BODY_BYTES,
      },
      otlp: {
        file: e.SPENDLINE_OTLP_FILE ? resolve(e.SPENDLINE_OTLP_FILE) : null,
        maxBodyBytes: e.OTLP_MAX_BODY_BYTES,
      },
      detection: {
        file: e.SPENDLINE_DETECTION_FILE ? resolve(e.SPENDLINE_DETECTION_FILE) : null,
        minuteSchedule: e.DETECTION_MINUTE_SCHEDULE,
        hourlySchedule: e.DETECTION_HOURLY_SCHEDULE,
        streamGroupPrefix: e.DETECTION_STREAM_GROUP_PREFIX,
      },
      kafka: {
        brokers: e.KAFKA_BROKERS && e.KAFKA_BROKERS.length > 0 ? e.KAFKA_BROKERS : null,
        clientId: e.KAFKA_CLIENT_ID,
        topicPrefix: e.KAFKA_TOPIC_PREFIX,
        partitions: e.KAFKA_TOPIC_PARTITIONS,
        replicationFactor: e.KAFKA_REPLICATION_FACTOR ?? null,
        localPort: e.LOCAL_KAFKA_PORT,
      },
      clickhouse: {
        url: e.CLICKHOUSE_URL ?? null,
        username: e.CLICKHOUSE_USER,
        password: e.CLICKHOUSE_PASSWORD,
        database: e.CLICKHOUSE_DATABASE,
        chdbPath: resolve(dataDir, 'chdb'),
      },
      http: { host: e.HOST, port: e.PORT },
      apiUrl: (e.SPENDLINE_API_URL ?? `http://127.0.0.1:${e.PORT}`).replace(/\/+$/, ''),
      auth: {
        adminToken: e.SPENDLINE_ADMIN_TOKEN ?? null,
        readerTokens: e.SPENDLINE_READER_TOKENS,
        scopedReaderTokens: e.SPENDLINE_SCOPED_READER_TOKENS,
        ingestTokens: e.SPENDLINE_INGEST_TOKENS,
      },
      ingest: {
        maxBatchEvents: e.INGEST_MAX_BATCH_EVENTS,
        maxBodyBytes: e.INGEST_MAX_BODY_BYTES,
        callbackMaxBodyBytes: e.CALLBACK_MAX_BODY_BYTES,
        produceTimeoutMs: e.INGEST_PRODUCE_TIMEOUT_MS,
      },
      enricher: { groupId: e.ENRICHER_GROUP_ID },
      sink: {
        groupId: e.SINK_GROUP_ID,
        maxBatchRows: e.SINK_MAX_BATCH_ROWS,
        maxWaitMs: e.SINK_MAX_WAIT_MS,
        minBatchBytes: e.SINK_MIN_BATCH_BYTES,
      },
    },
  };
}
