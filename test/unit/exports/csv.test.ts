import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from '../../../services/exports/csv.ts';
import { CONTENT_TYPES, fileNameTime, rowEncoder } from '../../../services/exports/export-format.ts';

describe('CSV fields (RFC 4180)', () => {
  it.each<[string | number | null, string]>([
    ['plain', 'plain'],
    ['', ''],
    [null, ''],
    [42, '42'],
    ['0.000240000001', '0.000240000001'],
    [' padded ', ' padded '],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['"', '""""'],
    ['line\nbreak', '"line\nbreak"'],
    ['carriage\rreturn', '"carriage\rreturn"'],
    ['crlf\r\nend', '"crlf\r\nend"'],
    ['{"team":"a,b"}', '"{""team"":""a,b""}"'],
  ])('writes %j as %j', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it.each<[string | number, string]>([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+2', "'+1+2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['-cmd', "'-cmd"],
    ['\tindent', "'\tindent"],
    // Numbers stay numbers, negative ones included.
    ['-0.3', '-0.3'],
    ['-12', '-12'],
    [-5, '-5'],
  ])('keeps a spreadsheet from running %j as a formula', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it('ends every record with CRLF', () => {
    expect(csvRecord(['a', null, 'b,c', 1])).toBe('a,,"b,c",1\r\n');
  });
});

describe('export encoders', () => {
  const columns = ['event_id', 'cost', 'team', 'tags'];
  const rows = [
    { event_id: 'e1', cost: '0.00024', team: 'search', tags: { 'a,b': 'x"y' } },
    { event_id: 'e2', cost: '0', team: null, tags: {} },
  ];

  it('writes CSV with a header, nulls empty and nested values as JSON text', () => {
    const encoder = rowEncoder('csv', columns);
    expect(encoder.header).toBe('event_id,cost,team,tags\r\n');
    expect(encoder.encode(rows)).toBe('e1,0.00024,search,"{""a,b"":""x\\""y""}"\r\ne2,0,,{}\r\n');
  });

  it('writes NDJSON with one object per line in column order, nulls kept and nested values as objects', () => {
    const encoder = rowEncoder('ndjson', columns);
    expect(encoder.header).toBe('');
    const text = encoder.encode([{ tags: {}, team: null, cost: '0', event_id: 'e2', extra: 'dropped' }]);
    expect(text).toBe('{"event_id":"e2","cost":"0","team":null,"tags":{}}\n');
    expect(encoder.encode(rows).split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown)).toEqual(rows);
  });

  it('names the content types and writes instants fit for a file name', () => {
    expect(CONTENT_TYPES).toEqual({ csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' });
    expect(fileNameTime(Date.UTC(2026, 10, 1, 12, 30, 5, 250))).toBe('20261101T123005Z');
  });
});
