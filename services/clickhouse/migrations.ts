import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../logging/logger.ts';
import { formatDateTime64, type ClickHouse } from './clickhouse.ts';

/**
 * Numbered migrations in sql/ (`NNN_what.sql`), applied in order at start and
 * recorded with a checksum in schema_migrations_v1. Each file is idempotent
 * DDL (IF NOT EXISTS), so two processes starting at once do no harm. A shipped
 * migration is never edited: a checksum mismatch stops the start.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly checksum: string;
  readonly statements: readonly string[];
}

const FILE_PATTERN = /^(\d{3})_([a-z0-9_]+)\.sql$/;

export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = FILE_PATTERN.exec(file);
      if (!match) throw new Error(`sql/${file}: migration files are named NNN_what.sql`);
      const text = readFileSync(join(dir, file), 'utf8');
      return {
        version: Number(match[1]),
        name: match[2]!,
        checksum: createHash('sha256').update(text).digest('hex'),
        statements: splitStatements(text),
      };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`sql/: expected migration ${index + 1}, found ${migration.version} (numbers must be consecutive)`);
  });
  return migrations;
}

/** Splits a file on semicolons that end a line; comment-only chunks are dropped. */
export function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

/**
 * Puts the database name into a migration's text. Bound parameters cannot be
 * used here: a view or materialized view would keep `{db:Identifier}` in its
 * stored definition and turn into a parameterised view. The name is a
 * configuration value checked to be a plain identifier (config.ts), and is
 * quoted as one.
 */
export function withDatabase(sql: string, database: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new Error(`not a plain identifier: ${database}`);
  return sql.replaceAll('{db:Identifier}', `\`${database}\``);
}

const appliedRow = z.object({ version: z.coerce.number(), checksum: z.string() });

export async function migrate(clickhouse: ClickHouse, migrations: readonly Migration[], log: Logger): Promise<number[]> {
  await clickhouse.command({ name: 'create_database', sql: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}' });
  await clickhouse.command({
    name: 'create_schema_migrations',
    sql: `CREATE TABLE IF NOT EXISTS {db:Identifier}.schema_migrations_v1
      (
        version    UInt32               COMMENT 'Migration number (the NNN of sql/NNN_what.sql)',
        name       String               COMMENT 'Migration file name without number and extension',
        checksum   String               COMMENT 'sha256 of the file as applied',
        applied_at DateTime64(3, 'UTC') COMMENT 'When it was applied'
      )
      ENGINE = ReplacingMergeTree(applied_at) ORDER BY version
      COMMENT 'Applied sql/ migrations'`,
  });
  const applied = new Map(
    (await clickhouse.query({
      name: 'applied_migrations',
      sql: 'SELECT version, checksum FROM {db:Identifier}.schema_migrations_v1 FINAL',
      schema: appliedRow,
    })).map((row) => [row.version, row.checksum]),
  );
  const newlyApplied: number[] = [];
  for (const migration of migrations) {
    const checksum = applied.get(migration.version);
    if (checksum !== undefined) {
      if (checksum !== migration.checksum) {
        throw new Error(`migration ${migration.version} (${migration.name}) changed after it was applied; add a new migration instead`);
      }
      continue;
    }
    for (const [index, sql] of migration.statements.entries()) {
      await clickhouse.command({ name: `migration_${migration.version}_${index + 1}`, sql: withDatabase(sql, clickhouse.database) });
    }
    await clickhouse.insert('record_migration', 'schema_migrations_v1', [
      { version: migration.version, name: migration.name, checksum: migration.checksum, applied_at: formatDateTime64(Date.now()) },
    ]);
    log.info({ version: migration.version, name: migration.name }, 'migration applied');
    newlyApplied.push(migration.version);
  }
  return newlyApplied;
}
