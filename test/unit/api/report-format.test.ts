import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';

/** ?format=csv on a report: the same rows, as a file a spreadsheet opens. */

const READER = 'reader-token-0123456789';
const app = buildHttpServer({
  log: createLogger('silent'),
  metrics: new Metrics({ processMetrics: false }),
  tokens: new BearerTokens({ adminToken: null, readerTokens: [READER], ingestTokens: [] }),
  readiness: [],
  bodyLimit: 1024,
});

beforeAll(async () => {
  app.get('/report', { config: { role: 'reader', csv: { rows: 'rows', name: 'cost' } } }, async () => ({
    currency: 'USD',
    rows: [
      { team: 'search', cost: '0.25', events: 3, tags: { project: 'apollo' } },
      { team: null, cost: '1.5', events: 1, note: 'has, a comma and "quotes"\nand a line' },
    ],
  }));
  app.get('/movers', { config: { role: 'reader', csv: { rows: ['increases', 'decreases'], name: 'movers' } } }, async () => ({
    increases: [{ team: 'a', change: '2' }],
    decreases: [{ team: 'b', change: '-1' }],
  }));
  app.get('/plain', { config: { role: 'reader' } }, async () => ({ rows: [{ a: 1 }] }));
  await app.ready();
});

afterAll(async () => {
  await app.close();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${READER}` } });

describe('reports as CSV', () => {
  it('writes a header of every column and one RFC 4180 record per row', async () => {
    const response = await get('/report?format=csv');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(response.headers['content-disposition']).toBe('attachment; filename="cost.csv"');
    expect(response.body).toBe(
      'team,cost,events,tags,note\r\n' + 'search,0.25,3,"{""project"":""apollo""}",\r\n' + ',1.5,1,,"has, a comma and ""quotes""\nand a line"\r\n',
    );
  });

  it('puts several row arrays in one file with a section column', async () => {
    expect((await get('/movers?format=csv')).body).toBe('section,team,change\r\nincreases,a,2\r\ndecreases,b,-1\r\n');
  });

  it('answers JSON by default or when asked, and 400 for another format', async () => {
    expect((await get('/report')).json()).toMatchObject({ currency: 'USD' });
    expect((await get('/report?format=json')).json()).toMatchObject({ currency: 'USD' });
    const invalid = await get('/report?format=xlsx');
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({ error: { code: 'invalid_request', message: 'invalid report parameters', issues: [{ path: 'format', message: 'must be json or csv' }] } });
  });

  it('leaves routes that are not reports alone', async () => {
    expect((await get('/plain?format=csv')).json()).toEqual({ rows: [{ a: 1 }] });
  });
});
