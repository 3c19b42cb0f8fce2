import { Readable } from 'node:stream';
import { rowEncoder, type ExportFormat, type ExportRow } from './export-format.ts';

/**
 * An export as a byte stream: the header, then each page of rows encoded a
 * chunk at a time. The stream pulls the next chunk only when its reader has
 * taken the last (a reply stream's backpressure: a slow client pauses the
 * ClickHouse reads behind the pages), and a stream destroyed early — the
 * client went away — ends the pages, so no further slice is read. A page that
 * fails errors the stream.
 */

export interface ExportLog {
  debug(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ExportStreamOptions {
  readonly format: ExportFormat;
  readonly columns: readonly string[];
  readonly pages: AsyncGenerator<readonly ExportRow[]>;
  /** Rows encoded into one chunk. */
  readonly chunkRows: number;
  /** Names the export in logs. */
  readonly name: string;
  readonly log: ExportLog;
}

/** Buffered ahead of the reader, at most (plus the chunk being encoded). */
const HIGH_WATER_BYTES = 64 * 1024;

export function exportStream(options: ExportStreamOptions): Readable {
  const encoder = rowEncoder(options.format, options.columns);
  async function* chunks(): AsyncGenerator<string> {
    let rows = 0;
    try {
      if (encoder.header !== '') yield encoder.header;
      for await (const page of options.pages) {
        for (let at = 0; at < page.length; at += options.chunkRows) yield encoder.encode(page.slice(at, at + options.chunkRows));
        rows += page.length;
      }
      options.log.debug({ export: options.name, rows }, 'export done');
    } catch (err) {
      options.log.error({ err, export: options.name, rows }, 'export failed after it started');
      throw err;
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: HIGH_WATER_BYTES });
}
