import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BudgetFile, syncBudgetFile } from '../../services/budgets/budget-file.ts';
import { BudgetStore } from '../../services/budgets/budget-store.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { SCHEMA_NAMES } from '../../services/events/schema-names.ts';
import { topicNames } from '../../services/kafka/topics.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { SCHEMA_DIRS } from '../../services/project-paths.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { findOnTopic } from '../support/topic-watch.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Budgets end to end: created and changed through the API with their history,
 * evaluated against stored spend, the gateway's enforcement decision turning
 * to block within seconds of a breach, and all of it surviving a restart.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const brokers = () => inject('kafkaBrokers');
let config: SpendlineConfig;
let running: RunningProcess;

// Spend lands in the current month, so the budgets' current period holds it.
const now = new Date();
const thisMonth = (day: number, hour: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), day, hour)).toISOString();
// gpt-4o-mini: 0.15 USD per million input tokens.
const spend = (id: string, team: string, millions: number, overrides: Record<string, unknown> = {}) =>
  usageEventJson({ event_id: id, team, environment: 'prod', occurred_at: thisMonth(1, 0), input_tokens: millions * 1_000_000, output_tokens: 0, ...overrides });

beforeAll(async () => {
  config = testConfig(brokers(), { BUDGET_EVALUATION_SCHEDULE: '* * * * * *' });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: brokers(), log, processMetrics: false });
});

afterAll(async () => {
  await running?.stop();
});

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown, headers: Record<string, string> = {}) {
  const response = await running.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: response.statusCode, body: response.json() as any };
}

async function post(events: unknown[]) {
  expect((await call('POST', '/v1/events', TEST_TOKENS.ingest, events)).status).toBe(200);
}

const SEARCH_BUDGET = {
  id: 'search-prod',
  name: 'Search in production',
  scope: { team: ['search'], environment: ['prod'] },
  period: 'monthly',
  amount: '1',
  thresholds: [{ percent: 50, type: 'actual' }, { percent: 100, type: 'actual' }],
  action: { type: 'block' },
};

