import type { Readable } from 'node:stream';
import { validate } from '@spendline/emitter/field-issues';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { PolicySource } from '../attribution/policy-source.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { eventExportPages, EVENT_EXPORT_COLUMNS } from '../exports/event-export.ts';
import { CONTENT_TYPES, EXPORT_FORMATS, fileNameTime, type ExportFormat } from '../exports/export-format.ts';
import { exportStream } from '../exports/export-stream.ts';
import { DEFAULT_EXPORT_LIMITS, planExport, type ExportLimits, type ExportRange } from '../exports/export-plan.ts';
import { focusColumns, FOCUS_VERSIONS } from '../exports/focus.ts';
import { focusExportPages } from '../exports/focus-export.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';
import { environmentParameter, scopeCondition } from './environment-scope.ts';
import { invalidRequest } from './http-errors.ts';
import { withAccess } from './row-access.ts';

/**
 * Exports (role reader), streamed: GET /v1/exports/events (every usage event
 * in force, one row each) and GET /v1/exports/focus (FOCUS rows per day, owner
 * and SKU). Both take the reports' environment scope and the caller's row
 * access, read ClickHouse a bounded slice at a time, and write to the reply
 * only as fast as the client reads (see services/exports/).
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** The parameters both exports take. */
const exportParameters = {
  from: rfc3339Timestamp,
  to: rfc3339Timestamp,
  format: z.enum(EXPORT_FORMATS, { message: `must be one of ${EXPORT_FORMATS.join(', ')}` }).default('csv'),
  environment: environmentParameter,
};

/** An ordered range of at most `maxRangeDays` (a failed end is reported by its own check alone). */
function withRangeChecks<S extends z.ZodType<{ from: number; to: number }>>(schema: S, maxRangeDays: number): S {
  return schema
    .refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' })
    .refine((range) => !(range.to - range.from > maxRangeDays * DAY_MS), {
      path: ['to'],
      message: `must be at most ${maxRangeDays} days after from; export a longer period in parts`,
    });
}

export interface ExportRouteOptions {
  readonly clickhouse: ClickHouse;
  readonly policy: PolicySource;
  /** Read and chunk sizes and the longest range (defaults in export-plan.ts; tests shrink them). */
  readonly limits?: Partial<ExportLimits>;
}

export function registerExportRoutes(app: FastifyInstance, deps: ExportRouteOptions): void {
  const limits: ExportLimits = { ...DEFAULT_EXPORT_LIMITS, ...deps.limits };
  const eventsQuery = withRangeChecks(z.object(exportParameters), limits.maxRangeDays);
  const focusQuery = withRangeChecks(
    z.object({ ...exportParameters, focus_version: z.enum(FOCUS_VERSIONS, { message: `must be one of ${FOCUS_VERSIONS.join(', ')}` }).default('1.2') }),
    limits.maxRangeDays,
  );

  const file = { 200: 'The file, streamed: CSV (text/csv, a header record) or NDJSON (application/x-ndjson)' };
  const eventsDocs = {
    tag: 'exports',
    summary: 'Every usage event in force over a range, one row each, as a streamed CSV or NDJSON file',
    description: `A repriced or re-attributed event appears once, as it stands now. Money as exact decimal strings (USD), times in RFC 3339 UTC. Ranges up to ${limits.maxRangeDays} days.`,
    query: eventsQuery,
    responses: file,
  };
  const focusDocs = {
    tag: 'exports',
    summary: 'FOCUS 1.2 or 1.3 cost and usage rows per UTC day, owner, model and token SKU, as a streamed CSV or NDJSON file',
    description: 'FinOps Open Cost and Usage Specification rows: exact costs summed per SKU (input, cached input read, cache write, audio, output, request fee), owner dimensions as Tags and x_ columns.',
    query: focusQuery,
    responses: file,
  };

  app.get('/v1/exports/events', { config: { role: 'reader', docs: eventsDocs } }, async (request, reply) => {
    const query = validate(eventsQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid export parameters');
    const { from, to, format } = query.value;
    const range: ExportRange = { from, to, scope: withAccess(scopeCondition(query.value.environment, deps.policy.current()), request.dataScope) };
    const slices = await planExport(deps.clickhouse, range, 'hour', limits.sliceRows);
    const pages = eventExportPages(deps.clickhouse, range, slices, limits.sliceRows);
    const fileName = `spendline-events-${fileNameTime(from)}-${fileNameTime(to)}`;
    const stream = exportStream({ format, columns: EVENT_EXPORT_COLUMNS, pages, chunkRows: limits.chunkRows, name: fileName, log: request.log });
    return sendExport(reply, { format, fileName, stream });
  });

  app.get('/v1/exports/focus', { config: { role: 'reader', docs: focusDocs } }, async (request, reply) => {
    const query = validate(focusQuery, request.query);
    if (!query.ok) throw invalidRequest(query.issues, 'invalid export parameters');
    const { from, to, format, focus_version: version } = query.value;
    const range: ExportRange = { from, to, scope: withAccess(scopeCondition(query.value.environment, deps.policy.current()), request.dataScope) };
    const slices = await planExport(deps.clickhouse, range, 'day', limits.sliceRows);
    const pages = focusExportPages(deps.clickhouse, range, slices, { version, sliceRows: limits.sliceRows });
    const fileName = `spendline-focus-${version}-${fileNameTime(from)}-${fileNameTime(to)}`;
    const stream = exportStream({ format, columns: focusColumns(version), pages, chunkRows: limits.chunkRows, name: fileName, log: request.log });
    return sendExport(reply, { format, fileName, stream });
  });
}

/**
 * Sends the export as an attachment. A failure after the first byte cannot
 * change the status any more: fastify cuts the connection, so the chunked
 * body has no final chunk and no client mistakes a part for the whole.
 */
function sendExport(reply: FastifyReply, options: { readonly format: ExportFormat; readonly fileName: string; readonly stream: Readable }) {
  return reply
    .header('content-type', CONTENT_TYPES[options.format])
    .header('content-disposition', `attachment; filename="${options.fileName}.${options.format}"`)
    .send(options.stream);
}
