import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ExportRow } from '../../../services/exports/export-format.ts';
import { exportStream, type ExportLog } from '../../../services/exports/export-stream.ts';

const silent: ExportLog = { debug: () => {}, error: () => {} };

/** Pages of rows as a reader of ClickHouse would yield them, counting how many were read and whether the reader was ended. */
function pages(count: number, rowsPerPage: number, failAt?: number) {
  const seen = { read: 0, ended: false };
  async function* generate(): AsyncGenerator<ExportRow[]> {
    try {
      for (let page = 0; page < count; page += 1) {
        if (page === failAt) throw new Error('ClickHouse went away');
        seen.read += 1;
        yield Array.from({ length: rowsPerPage }, (_, i) => ({ id: `p${page}-r${i}`, cost: '0.000000000001', note: 'a,"b"' }));
      }
    } finally {
      seen.ended = true;
    }
  }
  return { seen, pages: generate() };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('exportStream', () => {
  it('writes the header and every row, in order, in chunks', async () => {
    const { pages: source, seen } = pages(3, 25);
    const text = await readAll(exportStream({ format: 'csv', columns: ['id', 'cost', 'note'], pages: source, chunkRows: 10, name: 't', log: silent }));
    const lines = text.split('\r\n');
    expect(lines[0]).toBe('id,cost,note');
    expect(lines.slice(1, -1)).toEqual(Array.from({ length: 75 }, (_, n) => `p${Math.floor(n / 25)}-r${n % 25},0.000000000001,"a,""b"""`));
    expect(seen).toEqual({ read: 3, ended: true });
  });

  it('reads pages only as fast as its reader takes chunks', async () => {
    const { pages: source, seen } = pages(1000, 1000);
    const stream = exportStream({ format: 'ndjson', columns: ['id', 'cost', 'note'], pages: source, chunkRows: 100, name: 't', log: silent });
    stream.read(0);
    await sleep(50);
    // About 64 KiB buffered ahead, a page or two of the thousand.
    expect(seen.read).toBeLessThanOrEqual(2);
    expect(stream.readableLength).toBeLessThan(64 * 1024 + 100 * 100);
    stream.destroy();
    await once(stream, 'close');
    expect(seen.ended).toBe(true);
    expect(seen.read).toBeLessThanOrEqual(2);
  });

  it('errors the stream, and logs, when a page fails', async () => {
    const logged: object[] = [];
    const { pages: source } = pages(5, 10, 2);
    const stream = exportStream({ format: 'csv', columns: ['id'], pages: source, chunkRows: 10, name: 'events-x', log: { debug: () => {}, error: (fields) => logged.push(fields) } });
    await expect(readAll(stream)).rejects.toThrow('ClickHouse went away');
    expect(logged).toEqual([expect.objectContaining({ export: 'events-x', rows: 20 })]);
  });
});
