import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PROJECT_ROOT } from '../../services/project-paths.ts';
import { eventually, TEST_TOKENS, uniqueSuffix } from '../support/test-config.ts';

/**
 * End to end over real sockets: `spendline start` as its own process (the CLI
 * users run), on the test broker and its own embedded ClickHouse; 1,000
 * events over HTTP including invalid ones and resent event_ids; the cost
 * report must then hold exactly the expected totals per team.
 */

// Prices the test expects, in USD per million tokens (written out here, not read from the code under test).
const PRICES: Record<string, { input: number; cacheRead: number; cacheWrite: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, cacheRead: 0.075, cacheWrite: 0.15, output: 0.6 },
  'claude-sonnet-4-20250514': { input: 3, cacheRead: 0.3, cacheWrite: 3.75, output: 15 },
};
const PICO = 10n ** 12n;

/** Exact cost in 10^-12 USD: prices have at most 3 decimals, so every product divides evenly. */
function expectedCost(event: Record<string, number | string>): bigint {
  const price = PRICES[event['model'] as string];
  if (!price) return 0n;
  const units = (usdPerMillion: number) => BigInt(Math.round(usdPerMillion * 1000)) * (PICO / 1000n) / 1_000_000n;
  const n = (field: string) => BigInt((event[field] as number | undefined) ?? 0);
  const plainInput = n('input_tokens') - n('cache_read_tokens') - n('cache_write_tokens');
  return plainInput * units(price.input) + n('cache_read_tokens') * units(price.cacheRead) + n('cache_write_tokens') * units(price.cacheWrite) + n('output_tokens') * units(price.output);
}