describe('budgets', () => {
  it('rejects an invalid budget naming each field, and records who created a valid one', async () => {
    const invalid = await call('POST', '/v1/budgets', TEST_TOKENS.admin, { ...SEARCH_BUDGET, amount: '0', period: 'hourly' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.issues.map((issue: { path: string }) => issue.path)).toEqual(['period', 'amount']);
    expect((await call('POST', '/v1/budgets', TEST_TOKENS.reader, SEARCH_BUDGET)).status).toBe(403);

    const created = await call('POST', '/v1/budgets', TEST_TOKENS.admin, SEARCH_BUDGET, { 'x-spendline-actor': 'finops-alice' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ budget_id: 'search-prod', version: 1, action: 'created', actor: expect.stringMatching(/^finops-alice \(token [0-9a-f]{12}\)$/) });
    expect((await call('POST', '/v1/budgets', TEST_TOKENS.admin, SEARCH_BUDGET)).status).toBe(409);
  });

  it('tracks spend against the budget and turns the gateway decision to block within seconds of a breach', async () => {
    const status = async () => (await call('GET', '/v1/budgets/status?team=Search&environment=production&feature=answers', TEST_TOKENS.ingest)).body;
    expect(await status()).toMatchObject({ decision: 'allow', budgets: [{ id: 'search-prod', state: 'ok' }] });

    // 0.6 of 1: the 50 % threshold, still allowed. Another team's spend does not count.
    await post([spend('b-1', 'search', 4), spend('b-2', 'ads', 20)]);
    const warned = await eventually(async () => {
      const body = (await call('GET', '/v1/budgets/search-prod', TEST_TOKENS.reader)).body;
      return body.status.spent === '0.6' ? body : undefined;
    }, { what: 'the budget to see 0.6 spent' });
    expect(warned.status).toMatchObject({ amount: '1', used: '0.6', state: 'warning', reached: [{ percent: 50, type: 'actual' }] });
    expect(await status()).toMatchObject({ decision: 'allow' });

    // 0.6 + 0.45 = 1.05: breached; the budget blocks.
    const postedAt = Date.now();
    await post([spend('b-3', 'search', 3)]);
    const blocked = await eventually(async () => {
      const body = await status();
      return body.decision === 'block' ? body : undefined;
    }, { what: 'the decision to turn to block' });
    expect(blocked).toEqual({ decision: 'block', model: null, budgets: [{ id: 'search-prod', state: 'breached', used: '1.05', action: 'block' }] });
    expect(Date.now() - postedAt).toBeLessThan(15_000);
    // Gateways that follow the compacted budget.status.v1 learn the same within seconds.
    const registry = AvroSchemaRegistry.fromDirectories(SCHEMA_DIRS);
    const streamed = await findOnTopic<Record<string, unknown>>(
      { brokers: brokers(), topic: topicNames(config.kafka.topicPrefix).budgetStatus, registry, schema: SCHEMA_NAMES.budgetStatus, log },
      (status) => status['decision'] === 'block',
      'a block status on budget.status.v1',
    );
    expect(streamed).toMatchObject({ budget_id: 'search-prod', state: 'breached', decision: 'block', downgrade_model: null, spent: '1.05', amount: '1', scope: { team: ['search'], environment: ['prod'] } });
    // A call outside the budget's scope is not held back by it.
    expect((await call('GET', '/v1/budgets/status?team=ads&environment=prod', TEST_TOKENS.ingest)).body).toEqual({ decision: 'allow', model: null, budgets: [] });
  });

  it('raises the budget with If-Match, refuses a stale change, and keeps every version', async () => {
    const stale = await call('PUT', '/v1/budgets/search-prod', TEST_TOKENS.admin, { ...SEARCH_BUDGET, amount: '5' }, { 'if-match': '0' });
    expect(stale.status).toBe(409);
    const raised = await call('PUT', '/v1/budgets/search-prod', TEST_TOKENS.admin, { ...SEARCH_BUDGET, amount: '5', action: { type: 'downgrade', model: 'gpt-4o-mini' } }, { 'if-match': '1', 'x-spendline-actor': 'finops-bob' });
    expect(raised.body).toMatchObject({ version: 2, action: 'updated' });
    expect((await call('GET', '/v1/budgets/status?team=search&environment=prod', TEST_TOKENS.ingest)).body).toMatchObject({ decision: 'allow', budgets: [{ state: 'ok', used: '0.21' }] });
    const history = (await call('GET', '/v1/budgets/search-prod/history', TEST_TOKENS.reader)).body;
    expect(history.versions.map((version: { version: number; action: string; actor: string }) => [version.version, version.action, version.actor.split(' ')[0]])).toEqual([
      [2, 'updated', 'finops-bob'],
      [1, 'created', 'finops-alice'],
    ]);
  });

  it('keeps budgets and their history across a restart, and deletes one keeping its history', async () => {
    await running.stop();
    running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: brokers(), log, processMetrics: false });
    const listed = (await call('GET', '/v1/budgets', TEST_TOKENS.reader)).body.budgets;
    expect(listed).toEqual([expect.objectContaining({ id: 'search-prod', amount: '5', version: 2, status: expect.objectContaining({ spent: '1.05', state: 'ok' }) })]);

    expect((await call('DELETE', '/v1/budgets/search-prod', TEST_TOKENS.admin)).body).toMatchObject({ version: 3, action: 'deleted' });
    expect((await call('GET', '/v1/budgets', TEST_TOKENS.reader)).body.budgets).toEqual([]);
    expect((await call('GET', '/v1/budgets/search-prod', TEST_TOKENS.reader)).status).toBe(404);
    expect((await call('GET', '/v1/budgets/search-prod/history', TEST_TOKENS.reader)).body.versions).toHaveLength(3);
  });

  it('syncs budgets from a budgets file: creates, leaves alone what matches, updates what changed, as the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spendline-budgets-'));
    const file = join(dir, 'budgets.json');
    const write = (amount: string) => writeFileSync(file, JSON.stringify({ budgets: [{ ...SEARCH_BUDGET, id: 'from-file', amount }] }));
    write('10');
    const store = new BudgetStore(running.clickhouse!);
    const budgets = new BudgetFile(file, log, 0);
    expect(await syncBudgetFile(store, budgets.current(), file)).toEqual(['from-file']);
    expect(await syncBudgetFile(store, budgets.current(), file)).toEqual([]);
    write('20');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect(await syncBudgetFile(store, budgets.refresh(), file)).toEqual(['from-file']);
    const history = (await call('GET', '/v1/budgets/from-file/history', TEST_TOKENS.reader)).body.versions;
    expect(history.map((version: { version: number; actor: string; definition: { amount: string } }) => [version.version, version.actor, version.definition.amount])).toEqual([
      [2, `config-file ${file}`, '20'],
      [1, `config-file ${file}`, '10'],
    ]);
    writeFileSync(file, JSON.stringify({ budgets: [{ ...SEARCH_BUDGET, id: 'from-file', amount: 'lots' }] }));
    expect(() => new BudgetFile(file, log)).toThrow('invalid budgets file: budgets[0].amount: must be a plain decimal number');
  });
});
