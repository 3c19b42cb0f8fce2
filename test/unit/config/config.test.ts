import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type SpendlineConfig } from '../../../services/config/config.ts';

const TOKEN_A = 'aaaaaaaaaaaaaaaa';
const TOKEN_B = 'bbbbbbbbbbbbbbbbbbbb';

function loaded(env: Record<string, string | undefined>): SpendlineConfig {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issuesOf(env: Record<string, string | undefined>) {
  const result = loadConfig(env);
  return result.ok ? [] : result.issues;
}

describe('loadConfig', () => {
  it('defaults every setting for an empty environment: local broker, embedded chDB, no tokens', () => {
    expect(loaded({})).toEqual({
      logLevel: 'info',
      dataDir: resolve('.spendline'),
      pricing: { catalogFile: null, contractsFile: null },
      attributionPolicyFile: null,
      allocationFile: null,
      alerts: { channelsFile: null, evaluationSchedule: '*/10 * * * * *', notifierGroupId: 'spendline-notifier', budgetsFile: null },
      gateway: { file: null, eventBuffer: 10_000, spillDir: expect.stringMatching(/\.spendline\/gateway-spill$/), maxBodyBytes: 64 * 1024 * 1024 },
      otlp: { file: null, maxBodyBytes: 20 * 1024 * 1024 },
      detection: { file: null, minuteSchedule: '35 * * * * *', hourlySchedule: '0 2 * * * *', streamGroupPrefix: 'spendline-runaway-watch' },
      apiUrl: 'http://127.0.0.1:8080',
      kafka: { brokers: null, clientId: 'spendline', topicPrefix: '', partitions: 3, replicationFactor: null, localPort: 19092 },
      clickhouse: { url: null, username: 'default', password: '', database: 'spendline', chdbPath: resolve('.spendline', 'chdb') },
      http: { host: '127.0.0.1', port: 8080 },
      auth: { adminToken: null, readerTokens: [], scopedReaderTokens: [], ingestTokens: [] },
      ingest: { maxBatchEvents: 1000, maxBodyBytes: 1024 * 1024, callbackMaxBodyBytes: 16 * 1024 * 1024, produceTimeoutMs: 10_000 },
      enricher: { groupId: 'spendline-enricher' },
      sink: { groupId: 'spendline-sink', maxBatchRows: 10_000, maxWaitMs: 500, minBatchBytes: 256 * 1024 },
    });
  });

  it('reads every setting given, as numbers and lists where they are', () => {
    const config = loaded({
      LOG_LEVEL: 'debug',
      SPENDLINE_DATA_DIR: '/var/lib/spendline',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      KAFKA_CLIENT_ID: 'spendline-test',
      KAFKA_TOPIC_PREFIX: 'test-1.',
      KAFKA_TOPIC_PARTITIONS: '12',
      KAFKA_REPLICATION_FACTOR: '2',
      LOCAL_KAFKA_PORT: '29092',
      CLICKHOUSE_URL: 'https://ch.example.com:8443',
      CLICKHOUSE_USER: 'writer',
      CLICKHOUSE_PASSWORD: 'secret',
      CLICKHOUSE_DATABASE: 'spendline_test_1',
      HOST: '0.0.0.0',
      PORT: '0',
      SPENDLINE_ADMIN_TOKEN: TOKEN_A,
      SPENDLINE_READER_TOKENS: TOKEN_B,
      SPENDLINE_INGEST_TOKENS: `${TOKEN_A},${TOKEN_B}`,
      INGEST_MAX_BATCH_EVENTS: '100000',
      INGEST_MAX_BODY_BYTES: '1024',
      CALLBACK_MAX_BODY_BYTES: '2048',
      INGEST_PRODUCE_TIMEOUT_MS: '100',
      ENRICHER_GROUP_ID: 'e',
      SINK_GROUP_ID: 's',
      SINK_MAX_BATCH_ROWS: '1',
      SINK_MAX_WAIT_MS: '60000',
      SINK_MIN_BATCH_BYTES: '1',
      SPENDLINE_PRICE_CATALOG: '/etc/spendline/catalog.json',
      SPENDLINE_CONTRACTS_FILE: '/etc/spendline/contracts.json',
      SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([{ token: TOKEN_B, teams: ['search'] }]),
      SPENDLINE_ATTRIBUTION_POLICY: '/etc/spendline/attribution.json',
      SPENDLINE_ALLOCATION_FILE: '/etc/spendline/allocation.json',
      SPENDLINE_DETECTION_FILE: '/etc/spendline/detection.json',
      SPENDLINE_OTLP_FILE: '/etc/spendline/otlp.json',
      OTLP_MAX_BODY_BYTES: '1048576',
      DETECTION_MINUTE_SCHEDULE: '20 * * * * *',
      DETECTION_HOURLY_SCHEDULE: '0 7 * * * *',
    });
    expect(config).toEqual({
      logLevel: 'debug',
      dataDir: '/var/lib/spendline',
      pricing: { catalogFile: '/etc/spendline/catalog.json', contractsFile: '/etc/spendline/contracts.json' },
      attributionPolicyFile: '/etc/spendline/attribution.json',
      allocationFile: '/etc/spendline/allocation.json',
      alerts: { channelsFile: null, evaluationSchedule: '*/10 * * * * *', notifierGroupId: 'spendline-notifier', budgetsFile: null },
      gateway: { file: null, eventBuffer: 10_000, spillDir: '/var/lib/spendline/gateway-spill', maxBodyBytes: 64 * 1024 * 1024 },
      otlp: { file: '/etc/spendline/otlp.json', maxBodyBytes: 1024 * 1024 },
      detection: { file: '/etc/spendline/detection.json', minuteSchedule: '20 * * * * *', hourlySchedule: '0 7 * * * *', streamGroupPrefix: 'spendline-runaway-watch' },
      apiUrl: 'http://127.0.0.1:0',
      kafka: { brokers: ['k1:9092', 'k2:9092'], clientId: 'spendline-test', topicPrefix: 'test-1.', partitions: 12, replicationFactor: 2, localPort: 29092 },
      clickhouse: { url: 'https://ch.example.com:8443', username: 'writer', password: 'secret', database: 'spendline_test_1', chdbPath: '/var/lib/spendline/chdb' },
      http: { host: '0.0.0.0', port: 0 },
      auth: { adminToken: TOKEN_A, readerTokens: [TOKEN_B], scopedReaderTokens: [{ token: TOKEN_B, teams: ['search'] }], ingestTokens: [TOKEN_A, TOKEN_B] },
      ingest: { maxBatchEvents: 100_000, maxBodyBytes: 1024, callbackMaxBodyBytes: 2048, produceTimeoutMs: 100 },
      enricher: { groupId: 'e' },
      sink: { groupId: 's', maxBatchRows: 1, maxWaitMs: 60_000, minBatchBytes: 1 },
    });
  });

  it.each([
    // [KAFKA_BROKERS, brokers]
    [' k1:9092 , ,k2:9092,', ['k1:9092', 'k2:9092']],
    ['k1:9092', ['k1:9092']],
    [' , ,', null],
  ])('splits the list %j into %j, dropping blanks', (text, brokers) => {
    expect(loaded({ KAFKA_BROKERS: text }).kafka.brokers).toEqual(brokers);
  });

  it('treats empty variables as unset, the way compose files leave them', () => {
    const config = loaded({ PORT: '', KAFKA_BROKERS: '', SPENDLINE_ADMIN_TOKEN: '', CLICKHOUSE_URL: '', LOG_LEVEL: '', SPENDLINE_READER_TOKENS: '', NOT_OURS: undefined });
    expect(config.http.port).toBe(8080);
    expect(config.kafka.brokers).toBeNull();
    expect(config.auth).toEqual({ adminToken: null, readerTokens: [], scopedReaderTokens: [], ingestTokens: [] });
    expect(config.clickhouse.url).toBeNull();
    expect(config.logLevel).toBe('info');
  });

  it('ignores variables it does not define', () => {
    expect(loaded({ PATH: '/usr/bin', HOME: '/root' })).toEqual(loaded({}));
  });

  it('reports every problem at once, each under its variable name', () => {
    expect(
      issuesOf({
        LOG_LEVEL: 'loud',
        KAFKA_TOPIC_PREFIX: 'has space',
        KAFKA_TOPIC_PARTITIONS: '0',
        CLICKHOUSE_URL: 'ftp://ch.example.com',
        CLICKHOUSE_DATABASE: 'spend-line',
        PORT: 'http',
        SPENDLINE_ADMIN_TOKEN: 'short',
        SPENDLINE_READER_TOKENS: `${TOKEN_A},too-short`,
        SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([{ token: TOKEN_A }, { token: 'short', teams: ['a'] }]),
        SINK_MAX_WAIT_MS: '1.5',
      }),
    ).toEqual([
      { path: 'LOG_LEVEL', message: expect.stringContaining('expected one of') },
      { path: 'KAFKA_TOPIC_PREFIX', message: 'must use letters, digits, ".", "_" or "-" only' },
      { path: 'KAFKA_TOPIC_PARTITIONS', message: expect.stringContaining('>=1') },
      { path: 'CLICKHOUSE_URL', message: 'must be an http:// or https:// URL' },
      { path: 'CLICKHOUSE_DATABASE', message: 'must be a ClickHouse identifier: letters, digits and _ only' },
      { path: 'PORT', message: 'must be a number' },
      { path: 'SPENDLINE_ADMIN_TOKEN', message: 'must be at least 16 characters: tokens guard cost data' },
      { path: 'SPENDLINE_READER_TOKENS[1]', message: 'must be at least 16 characters: tokens guard cost data' },
      { path: 'SPENDLINE_SCOPED_READER_TOKENS[0]', message: 'must name teams, tenants or both' },
      { path: 'SPENDLINE_SCOPED_READER_TOKENS[1].token', message: 'must be at least 16 characters: tokens guard cost data' },
      { path: 'SINK_MAX_WAIT_MS', message: 'must be a whole number' },
    ]);
  });

  it('says how to write scoped reader tokens when the variable is not JSON', () => {
    expect(issuesOf({ SPENDLINE_SCOPED_READER_TOKENS: 'token=search' })).toEqual([
      { path: 'SPENDLINE_SCOPED_READER_TOKENS', message: 'must be a JSON array such as [{"token": "...", "teams": ["search"]}]' },
    ]);
  });

  it.each([
    ['PORT', '65536', '<=65535'],
    ['PORT', '-1', '>=0'],
    ['LOCAL_KAFKA_PORT', '1023', '>=1024'],
    ['KAFKA_REPLICATION_FACTOR', '17', '<=16'],
    ['INGEST_MAX_BATCH_EVENTS', '0', '>=1'],
    ['INGEST_MAX_BODY_BYTES', '1023', '>=1024'],
    ['SINK_MAX_WAIT_MS', '9', '>=10'],
  ])('bounds %s: %s is out of range (%s)', (name, value, bound) => {
    expect(issuesOf({ [name]: value })).toEqual([{ path: name, message: expect.stringContaining(bound) }]);
  });

  it('requires tokens of at least 16 characters, and accepts exactly 16', () => {
    expect(issuesOf({ SPENDLINE_INGEST_TOKENS: 'x'.repeat(15) })).toEqual([
      { path: 'SPENDLINE_INGEST_TOKENS[0]', message: 'must be at least 16 characters: tokens guard cost data' },
    ]);
    expect(loaded({ SPENDLINE_INGEST_TOKENS: 'x'.repeat(16) }).auth.ingestTokens).toEqual(['x'.repeat(16)]);
  });
});
