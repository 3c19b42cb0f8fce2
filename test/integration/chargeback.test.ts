import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Chargeback end to end: a month's cost per team with unattributed spend, a
 * platform team and a fixed fee allocated by rules as code, in UTC and in a
 * zone whose month starts on another day, for the whole organisation and for
 * a team-scoped token.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const ADS_READER = 'ads-scoped-reader-0123456789';
let running: RunningProcess;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  const allocationFile = join(mkdtempSync(join(tmpdir(), 'spendline-allocation-')), 'allocation.json');
  writeFileSync(
    allocationFile,
    JSON.stringify({
      version: 'alloc-1',
      pools: [
        { id: 'unattributed', source: { unattributed: true }, spread: { method: 'proportional' } },
        { id: 'platform', description: 'The platform team serves everyone', source: { owners: ['platform'] }, spread: { method: 'even' } },
        { id: 'commit', description: 'Committed-use fee', source: { fixed_monthly: '100' }, spread: { method: 'fixed', percentages: { search: '50', ads: '50' } } },
      ],
    }),
  );
  const config = testConfig(brokers, {
    SPENDLINE_ALLOCATION_FILE: allocationFile,
    SPENDLINE_SCOPED_READER_TOKENS: JSON.stringify([{ token: ADS_READER, teams: ['ads'] }]),
  });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });

  // gpt-4o-mini: 0.15 USD per million input tokens.
  const events = [
    usageEventJson({ event_id: 'cb-1', team: 'search', occurred_at: '2026-10-10T12:00:00Z', input_tokens: 2_000_000, output_tokens: 0 }), // 0.3
    usageEventJson({ event_id: 'cb-2', team: 'ads', occurred_at: '2026-10-11T12:00:00Z', input_tokens: 1_000_000, output_tokens: 0 }), // 0.15
    usageEventJson({ event_id: 'cb-3', team: 'platform', occurred_at: '2026-10-12T12:00:00Z', input_tokens: 1_000_000, output_tokens: 0 }), // 0.15
    usageEventJson({ event_id: 'cb-4', team: undefined, occurred_at: '2026-10-13T12:00:00Z', input_tokens: 1_000_000, output_tokens: 0 }), // 0.15, unattributed
    // 00:30 on 1 October in Berlin, still September in UTC.
    usageEventJson({ event_id: 'cb-5', team: 'search', occurred_at: '2026-09-30T22:30:00Z', input_tokens: 1_000_000, output_tokens: 0 }), // 0.15
    // 00:30 on 1 November in Berlin, still October in UTC.
    usageEventJson({ event_id: 'cb-6', team: 'ads', occurred_at: '2026-10-31T23:30:00Z', input_tokens: 1_000_000, output_tokens: 0 }), // 0.15
  ];
  const posted = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` }, payload: events });
  expect(posted.statusCode).toBe(200);
  await eventually(
    async () => {
      const body = (await chargeback('period=2026-10&environment=all&timezone=Europe/Berlin')).body;
      return body.owners?.reduce((n: number, owner: { events: number }) => n + owner.events, 0) === 5 ? true : undefined;
    },
    { what: 'the October events' },
  );
});

afterAll(async () => {
  await running?.stop();
});

async function chargeback(query: string, token: string = TEST_TOKENS.reader) {
  const response = await running.app.inject({ method: 'GET', url: `/v1/reports/chargeback?${query}`, headers: { authorization: `Bearer ${token}` } });
  return { status: response.statusCode, body: response.json() as any };
}

const line = (body: { owners: Record<string, unknown>[] }) => body.owners.map((owner) => [owner['team'], owner['direct_cost'], owner['allocated_cost'], owner['total_cost']]);

describe('GET /v1/reports/chargeback', () => {
  it('charges each team its direct cost and its share of unattributed spend, the platform team and a fixed fee, to the unit', async () => {
    const { status, body } = await chargeback('period=2026-10&by=team');
    expect(status).toBe(200);
    // UTC October: search 0.3, ads 0.15 + 0.15, platform 0.15, unattributed 0.15; plus the 100 fee.
    // Unattributed 0.15 over search 0.3 / ads 0.3 / platform 0.15: 0.06, 0.06, 0.03. Platform's 0.15 evenly: 0.075 each.
    expect(line(body)).toEqual([
      ['ads', '0.3', '50.135', '50.435'],
      ['search', '0.3', '50.135', '50.435'],
      ['platform', '0.15', '0.03', '0.03'],
      [null, '0.15', '0', '0'],
    ]);
    expect(body).toMatchObject({ period: '2026-10', timezone: 'UTC', from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z', allocation_version: 'alloc-1', grand_total: '100.9' });
    expect(body.owners.map((owner: { share: string }) => owner.share)).toEqual(['0.4999', '0.4999', '0.0003', '0']);
    expect(body.owners[2]).toMatchObject({ team: 'platform', pooled_cost: '0.15', allocations: [{ pool: 'unattributed', amount: '0.03' }] });
    expect(body.pools.map((pool: { id: string; amount: string; unallocated: string }) => [pool.id, pool.amount, pool.unallocated])).toEqual([
      ['unattributed', '0.15', '0'],
      ['platform', '0.15', '0'],
      ['commit', '100', '0'],
    ]);
    expect(body.pools[0].lines).toEqual([
      { owner: 'ads', amount: '0.06', basis: 'direct cost 0.3 of 0.75' },
      { owner: 'platform', amount: '0.03', basis: 'direct cost 0.15 of 0.75' },
      { owner: 'search', amount: '0.06', basis: 'direct cost 0.3 of 0.75' },
    ]);
    expect(body.pools[1]).toMatchObject({ taken_from: ['platform'], explanation: 'the direct cost of platform, 0.15 USD, spread evenly over 2 owners' });
  });

  it('follows the calendar of the time zone asked for', async () => {
    const { body } = await chargeback('period=2026-10&by=team&timezone=Europe/Berlin');
    // Berlin October: search 0.3 + 0.15 (cb-5), ads 0.15 (cb-6 is November there), platform 0.15, unattributed 0.15.
    // Unattributed over 0.45 / 0.15 / 0.15: 0.09, 0.03, 0.03.
    expect(body).toMatchObject({ from: '2026-09-30T22:00:00.000Z', to: '2026-10-31T23:00:00.000Z', grand_total: '100.9' });
    expect(line(body)).toEqual([
      ['search', '0.45', '50.165', '50.615'],
      ['ads', '0.15', '50.105', '50.255'],
      ['platform', '0.15', '0.03', '0.03'],
      [null, '0.15', '0', '0'],
    ]);
  });

  it('shows a team-scoped token its own line of the same allocation, and nothing of the others', async () => {
    const { status, body } = await chargeback('period=2026-10&by=team', ADS_READER);
    expect(status).toBe(200);
    expect(line(body)).toEqual([['ads', '0.3', '50.135', '50.435']]);
    expect(body).not.toHaveProperty('grand_total');
    expect(body.owners[0]).not.toHaveProperty('share');
    expect(body.pools[0].lines).toEqual([{ owner: 'ads', amount: '0.06', basis: 'direct cost 0.3 of 0.75' }]);
    expect(body.pools[1].taken_from).toEqual([]);
    const byFeature = await chargeback('period=2026-10&by=feature', ADS_READER);
    expect(byFeature.status).toBe(403);
  });

  it('names each invalid parameter', async () => {
    const { status, body } = await chargeback('period=2026-13&by=department&timezone=Mars/Base');
    expect(status).toBe(400);
    expect(body.error.issues).toEqual([
      { path: 'period', message: 'must be a calendar month such as 2026-10' },
      { path: 'by', message: 'must be one of team, cost_center, tenant, feature' },
      { path: 'timezone', message: 'must be an IANA time zone such as UTC or Europe/Berlin' },
    ]);
    expect((await chargeback('by=team')).body.error.issues).toEqual([{ path: 'period', message: 'is required: a calendar month such as 2026-10' }]);
  });
});