function format(units: bigint): string {
  const whole = units / PICO;
  const fraction = (units % PICO).toString().padStart(12, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

const TEAMS = ['search', 'ads', 'support'] as const;

function validEvent(index: number, suffix: string): Record<string, number | string> {
  const model = index % 3 === 0 ? 'claude-sonnet-4-20250514' : index % 17 === 0 ? 'mystery-model-9' : 'gpt-4o-mini';
  const input = 200 + ((index * 37) % 5000);
  const event: Record<string, number | string> = {
    event_id: `e2e-${suffix}-${index}`,
    occurred_at: new Date(Date.UTC(2026, 10, 3, index % 24, index % 60)).toISOString(),
    provider: model.startsWith('claude') ? 'anthropic' : model.startsWith('gpt') ? 'openai' : 'openai',
    model,
    input_tokens: input,
    output_tokens: 10 + ((index * 13) % 900),
    cache_read_tokens: index % 4 === 0 ? Math.floor(input / 2) : 0,
    cache_write_tokens: model.startsWith('claude') && index % 5 === 0 ? 100 : 0,
    team: TEAMS[index % TEAMS.length]!,
    feature: `feature-${index % 4}`,
    environment: 'prod',
  };
  return event;
}

/** Each invalid event and the field its rejection must name. */
function invalidEvents(suffix: string): { event: Record<string, unknown>; path: string }[] {
  const base = (i: number) => ({ ...validEvent(10_000 + i, suffix) });
  const cases: ((i: number) => { event: Record<string, unknown>; path: string })[] = [
    (i) => ({ event: { ...base(i), input_tokens: -1 }, path: 'input_tokens' }),
    (i) => {
      const { provider: _omit, ...rest } = base(i);
      return { event: rest, path: 'provider' };
    },
    (i) => ({ event: { ...base(i), occurred_at: 'last tuesday' }, path: 'occurred_at' }),
    (i) => ({ event: { ...base(i), cache_read_tokens: 999_999 }, path: 'input_tokens' }),
    (i) => ({ event: { ...base(i), reported_cost: 0.5 }, path: 'reported_cost' }),
  ];
  return Array.from({ length: 50 }, (_, i) => cases[i % cases.length]!(i));
}

let child: ChildProcess;
let url: string;
let dataDir: string;
let exitCode: Promise<number | null>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'spendline-e2e-'));
  const suffix = uniqueSuffix();
  child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'start'], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: inject('kafkaBrokers').join(','),
      KAFKA_TOPIC_PREFIX: `e2e${suffix}.`,
      KAFKA_REPLICATION_FACTOR: '1',
      ENRICHER_GROUP_ID: `e2e${suffix}-enricher`,
      SINK_GROUP_ID: `e2e${suffix}-sink`,
      SPENDLINE_DATA_DIR: dataDir,
      PORT: '0',
      SPENDLINE_ADMIN_TOKEN: TEST_TOKENS.admin,
      SPENDLINE_INGEST_TOKENS: TEST_TOKENS.ingest,
      SPENDLINE_READER_TOKENS: TEST_TOKENS.reader,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  exitCode = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Spendline is running at (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    void exitCode.then((code) => reject(new Error(`spendline exited with ${code} before serving:\n${output}`)));
  });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, token: string | null, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('spendline start, end to end over HTTP', () => {
  it('turns 1,000 posted events into exact per-team costs', async () => {
    const suffix = uniqueSuffix();
    const valid = Array.from({ length: 900 }, (_, index) => validEvent(index, suffix));
    const invalid = invalidEvents(suffix);
    const duplicates = Array.from({ length: 50 }, (_, index) => ({ ...valid[index * 7]! }));
    // Interleave: batches of 100 mixing new, invalid and resent events (some resent within their own batch).
    const all: { event: Record<string, unknown>; path?: string }[] = [];
    valid.forEach((event, index) => {
      all.push({ event });
      if (index % 18 === 17) all.push(invalid[Math.floor(index / 18)]!);
      if (index % 18 === 8) all.push({ event: duplicates[Math.floor(index / 18)]! });
    });
    expect(all).toHaveLength(1000);

    let accepted = 0;
    for (let start = 0; start < all.length; start += 100) {
      const batch = all.slice(start, start + 100);
      const response = await call('POST', '/v1/events', TEST_TOKENS.ingest, batch.map((entry) => entry.event));
      expect([200, 207]).toContain(response.status);
      const results = response.body['results'] as { index: number; status: string; errors?: { path: string; message: string }[] }[];
      batch.forEach((entry, index) => {
        if (entry.path) {
          expect(results[index]).toMatchObject({ status: 'rejected' });
          expect(results[index]!.errors!.map((error) => error.path)).toContain(entry.path);
          expect(results[index]!.errors!.every((error) => error.message.length > 0)).toBe(true);
        } else {
          expect(results[index]).toMatchObject({ status: 'accepted', event_id: entry.event['event_id'] });
        }
      });
      accepted += response.body['accepted'] as number;
    }
    expect(accepted).toBe(950);

    const expected = new Map<string, { cost: bigint; events: number; input: number; output: number; unpriced: number }>();
    for (const event of valid) {
      const team = event['team'] as string;
      const row = expected.get(team) ?? { cost: 0n, events: 0, input: 0, output: 0, unpriced: 0 };
      row.cost += expectedCost(event);
      row.events += 1;
      row.input += event['input_tokens'] as number;
      row.output += event['output_tokens'] as number;
      row.unpriced += PRICES[event['model'] as string] ? 0 : 1;
      expected.set(team, row);
    }
    const expectedRows = [...expected.entries()]
      .map(([team, row]) => ({ team, cost: format(row.cost), list_cost: format(row.cost), events: row.events, input_tokens: row.input, output_tokens: row.output, unpriced_events: row.unpriced }))
      .sort((a, b) => Number(BigInt(b.cost.replace('.', '').padEnd(20, '0')) - BigInt(a.cost.replace('.', '').padEnd(20, '0'))));

    // Wait until the sink has handled all 950 accepted messages (resent copies included), so a
    // copy stored twice would show in the totals below.
    await eventually(
      async () => {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        const consumed = /spendline_kafka_messages_consumed_total\{group="[^"]*-sink"[^}]*\} (\d+)/.exec(metrics);
        return consumed && Number(consumed[1]) >= 950 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the sink to consume 950 messages' },
    );
    const reportPath = '/v1/reports/cost?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z&group_by=team';
    const report = await eventually(
      async () => {
        const response = await call('GET', reportPath, TEST_TOKENS.reader);
        const rows = response.body['rows'] as { events: number }[];
        return rows.reduce((sum, row) => sum + row.events, 0) >= 900 ? response : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: '900 stored events' },
    );
    expect(report.status).toBe(200);
    expect(new Set((report.body['rows'] as { team: string }[]).map((row) => row.team))).toEqual(new Set(TEAMS));
    expect(report.body['rows']).toEqual(expect.arrayContaining(expectedRows));
    expect(report.body['rows']).toHaveLength(3);
  });

  it('prints reports from the command line, as CSV or JSON', async () => {
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const run = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', ...args], {
          cwd: PROJECT_ROOT,
          env: { PATH: process.env['PATH'], SPENDLINE_API_URL: url, SPENDLINE_ADMIN_TOKEN: TEST_TOKENS.admin, SPENDLINE_DATA_DIR: dataDir },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        run.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        run.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        run.once('exit', (code) => resolve({ code, out, err }));
      });
    const json = await call('GET', '/v1/reports/cost?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z&group_by=team', TEST_TOKENS.reader);
    const csv = await cli(['report', 'cost', '--from', '2026-11-03T00:00:00Z', '--to', '2026-11-04T00:00:00Z', '--group-by', 'team', '--format', 'csv']);
    expect(csv.code).toBe(0);
    const [header, ...records] = csv.out.trim().split('\r\n');
    expect(header).toBe('team,cost,list_cost,events,input_tokens,output_tokens,unpriced_events');
    expect(records.map((record) => record.split(',').slice(0, 2))).toEqual((json.body['rows'] as { team: string; cost: string }[]).map((row) => [row.team, row.cost]));
    const chargeback = await cli(['report', 'chargeback', '--period', '2026-11', '--by', 'team']);
    expect(chargeback.code).toBe(0);
    expect(JSON.parse(chargeback.out)).toMatchObject({ period: '2026-11', by: 'team', owners: expect.any(Array) });
    const bad = await cli(['report', 'chargeback', '--period', '2026-13']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('must be a calendar month such as 2026-10');
  });

  it('refuses requests without the right token', async () => {
    expect((await call('GET', '/v1/reports/cost?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z', null)).status).toBe(401);
    expect((await call('GET', '/v1/reports/cost?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z', TEST_TOKENS.ingest)).status).toBe(403);
    expect((await call('POST', '/v1/events', TEST_TOKENS.reader, [])).status).toBe(403);
  });

  it('shuts down cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    expect(await exitCode).toBe(0);
  });
});
