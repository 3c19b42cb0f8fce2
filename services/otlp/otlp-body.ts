import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FieldIssue } from '@spendline/emitter/field-issues';
import type { OtlpEncoding } from './export-response.ts';
import type { OtlpTraceRequest } from './otlp-model.ts';
import { decodeTraceRequestJson } from './trace-request-json.ts';
import { decodeTraceRequestProtobuf } from './trace-request-protobuf.ts';

/**
 * From the bytes on the wire to a decoded export request: the content coding
 * undone (gzip, the collector's otlphttp default, or deflate) under a limit on
 * the decompressed size — a few KB of gzip can inflate to gigabytes — then
 * the body decoded by its media type.
 */

export type ReadBody =
  | { readonly ok: true; readonly request: OtlpTraceRequest }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string; readonly issues: readonly FieldIssue[] };

const inflaters: Readonly<Record<string, (body: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>>> = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
};

/** The OTLP encoding a Content-Type names (parameters such as charset ignored), or null. */
export function encodingOf(contentType: string | undefined): OtlpEncoding | null {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media === 'application/x-protobuf') return 'protobuf';
  if (media === 'application/json') return 'json';
  return null;
}

export async function readTraceRequest(raw: Buffer, encoding: OtlpEncoding, contentEncoding: string | undefined, maxBytes: number): Promise<ReadBody> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  const unsupported = codings.find((coding) => !(coding in inflaters));
  if (unsupported !== undefined) {
    return { ok: false, status: 415, message: `Content-Encoding ${unsupported} is not supported; send gzip, deflate or an uncompressed body`, issues: [] };
  }
  let body = raw;
  // Codings are listed in the order they were applied: undo the last first.
  for (const coding of codings.reverse()) {
    try {
      body = await inflaters[coding]!(body, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return { ok: false, status: 413, message: `the body decompresses to more than ${maxBytes} bytes; send smaller batches`, issues: [] };
      }
      return { ok: false, status: 400, message: `the body is not valid ${coding} data: ${(err as Error).message}`, issues: [] };
    }
  }
  const decoded = encoding === 'protobuf' ? decodeTraceRequestProtobuf(body) : decodeTraceRequestJson(body.toString('utf8'));
  if (!decoded.ok) {
    const [first] = decoded.issues;
    const where = first?.path ? ` at ${first.path}` : '';
    return { ok: false, status: 400, message: `the body is not a valid ${encoding === 'protobuf' ? 'protobuf' : 'OTLP/JSON'} ExportTraceServiceRequest${where}: ${first?.message ?? 'unknown error'}`, issues: decoded.issues };
  }
  return decoded;
}
