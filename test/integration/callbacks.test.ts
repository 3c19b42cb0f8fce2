import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { callbackFixture, KONG_FIXTURES, LITELLM_FIXTURES } from '../fixtures/callbacks/callback-fixtures.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';

/**
 * Gateway callbacks end to end on the real broker and chDB: LiteLLM's and
 * Kong's payloads → POST /v1/callbacks/* → usage.raw.v1 → enricher (prices,
 * attribution) → sink → ClickHouse, and a call that arrives twice by the same
 * callback and once more by POST /v1/events stored once.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let config: SpendlineConfig;
let running: RunningProcess;

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  config = testConfig(brokers);
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
});

afterAll(async () => {
  await running?.stop();
});

async function post(url: string, body: unknown) {
  const response = await running.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${TEST_TOKENS.ingest}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

const storedRow = z.object({
  event_id: z.string(),
  provider: z.string(),
  model: z.string(),
  status: z.string(),
  team: z.string(),
  feature: z.string(),
  environment: z.string(),
  api_key_id: z.string(),
  input_tokens: z.coerce.number(),
  cache_read_tokens: z.coerce.number(),
  cache_write_tokens: z.coerce.number(),
  output_tokens: z.coerce.number(),
  cost_status: z.string(),
  cost: z.string(),
  reported_cost: z.string().nullable(),
});

async function stored(gateway: string): Promise<z.infer<typeof storedRow>[]> {
  return running.clickhouse!.query({
    name: 'test_callback_rows',
    sql: `SELECT event_id, provider, model, status, team, feature, environment, api_key_id, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
                 cost_status, toString(cost) AS cost, toString(reported_cost) AS reported_cost
          FROM {db:Identifier}.usage_events_v1 WHERE gateway_id = {gateway:String} ORDER BY occurred_at`,
    params: { gateway },
    schema: storedRow,
  });
}

async function storedCount(eventId: string): Promise<number> {
  const rows = await running.clickhouse!.query({
    name: 'test_callback_count',
    sql: 'SELECT count() AS n FROM {db:Identifier}.usage_events_v1 WHERE event_id = {eventId:String}',
    params: { eventId },
    schema: z.object({ n: z.coerce.number() }),
  });
  return rows[0]!.n;
}

async function duplicatesSkipped(): Promise<number> {
  const metric = await running.metrics.duplicatesSkipped.get();
  return metric.values[0]?.value ?? 0;
}

describe('gateway callbacks on the real broker and ClickHouse', () => {
  it("LiteLLM's payloads land priced, with their owner", async () => {
    const answer = await post('/v1/callbacks/litellm?environment=prod', LITELLM_FIXTURES.map((name) => callbackFixture(name)));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 6, rejected: 0, ignored: 0 });

    const rows = await eventually(async () => {
      const found = await stored('litellm');
      return found.length === 6 ? found : undefined;
    }, { what: 'the six LiteLLM events in ClickHouse' });
    const searchKey = '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b';
    expect(rows).toEqual([
      // 806 plain × 0.15/M + 1,024 cached × 0.075/M + 212 × 0.6/M = 0.0001209 + 0.0000768 + 0.0001272.
      { event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', status: 'ok', team: 'search', feature: 'answers', environment: 'prod', api_key_id: searchKey,
        input_tokens: 1830, cache_read_tokens: 1024, cache_write_tokens: 0, output_tokens: 212, cost_status: 'priced', cost: '0.0003249', reported_cost: '0.0003249' },
      // 2,400 × 1.1/M + 900 (640 of them reasoning) × 4.4/M; the client's x-spendline-environment beats the URL's default.
      { event_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b@1795167060.25', provider: 'openai', model: 'o4-mini-2025-04-16', status: 'ok', team: 'agents', feature: 'triage-agent', environment: 'staging', api_key_id: '3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea',
        input_tokens: 2400, cache_read_tokens: 0, cache_write_tokens: 0, output_tokens: 900, cost_status: 'priced', cost: '0.0066', reported_cost: '0.0066' },
      // 12 plain × 3/M + 66,360 cache reads × 0.3/M + 32,435 cache writes × 3.75/M + 5,120 × 15/M.
      { event_id: '71c0d9e8-f7a6-4b5c-9d4e-3f2a1b0c9d8e@1795167120', provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', status: 'ok', team: 'b56d884a-3e1e-4981-9297-1bfd159bf00e', feature: '', environment: 'prod', api_key_id: 'f834e0b7eeda6abacf73abbb455daa94d0e2f3a285a036f4e3831f23e38b94cb',
        input_tokens: 98_807, cache_read_tokens: 66_360, cache_write_tokens: 32_435, output_tokens: 5_120, cost_status: 'priced', cost: '0.21837525', reported_cost: '0.21837525' },
      // 8 × 0.02/M.
      { event_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f@1795167180.5', provider: 'openai', model: 'text-embedding-3-small', status: 'ok', team: 'search', feature: 'indexing', environment: 'prod', api_key_id: searchKey,
        input_tokens: 8, cache_read_tokens: 0, cache_write_tokens: 0, output_tokens: 0, cost_status: 'priced', cost: '0.00000016', reported_cost: '0.00000016' },
      { event_id: 'd4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a@1795167240', provider: 'openai', model: 'gpt-4o', status: 'error', team: 'search', feature: 'answers', environment: 'prod', api_key_id: searchKey,
        input_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0, output_tokens: 0, cost_status: 'priced', cost: '0', reported_cost: '0' },
      // A release that names the call id call_id: 1,000 × 0.15/M + 100 × 0.6/M.
      { event_id: '3e7a1c55-92b4-4f0d-8a6e-c4d2b1f09e37@1795167300.75', provider: 'openai', model: 'gpt-4o-mini-2024-07-18', status: 'ok', team: 'search', feature: 'answers', environment: 'prod', api_key_id: searchKey,
        input_tokens: 1000, cache_read_tokens: 0, cache_write_tokens: 0, output_tokens: 100, cost_status: 'priced', cost: '0.00021', reported_cost: '0.00021' },
    ]);
  });

  it("Kong's http-log batch lands priced, with its owner; other routes' entries are ignored", async () => {
    const answer = await post('/v1/callbacks/kong', KONG_FIXTURES.map((name) => callbackFixture(name)));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ accepted: 5, rejected: 0, ignored: 1 });

    const rows = await eventually(async () => {
      const found = await stored('kong');
      return found.length === 5 ? found : undefined;
    }, { what: 'the five Kong events in ClickHouse' });
    const supportKey = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
    expect(rows.map(({ event_id, model, status, team, feature, environment, api_key_id, cost, reported_cost }) => ({ event_id, model, status, team, feature, environment, api_key_id, cost, reported_cost }))).toEqual([
      // 1,200 × 0.15/M + 300 × 0.6/M.
      { event_id: '9ec9264afbbbad5fe5c64877d92eeb04', model: 'gpt-4o-mini-2024-07-18', status: 'ok', team: 'support', feature: 'support-bot', environment: 'prod', api_key_id: supportKey, cost: '0.00036', reported_cost: '0.00036' },
      // 5,000 × 3/M + 400 × 15/M; Kong had no prices, so it reported none.
      { event_id: '0b8a5f3c2d1e4f6a9b7c8d0e1f2a3b4c', model: 'claude-sonnet-4-5-20250929', status: 'ok', team: 'research', feature: 'summaries', environment: '', api_key_id: '5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f', cost: '0.021', reported_cost: null },
      // 12 × 0.02/M.
      { event_id: '5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f', model: 'text-embedding-3-small', status: 'ok', team: 'support', feature: '', environment: 'prod', api_key_id: supportKey, cost: '0.00000024', reported_cost: '0.00000024' },
      { event_id: '8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c', model: 'gpt-4o-mini', status: 'error', team: 'support', feature: '', environment: 'prod', api_key_id: supportKey, cost: '0', reported_cost: null },
      // Kong 3.6 log format, Azure: 89 × 2.5/M + 56 × 10/M.
      { event_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', model: 'gpt-4o-2024-08-06', status: 'ok', team: '', feature: '', environment: '', api_key_id: '', cost: '0.0007825', reported_cost: null },
    ]);
  });

  it('a LiteLLM payload sent twice, and the same call through POST /v1/events, is stored once; each attempt of a retried request is stored', async () => {
    const callId = randomUUID();
    // LiteLLM's proxy logs every attempt of a request under its one call id: here a 429, then the retry that answered.
    const failedAttempt = { ...callbackFixture('litellm-failure'), id: callId, litellm_call_id: callId, startTime: 1_795_166_999.5, endTime: 1_795_166_999.9, completionStartTime: 1_795_166_999.9 };
    const answered = { ...callbackFixture('litellm-openai-chat'), litellm_call_id: callId };
    const answeredId = `${callId}@1795167000.123456`;
    const skippedBefore = await duplicatesSkipped();

    expect((await post('/v1/callbacks/litellm', [failedAttempt, answered])).status).toBe(200);
    // The same payload again: a replayed batch, or a proxy in between retrying.
    expect((await post('/v1/callbacks/litellm', answered)).status).toBe(200);
    const direct = { event_id: answeredId, occurred_at: '2026-11-20T09:30:00.123Z', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1830, cache_read_tokens: 1024, output_tokens: 212, team: 'search' };
    expect((await post('/v1/events', [direct])).status).toBe(200);

    await eventually(async () => ((await storedCount(answeredId)) >= 1 && (await storedCount(`${callId}@1795166999.5`)) >= 1 ? true : undefined), { what: 'both attempts in ClickHouse' });
    await eventually(async () => ((await duplicatesSkipped()) >= skippedBefore + 2 ? true : undefined), { what: 'the two copies skipped by the sink' });
    expect(await storedCount(answeredId)).toBe(1);
    const attempts = await running.clickhouse!.query({
      name: 'test_callback_attempts',
      sql: "SELECT status, toString(cost) AS cost FROM {db:Identifier}.usage_events_v1 WHERE tags['litellm.call_id'] = {callId:String} ORDER BY occurred_at",
      params: { callId },
      schema: z.object({ status: z.string(), cost: z.string() }),
    });
    expect(attempts).toEqual([
      { status: 'error', cost: '0' },
      { status: 'ok', cost: '0.0003249' },
    ]);
  });
});
