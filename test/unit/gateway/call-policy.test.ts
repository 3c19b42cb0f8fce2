import { describe, expect, it } from 'vitest';
import type { BudgetStatus } from '../../../services/alerts/budget-alert-publisher.ts';
import { budgetAction, modelVerdict } from '../../../services/gateway/call-policy.ts';
import { KeyRateLimiter } from '../../../services/gateway/key-rate-limiter.ts';

const status = (budget_id: string, scope: Record<string, string[]>, decision: BudgetStatus['decision'], downgrade_model: string | null = null): BudgetStatus => ({
  budget_id,
  scope,
  state: 'breached',
  decision,
  downgrade_model,
  period: '2026-11',
  amount: '10',
  spent: '11',
  used: '1.1',
  evaluated_at: 0,
});

describe('model rules', () => {
  const rules = [
    { team: ['search'], allow_models: ['gpt-4o*', 'claude-*'] },
    { environment: ['dev'], deny_models: ['gpt-4o'] },
  ];
  it('applies every rule that matches the team and environment: allow lists must list the model, deny wins', () => {
    expect(modelVerdict(rules, { team: 'search', environment: 'prod', model: 'gpt-4o-mini', keyModels: [] })).toEqual({ ok: true });
    expect(modelVerdict(rules, { team: 'search', environment: 'prod', model: 'o3', keyModels: [] })).toMatchObject({ ok: false, message: expect.stringContaining('not among the models allowed for team search in environment prod (policy rule 1: gpt-4o*, claude-*)') });
    expect(modelVerdict(rules, { team: 'search', environment: 'dev', model: 'gpt-4o', keyModels: [] })).toMatchObject({ ok: false, message: expect.stringContaining('denied for team search in environment dev (policy rule 2)') });
    expect(modelVerdict(rules, { team: 'ads', environment: 'prod', model: 'o3', keyModels: [] })).toEqual({ ok: true });
    expect(modelVerdict(rules, { team: null, environment: null, model: 'o3', keyModels: ['gpt-4o-mini'] })).toMatchObject({ ok: false });
  });
});

describe('budget actions', () => {
  it('blocks before it downgrades, covers a call only when every scope dimension matches, and reads tags', () => {
    const statuses = [status('b-down', { feature: ['chat'] }, 'downgrade', 'gpt-4o-mini'), status('a-block', { team: ['search'], 'tag:tier': ['free'] }, 'block'), status('c-allow', { team: ['search'] }, 'allow')];
    expect(budgetAction(statuses, { team: 'search', feature: 'chat', tags: { tier: 'free' } })).toMatchObject({ action: 'block', status: { budget_id: 'a-block' } });
    expect(budgetAction(statuses, { team: 'search', feature: 'chat', tags: { tier: 'paid' } })).toMatchObject({ action: 'downgrade', model: 'gpt-4o-mini' });
    expect(budgetAction(statuses, { team: 'search', feature: 'search', tags: {} })).toEqual({ action: 'allow' });
  });

  it('picks the first budget by id among several that cover the call, whatever the order of the feed', () => {
    const statuses = [status('z-down', { team: ['search'] }, 'downgrade', 'gpt-4o-mini'), status('m-down', { team: ['search'] }, 'downgrade', 'gpt-4.1-nano'), status('q-block', { feature: ['chat'] }, 'block'), status('k-block', { feature: ['chat'] }, 'block')];
    for (const order of [statuses, [...statuses].reverse()]) {
      expect(budgetAction(order, { team: 'search', feature: 'chat' })).toMatchObject({ action: 'block', status: { budget_id: 'k-block' } });
      expect(budgetAction(order, { team: 'search', feature: 'search' })).toMatchObject({ action: 'downgrade', status: { budget_id: 'm-down' }, model: 'gpt-4.1-nano' });
    }
  });
});

describe('key rate limits', () => {
  it('refuses a key that used its tokens for the minute until they age out', () => {
    const limiter = new KeyRateLimiter();
    const limits = { requestsPerMinute: 0, tokensPerMinute: 1000 };
    expect(limiter.admit('k', limits, 0)).toEqual({ ok: true });
    limiter.spend('k', 1200, 1_000);
    expect(limiter.admit('k', limits, 2_000)).toEqual({ ok: false, message: 'gateway key k used its 1000 tokens per minute (1200 in the last minute)', retryAfterSeconds: 59 });
    expect(limiter.admit('k', limits, 61_001)).toEqual({ ok: true });
  });
});

describe('the example gateway file', () => {
  it('loads, with its credentials read from the environment and files it names', async () => {
    const { loadGatewaySettings, upstreamFor } = await import('../../../services/gateway/gateway-config.ts');
    const { PROJECT_ROOT } = await import('../../../services/project-paths.ts');
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gateway-example-'));
    const file = join(dir, 'gateway.json');
    writeFileSync(join(dir, 'anthropic-key'), 'sk-ant-test\n');
    writeFileSync(file, readFileSync(join(PROJECT_ROOT, 'deploy/gateway.example.json'), 'utf8').replace('/run/secrets/anthropic-key', join(dir, 'anthropic-key')));
    const settings = loadGatewaySettings(file, (name) => ({ OPENAI_API_KEY: 'sk-openai', AZURE_OPENAI_KEY: 'azure-key' })[name]);
    expect(settings.upstreams.map((u) => [u.name, u.credential])).toEqual([['openai', 'sk-openai'], ['anthropic', 'sk-ant-test'], ['azure-eu', 'azure-key'], ['local-vllm', null]]);
    expect(upstreamFor(settings, 'openai', 'llama-3.1-70b')?.name).toBe('local-vllm');
    expect(upstreamFor(settings, 'anthropic', 'claude-sonnet-4-5')?.name).toBe('anthropic');
    expect(() => loadGatewaySettings(file, () => undefined)).toThrow('upstream openai reads its key from OPENAI_API_KEY, which is not set');
  });
});
