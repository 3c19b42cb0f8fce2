import { csvRecord, type CsvValue } from './csv.ts';

/**
 * The two shapes an export is written in. CSV has a header record and one
 * record per row, nested values (tags, SKU price details) as JSON text; NDJSON
 * has one JSON object per line, nested values as objects. Money and other
 * exact decimals are strings in both.
 */

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

/** A row to export: text, whole numbers, nested key-value objects, or null for "absent". */
export type ExportValue = string | number | null | Readonly<Record<string, unknown>>;
export type ExportRow = Readonly<Record<string, ExportValue>>;

export interface RowEncoder {
  /** What the file starts with (CSV: the header record; NDJSON: nothing). */
  readonly header: string;
  /** Rows as text, each ending its line. */
  encode(rows: readonly ExportRow[]): string;
}

export function rowEncoder(format: ExportFormat, columns: readonly string[]): RowEncoder {
  if (format === 'ndjson') {
    return {
      header: '',
      encode: (rows) => rows.map((row) => `${JSON.stringify(Object.fromEntries(columns.map((column) => [column, row[column] ?? null])))}\n`).join(''),
    };
  }
  return {
    header: csvRecord(columns),
    encode: (rows) => rows.map((row) => csvRecord(columns.map((column) => csvValue(row[column] ?? null)))).join(''),
  };
}

function csvValue(value: ExportValue): CsvValue {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/** "2026-11-01T00:00:00.000Z" → "20261101T000000Z": an instant fit for a file name. */
export function fileNameTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}
