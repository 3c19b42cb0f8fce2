import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';

/**
 * The gateway inside a whole Spendline process, on the real broker and chDB:
 * a key issued through the admin API calls a model through the gateway (a
 * local stand-in answers as OpenAI would), and the call's usage event travels
 * the pipeline — Kafka, enricher (priced, attributed to the key's owner), sink
 * — into ClickHouse. A revoked key is refused at once.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
let running: RunningProcess;
let upstream: Server;
const upstreamAuth: string[] = [];

beforeAll(async () => {
  upstream = createServer((request, response) => {
    upstreamAuth.push(String(request.headers['authorization']));
    request.resume();
    request.on('end', () =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini-2024-07-18', choices: [], usage: { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 } })),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'spendline-gateway-'));
  writeFileSync(
    join(dir, 'gateway.json'),
    JSON.stringify({ gateway_id: 'gw-it', upstreams: [{ name: 'openai', api: 'openai', provider: 'openai', base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`, api_key_env: 'TEST_OPENAI_KEY' }] }),
  );
  const config = testConfig(inject('kafkaBrokers'), { SPENDLINE_GATEWAY_FILE: join(dir, 'gateway.json'), GATEWAY_SPILL_DIR: join(dir, 'spill'), BUDGET_EVALUATION_SCHEDULE: '* * * * * *' });
  running = await startProcess({
    config,
    services: new Set(['ingest', 'enricher', 'sink', 'api', 'gateway']),
    brokers: inject('kafkaBrokers'),
    log,
    processMetrics: false,
    secret: (variable) => (variable === 'TEST_OPENAI_KEY' ? 'sk-upstream-test' : undefined),
  });
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const admin = { authorization: `Bearer ${TEST_TOKENS.admin}`, 'content-type': 'application/json' };
const chat = (key: string) =>
  fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-spendline-feature': 'assistant' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('gateway in the pipeline', () => {
  let key: string;
  let keyId: string;

  it('forwards a call made with an issued key and stores its usage, priced and attributed to the key', async () => {
    const issued = await fetch(`${running.url}/v1/admin/gateway-keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'search backend', owner: { team: 'search', environment: 'prod' } }) });
    expect(issued.status).toBe(201);
    ({ key, key_id: keyId } = (await issued.json()) as { key: string; key_id: string });

    const response = await chat(key);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { usage: unknown }).usage).toEqual({ prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 });
    expect(upstreamAuth).toEqual(['Bearer sk-upstream-test']);

    const row = await eventually(
      async () => {
        const rows = await running.clickhouse!.query({
          name: 'gateway_event',
          sql: 'SELECT team, feature, environment, gateway_id, model, input_tokens, output_tokens, toString(cost) AS cost, cost_status FROM {db:Identifier}.usage_events_v1 WHERE api_key_id = {key:String}',
          params: { key: keyId },
          schema: z.object({ team: z.string(), feature: z.string(), environment: z.string(), gateway_id: z.string(), model: z.string(), input_tokens: z.coerce.number(), output_tokens: z.coerce.number(), cost: z.string(), cost_status: z.string() }),
        });
        return rows[0];
      },
      { what: 'the gateway call stored' },
    );
    // gpt-4o-mini: 0.15 USD per million input tokens, 0.60 per million output.
    expect(row).toEqual({ team: 'search', feature: 'assistant', environment: 'prod', gateway_id: 'gw-it', model: 'gpt-4o-mini-2024-07-18', input_tokens: 1000, output_tokens: 200, cost: '0.00027', cost_status: 'priced' });
  });

  it('blocks calls once a budget covering them is spent, from the budget status feed', async () => {
    const budget = { id: 'search-cap', name: 'Search cap', scope: { team: ['search'] }, period: 'monthly', amount: '0.0001', thresholds: [{ percent: 100 }], action: { type: 'block' } };
    expect((await fetch(`${running.url}/v1/budgets`, { method: 'POST', headers: admin, body: JSON.stringify(budget) })).status).toBe(201);
    // The first call's 0.00027 USD already spent it: the evaluator publishes the status, every gateway reads it.
    const blocked = await eventually(
      async () => {
        const response = await chat(key);
        return response.status === 429 ? ((await response.json()) as { error: { type: string; message: string } }) : undefined;
      },
      { intervalMs: 250, what: 'the budget block at the gateway' },
    );
    expect(blocked.error.type).toBe('budget_exceeded');
    expect(blocked.error.message).toContain('budget search-cap is spent');
    expect((await fetch(`${running.url}/v1/budgets/search-cap`, { method: 'DELETE', headers: { authorization: admin.authorization } })).status).toBe(200);
    await eventually(async () => ((await chat(key)).status === 200 ? true : undefined), { intervalMs: 250, what: 'calls allowed again once the budget is gone' });
  });

  it('refuses a revoked key at once, without calling the upstream', async () => {
    const calls = upstreamAuth.length;
    const revoked = await fetch(`${running.url}/v1/admin/gateway-keys/${keyId}`, { method: 'DELETE', headers: { authorization: admin.authorization } });
    expect(revoked.status).toBe(200);
    const response = await chat(key);
    expect(response.status).toBe(401);
    expect(upstreamAuth).toHaveLength(calls);
  });
});
