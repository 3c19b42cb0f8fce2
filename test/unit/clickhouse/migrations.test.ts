import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMigrations, splitStatements } from '../../../services/clickhouse/migrations.ts';
import { SQL_DIR } from '../../../services/project-paths.ts';

describe('splitStatements', () => {
  it.each<[string, string, string[]]>([
    ['one statement', 'CREATE TABLE a (x UInt8) ENGINE = Memory;\n', ['CREATE TABLE a (x UInt8) ENGINE = Memory']],
    ['no final semicolon', 'SELECT 1', ['SELECT 1']],
    ['a final semicolon without newline', 'SELECT 1;', ['SELECT 1']],
    ['two statements', 'SELECT 1;\nSELECT 2;\n', ['SELECT 1', 'SELECT 2']],
    ['blanks and CRLF after the semicolon', 'SELECT 1; \t\r\nSELECT 2;\r\n', ['SELECT 1', 'SELECT 2']],
    ['a statement over several lines', 'CREATE TABLE a\n(\n  x UInt8\n)\nENGINE = Memory;\n', ['CREATE TABLE a\n(\n  x UInt8\n)\nENGINE = Memory']],
    ['a semicolon inside a line', "SELECT ';' AS s, 1;\n", ["SELECT ';' AS s, 1"]],
    ['two statements on one line', 'SELECT 1; SELECT 2;\n', ['SELECT 1; SELECT 2']],
    ['a comment-only chunk', '-- header\n-- more header;\nSELECT 1;\n-- trailer\n', ['SELECT 1']],
    ['comments leading a statement', '-- why\nSELECT 1;\n', ['-- why\nSELECT 1']],
    ['blank chunks', ';\n\n;\n  \n', []],
    ['an empty file', '', []],
  ])('splits %s', (_what, text, statements) => {
    expect(splitStatements(text)).toEqual(statements);
  });
});

describe('readMigrations', () => {
  let dir: string;
  const directory = (files: Record<string, string>) => {
    dir = mkdtempSync(join(tmpdir(), 'spendline-sql-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads files in version order with names, statements and a sha256 of the text', () => {
    const first = '-- first\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n';
    const second = 'CREATE TABLE b (x UInt8) ENGINE = Memory;\nCREATE TABLE c (x UInt8) ENGINE = Memory;\n';
    const migrations = readMigrations(directory({ '002_two_tables.sql': second, '001_first_table.sql': first, 'README.md': 'not a migration' }));
    expect(migrations).toEqual([
      {
        version: 1,
        name: 'first_table',
        checksum: createHash('sha256').update(first).digest('hex'),
        statements: ['-- first\nCREATE TABLE a (x UInt8) ENGINE = Memory'],
      },
      {
        version: 2,
        name: 'two_tables',
        checksum: createHash('sha256').update(second).digest('hex'),
        statements: ['CREATE TABLE b (x UInt8) ENGINE = Memory', 'CREATE TABLE c (x UInt8) ENGINE = Memory'],
      },
    ]);
  });

  it('keeps a checksum stable for the same text and changes it for any edit', () => {
    const text = 'CREATE TABLE a (x UInt8) ENGINE = Memory;\n';
    const [once] = readMigrations(directory({ '001_a.sql': text }));
    rmSync(dir, { recursive: true, force: true });
    const [again] = readMigrations(directory({ '001_a.sql': text }));
    rmSync(dir, { recursive: true, force: true });
    const [edited] = readMigrations(directory({ '001_a.sql': `${text}\n` }));
    expect(once!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(again!.checksum).toBe(once!.checksum);
    expect(edited!.checksum).not.toBe(once!.checksum);
  });

  it.each(['1_a.sql', '0001_a.sql', '001-a.sql', '001_Add_Table.sql', '001_.sql', '001_a b.sql', 'a_001.sql'])(
    'refuses a .sql file not named NNN_what.sql: %s',
    (name) => {
      expect(() => readMigrations(directory({ [name]: 'SELECT 1;\n' }))).toThrow(`sql/${name}: migration files are named NNN_what.sql`);
    },
  );

  it.each([
    [['002_b.sql'], 'expected migration 1, found 2'],
    [['001_a.sql', '003_c.sql'], 'expected migration 2, found 3'],
    [['001_a.sql', '001_b.sql'], 'expected migration 2, found 1'],
  ])('requires consecutive numbers from 001: %j', (names, message) => {
    expect(() => readMigrations(directory(Object.fromEntries(names.map((name) => [name, 'SELECT 1;\n']))))).toThrow(message);
  });

  it('reads an empty directory as no migrations', () => {
    expect(readMigrations(directory({}))).toEqual([]);
  });
});

describe('readMigrations of the real sql/ directory', () => {
  it('reads consecutive migrations whose statements are idempotent DDL on versioned tables', () => {
    const migrations = readMigrations(SQL_DIR);
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations[0]).toMatchObject({ version: 1, name: 'usage_events_v1' });
    expect(migrations[0]!.checksum).toBe(createHash('sha256').update(readFileSync(join(SQL_DIR, '001_usage_events_v1.sql'))).digest('hex'));
    for (const migration of migrations) {
      expect(migration.statements.length, migration.name).toBeGreaterThan(0);
      for (const statement of migration.statements) {
        expect(statement, migration.name).toMatch(/\bIF (?:NOT )?EXISTS\b|\bCREATE OR REPLACE VIEW\b/);
        expect(statement, migration.name).toMatch(/\{db:Identifier\}\.\w+_v\d+\b/);
        expect(statement.endsWith(';'), migration.name).toBe(false);
      }
    }
  });
});
