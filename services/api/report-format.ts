import type { FastifyReply, FastifyRequest } from 'fastify';
import { csvRecord } from '../exports/csv.ts';
import { HttpError } from './http-errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The report can also be had as CSV (?format=csv): which arrays of the JSON answer are its rows, and the file's name. */
    csv?: { readonly rows: string | readonly string[]; readonly name: string };
  }
}

/**
 * `?format=csv` on any report: the same answer as a CSV file of its rows
 * (RFC 4180; one header record; nested values as JSON text; null as an empty
 * field), so a report opens in a spreadsheet as it is. A report with several
 * row arrays (movers: increases, decreases) gets a `section` column.
 */
export async function reportAsCsv(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  const csv = request.routeOptions.config.csv;
  if (!csv || requestedFormat(request) !== 'csv' || reply.statusCode >= 400 || typeof payload !== 'object' || payload === null) return payload;
  const body = payload as Record<string, unknown>;
  const sections = typeof csv.rows === 'string' ? [csv.rows] : csv.rows;
  const rows = sections.flatMap((section) =>
    ((body[section] as Record<string, unknown>[] | undefined) ?? []).map((row) => (sections.length > 1 ? { section, ...row } : row)),
  );
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (value === null || value === undefined ? null : typeof value === 'object' ? JSON.stringify(value) : typeof value === 'number' ? value : String(value));
  // The text is the body as it is, not a JSON string.
  reply.serializer((text) => text as string);
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="${csv.name}.csv"`);
  return csvRecord(columns) + rows.map((row) => csvRecord(columns.map((column) => cell(row[column])))).join('');
}

/** Refuses an unknown ?format on a report before it runs (a hook, so the one error handler answers). */
export function checkReportFormat(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  if (!request.routeOptions.config.csv) return done();
  const format = requestedFormat(request);
  if (format !== undefined && format !== 'json' && format !== 'csv') {
    return done(new HttpError(400, 'invalid_request', 'invalid report parameters', { issues: [{ path: 'format', message: 'must be json or csv' }] }));
  }
  done();
}

function requestedFormat(request: FastifyRequest): unknown {
  return (request.query as Record<string, unknown> | undefined)?.['format'];
}
