import { randomUUID } from 'node:crypto';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { mkdirSync } from 'node:fs';
import type { z } from 'zod';
import type { ClickHouseConfig } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * The one way Spendline talks to ClickHouse, embedded (chDB, in process) or a
 * server over HTTP: same SQL, same code. Every statement has a name for the
 * logs, binds its values as `{name:Type}` parameters (never interpolated), and
 * refers to the configured database as `{db:Identifier}`. Rows coming back are
 * checked with a zod schema.
 */

/**
 * Applied to every statement. 64-bit integers and decimals come back as JSON
 * strings so counts and money stay exact. (chDB applies settings with SET on
 * its single session, so they must be the same for every statement.)
 */
const SESSION_SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
} as const;

export type QueryParams = Record<string, unknown>;

export interface QuerySpec<S extends z.ZodType> {
  /** Stable name of the statement, for logs and metrics. */
  readonly name: string;
  readonly sql: string;
  readonly params?: QueryParams;
  readonly schema: S;
}

export interface CommandSpec {
  readonly name: string;
  readonly sql: string;
  readonly params?: QueryParams;
}

export class ClickHouse {
  readonly database: string;
  readonly embedded: boolean;
  readonly #client: ClickHouseClient;
  readonly #log: Logger;

  constructor(client: ClickHouseClient, options: { database: string; embedded: boolean }, log: Logger) {
    this.#client = client;
    this.database = options.database;
    this.embedded = options.embedded;
    this.#log = log;
  }

  /** Runs a SELECT and validates every row; a row that does not match is a programming error and throws. */
  async query<S extends z.ZodType>(spec: QuerySpec<S>): Promise<z.output<S>[]> {
    const queryId = randomUUID();
    const started = performance.now();
    try {
      const result = await this.#client.query({
        query: spec.sql,
        query_params: { db: this.database, ...spec.params },
        query_id: queryId,
        format: 'JSONEachRow',
      });
      const rows = await result.json<unknown>();
      this.#log.debug({ query: spec.name, queryId, rows: rows.length, ms: elapsed(started) }, 'query done');
      return rows.map((row, index) => {
        const parsed = spec.schema.safeParse(row);
        if (!parsed.success) throw new Error(`query ${spec.name} returned row ${index} that does not match its schema: ${parsed.error.message}`);
        return parsed.data;
      });
    } catch (err) {
      this.#log.error({ err, query: spec.name, queryId }, 'query failed');
      throw err;
    }
  }

  /** Runs DDL or a statement without a result. */
  async command(spec: CommandSpec): Promise<void> {
    const queryId = randomUUID();
    try {
      await this.#client.command({ query: spec.sql, query_params: { db: this.database, ...spec.params }, query_id: queryId });
      this.#log.debug({ command: spec.name, queryId }, 'command done');
    } catch (err) {
      this.#log.error({ err, command: spec.name, queryId }, 'command failed');
      throw err;
    }
  }

  /** Inserts rows as JSONEachRow into a table of the configured database. */
  async insert(name: string, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
    if (rows.length === 0) return;
    const queryId = randomUUID();
    try {
      await this.#client.insert({
        table: `${this.database}.${table}`,
        values: rows as Record<string, unknown>[],
        format: 'JSONEachRow',
        query_id: queryId,
      });
    } catch (err) {
      this.#log.warn({ err, insert: name, queryId, rows: rows.length }, 'insert failed');
      throw err;
    }
    this.#log.debug({ insert: name, queryId, rows: rows.length }, 'insert done');
  }

  async ping(): Promise<boolean> {
    const result = await this.#client.ping();
    return result.success;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

/**
 * Embedded chDB when no URL is configured, else an HTTP client for a ClickHouse
 * server. chDB is loaded only when used: its native engine is large and a
 * server deployment should not need it.
 */
export async function createClickHouse(config: ClickHouseConfig, log: Logger): Promise<ClickHouse> {
  const chLog = log.child({ component: 'clickhouse' });
  if (config.url === null) {
    const { createChdbConnection } = await import('chdb/connection');
    mkdirSync(config.chdbPath, { recursive: true });
    // chdb declares the Connection contract from @clickhouse/client-common; the client bundles
    // its own copy of the same interface, so the two types differ only by origin.
    const connection = createChdbConnection({ path: config.chdbPath }) as unknown as NonNullable<ClickHouseClientConfigOptions['connection']>;
    const client = createClient({
      connection,
      clickhouse_settings: SESSION_SETTINGS,
    });
    return new ClickHouse(client, { database: config.database, embedded: true }, chLog);
  }
  const client = createClient({
    url: config.url,
    username: config.username,
    password: config.password,
    clickhouse_settings: SESSION_SETTINGS,
    request_timeout: 60_000,
    // Large bound arrays (the sink's event_id lookups) go in the body, not an over-long URL.
    use_multipart_params_auto: true,
  });
  return new ClickHouse(client, { database: config.database, embedded: false }, chLog);
}

/**
 * ClickHouse error codes meaning "this data cannot be written", as opposed to
 * "the server cannot write right now". The sink sends rows failing with these
 * to the DLQ; every other failure is retried.
 */
const DATA_ERROR_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '321', // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  '407', // DECIMAL_OVERFLOW
]);

export function isDataError(err: unknown): boolean {
  // Checked by shape: chDB raises @clickhouse/client-common's ClickHouseError, the HTTP client its bundled twin.
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && DATA_ERROR_CODES.has(code);
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** Epoch milliseconds as a ClickHouse DateTime64(3, 'UTC') literal ("2026-11-23 10:15:00.123"). */
export function formatDateTime64(epochMs: number): string {
  return new Date(epochMs).toISOString().replace('T', ' ').replace('Z', '');
}

/** The inverse of formatDateTime64: a UTC DateTime/DateTime64 as ClickHouse writes it ("2026-11-02 10:00:00.000") in RFC 3339 ("2026-11-02T10:00:00.000Z"). */
export function clickHouseTimeToIso(stored: string): string {
  return `${stored.replace(' ', 'T')}Z`;
}

/** A UTC DateTime/DateTime64 as ClickHouse writes it, in epoch ms. */
export function parseClickHouseTime(stored: string): number {
  return Date.parse(clickHouseTimeToIso(stored));
}
