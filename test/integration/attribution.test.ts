import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { rollupAndRecomputation } from '../support/rollup-check.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * Attribution end to end: the policy file decides at ingest (reject), in the
 * enricher (normalize, API keys, rules, requirements, lineage), in reports
 * (environment scope, attribution quality) and in re-attribution runs.
 * All tests share one database: each uses its own day of November 2026, its own
 * event ids, teams and gateways, and leaves the base policy in force.
 *
 * Prices (gpt-4o-mini): 0.15 USD per million input tokens, 0.6 per million output.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const M = 1_000_000;
let running: RunningProcess;
let policyFile: string;
let policyWrites = 0;

const BASE_POLICY = {
  version: 'test-1',
  api_keys: { 'key-payments': { team: 'payments' } },
  requirements: [
    { id: 'prod-owner', when: { environment: 'prod' }, dimensions: ['team'], on_missing: 'reject' },
    { id: 'staging-owner', when: { environment: 'staging' }, dimensions: ['team'], on_missing: 'unattributed' },
    { id: 'dev-platform', when: { environment: 'dev' }, dimensions: ['team'], on_missing: 'default', defaults: { team: 'platform' } },
  ],
};

/** Writes the policy file with an mtime of its own, so the reload check (size or mtime) always sees the change. */
function writePolicy(policy: object): void {
  writeFileSync(policyFile, JSON.stringify(policy, null, 2));
  const at = new Date(Date.UTC(2026, 0, 1) + ++policyWrites * 60_000);
  utimesSync(policyFile, at, at);
}

beforeAll(async () => {
  const brokers = inject('kafkaBrokers');
  policyFile = join(mkdtempSync(join(tmpdir(), 'spendline-policy-')), 'attribution-policy.json');
  writeFileSync(policyFile, JSON.stringify(BASE_POLICY));
  const config = testConfig(brokers, { SPENDLINE_ATTRIBUTION_POLICY: policyFile });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers, log, processMetrics: false });
});

afterAll(async () => {
  await running?.stop();
});

/** A response body; its shape is what the assertions check. */
type Json = Record<string, any>;

async function call(method: 'GET' | 'POST', url: string, token: string | null, payload?: unknown): Promise<{ status: number; body: Json }> {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const response = await running.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: response.statusCode, body: response.json() as Json };
}
const get = (url: string, token: string | null = TEST_TOKENS.reader) => call('GET', url, token);
const asAdmin = (method: 'GET' | 'POST', url: string, payload?: unknown) => call(method, url, TEST_TOKENS.admin, payload);
const ingest = (events: unknown[]) => call('POST', '/v1/events', TEST_TOKENS.ingest, events);

const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}`;
/** One day as a report range and as a restatement range. */
const span = (d: number) => ({ from: `${day(d)}T00:00:00Z`, to: `${day(d + 1)}T00:00:00Z` });
const range = (d: number) => `from=${span(d).from}&to=${span(d).to}`;

/** A usage event on day `d`; a field given as undefined is left out (usageEventJson sends team search, environment prod). */
function event(id: string, d: number, fields: Record<string, unknown>): Record<string, unknown> {
  const json = usageEventJson({ event_id: id, occurred_at: `${day(d)}T10:00:00.000Z`, ...fields });
  return Object.fromEntries(Object.entries(json).filter(([, value]) => value !== undefined));
}

async function report(path: string): Promise<Json> {
  const response = await get(path);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** Waits until `count` events of day `d` are stored (every environment). */
async function stored(d: number, count: number): Promise<void> {
  const check = async () => ((await report(`/v1/reports/cost?${range(d)}&environment=all`)).rows[0]?.events === count ? true : undefined);
  await eventually(check, { what: `${count} stored events on ${day(d)}` });
}

const history = async (id: string) => (await get(`/v1/events/${id}/history`)).body;
/** An event's versions as [kind, team, status]. */
const versions = (body: Json) => body.history.map((version: Json) => [version.kind, version.attribution.team, version.attribution.status]);
const reattribute = (d: number, extra: Record<string, unknown> = {}) => asAdmin('POST', '/v1/admin/reattribute', { ...span(d), ...extra });

describe('ingest rejection by requirement', () => {
  it('refuses a prod event without team, naming the field; an API key mapping fills it first', async () => {
    const mixed = await ingest([event('rej-ok', 3, { team: 'checkout', input_tokens: M, output_tokens: 0 }), event('rej-noteam', 3, { team: undefined })]);
    expect(mixed).toEqual({
      status: 207,
      body: {
        accepted: 1, rejected: 1,
        results: [
          { index: 0, event_id: 'rej-ok', status: 'accepted' },
          { index: 1, event_id: 'rej-noteam', status: 'rejected', errors: [{ path: 'team', message: 'is required by the attribution policy (requirement "prod-owner")' }] },
        ],
      },
    });
    // "PRD" is an alias of prod, resolved before the requirement is checked; none valid → 400.
    const none = await ingest([event('rej-prd', 3, { team: undefined, environment: 'PRD' })]);
    expect(none.status).toBe(400);
    expect(none.body).toMatchObject({ error: { code: 'invalid_events' }, accepted: 0, rejected: 1, results: [{ event_id: 'rej-prd', status: 'rejected', errors: [{ path: 'team' }] }] });

    // key-payments is mapped to team payments: the mapping runs before the requirement.
    const keyed = await ingest([event('rej-key', 3, { team: undefined, api_key_id: 'key-payments', input_tokens: 2 * M, output_tokens: 0 })]);
    expect(keyed.status).toBe(200);
    await stored(3, 2);
    expect((await history('rej-key')).current).toMatchObject({
      kind: 'ingest',
      cost: '0.3', // 2,000,000 × 0.15 / 10^6
      attribution: { team: 'payments', environment: 'prod', status: 'fixed_by_rule', policy_version: 'test-1', lineage: [{ rule: 'api_key:key-payments', dimension: 'team', from: null, to: 'payments' }] },
    });
    expect((await history('rej-ok')).current.attribution).toMatchObject({ team: 'checkout', status: 'complete', lineage: [] });
    expect((await get('/v1/events/rej-noteam/history')).status).toBe(404);
  });
});

describe('normalization and lineage', () => {
  it('stores Production / " Search " as prod / search and records each change', async () => {
    const posted = await ingest([event('norm-1', 4, { environment: 'Production', team: ' Search ', cost_center: 'CC-7', input_tokens: M, output_tokens: M })]);
    expect(posted.status).toBe(200);
    await stored(4, 1);
    // 1,000,000 in × 0.15 + 1,000,000 out × 0.6 = 0.75
    expect((await report(`/v1/reports/cost?${range(4)}&group_by=team,environment,cost_center`)).rows).toEqual([
      expect.objectContaining({ team: 'search', environment: 'prod', cost_center: 'cc-7', cost: '0.75', events: 1 }),
    ]);
    const body = await history('norm-1');
    expect(body.history).toHaveLength(1);
    expect(body.current.attribution).toEqual({
      tenant_id: null, cost_center: 'cc-7', team: 'search', feature: null, environment: 'prod', status: 'complete', policy_version: 'test-1',
      // The wire format already trims (" Search " arrives as "Search"); the policy lower-cases and resolves aliases.
      lineage: [
        { rule: 'normalize', dimension: 'cost_center', from: 'CC-7', to: 'cc-7' },
        { rule: 'normalize', dimension: 'team', from: 'Search', to: 'search' },
        { rule: 'normalize', dimension: 'environment', from: 'Production', to: 'prod' },
      ],
    });
  });
});

describe('unattributed bucket and defaults', () => {
  it('keeps a staging event without team as unattributed and fills dev with the default team', async () => {
    const posted = await ingest([
      event('bucket-u', 6, { environment: 'staging', team: undefined, gateway_id: 'gw-bucket', input_tokens: M, output_tokens: 0 }), // 0.15
      event('bucket-d', 6, { environment: 'local', team: undefined, input_tokens: 2 * M, output_tokens: 0 }), // 0.3, local → dev
      event('bucket-c', 6, { environment: 'dev', team: 'ml', input_tokens: 0, output_tokens: M }), // 0.6
    ]);
    expect(posted.status).toBe(200);
    await stored(6, 3);
    expect((await history('bucket-u')).current.attribution).toMatchObject({ team: null, environment: 'staging', status: 'unattributed', lineage: [] });
    expect((await history('bucket-d')).current.attribution).toMatchObject({
      team: 'platform', environment: 'dev', status: 'defaulted',
      lineage: [
        { rule: 'normalize', dimension: 'environment', from: 'local', to: 'dev' },
        { rule: 'default:dev-platform', dimension: 'team', from: null, to: 'platform' },
      ],
    });
    // Unattributed spend is shown as team null, never hidden.
    expect((await report(`/v1/reports/cost?${range(6)}&group_by=team&environment=all`)).rows).toEqual([
      expect.objectContaining({ team: 'ml', cost: '0.6', events: 1 }),
      expect.objectContaining({ team: 'platform', cost: '0.3', events: 1 }),
      expect.objectContaining({ team: null, cost: '0.15', events: 1 }),
    ]);
    const quality = await report(`/v1/reports/attribution-quality?${range(6)}&group_by=environment&environment=all`);
    expect(quality.rows).toEqual([
      expect.objectContaining({ environment: 'dev', events: 2, cost: '0.9', complete: { events: 1, cost: '0.6', event_share: '0.5', cost_share: '0.6667' }, defaulted: { events: 1, cost: '0.3', event_share: '0.5', cost_share: '0.3333' } }),
      expect.objectContaining({ environment: 'staging', events: 1, cost: '0.15', unattributed: { events: 1, cost: '0.15', event_share: '1', cost_share: '1' } }),
    ]);
  });
});

describe('environment isolation in reports', () => {
  it('leaves dev and staging out of the default cost report, and says so', async () => {
    const posted = await ingest([
      event('env-prod', 5, { team: 'iso-a', input_tokens: M, output_tokens: 0 }), // 0.15
      event('env-dev', 5, { environment: 'development', team: 'iso-b', input_tokens: 2 * M, output_tokens: 0 }), // 0.3
      event('env-stg', 5, { environment: 'stg', team: 'iso-c', input_tokens: 0, output_tokens: M }), // 0.6
      event('env-none', 5, { environment: undefined, team: 'iso-d', input_tokens: 0, output_tokens: 100_000 }), // 0.06
    ]);
    expect(posted.status).toBe(200);
    await stored(5, 4);
    const byDefault = await report(`/v1/reports/cost?${range(5)}`);
    expect(byDefault.environments).toEqual({ scope: 'default', excluded: ['dev', 'staging', 'test'] });
    // prod 0.15 + no environment 0.06 (unattributed spend stays visible)
    expect(byDefault.rows).toEqual([expect.objectContaining({ cost: '0.21', events: 2 })]);
    expect((await report(`/v1/reports/cost?${range(5)}&group_by=environment`)).rows).toEqual([
      expect.objectContaining({ environment: 'prod', cost: '0.15' }),
      expect.objectContaining({ environment: null, cost: '0.06' }),
    ]);
    const all = await report(`/v1/reports/cost?${range(5)}&environment=all`);
    expect(all.environments).toEqual({ scope: 'all' });
    expect(all.rows).toEqual([expect.objectContaining({ cost: '1.11', events: 4 })]);
    const dev = await report(`/v1/reports/cost?${range(5)}&environment=dev`);
    expect(dev.environments).toEqual({ scope: 'only', included: ['dev'] });
    expect(dev.rows).toEqual([expect.objectContaining({ cost: '0.3', events: 1 })]);
    // Asked for with the spellings the policy resolves.
    const listed = await report(`/v1/reports/cost?${range(5)}&environment=development,STG`);
    expect(listed.environments).toEqual({ scope: 'only', included: ['dev', 'staging'] });
    expect(listed.rows).toEqual([expect.objectContaining({ cost: '0.9', events: 2 })]);
  });
});

describe('attribution quality report', () => {
  it('gives exact events, cost and shares per status, and the top unattributed sources', async () => {
    const posted = await ingest([
      event('q-complete', 9, { team: 'q-team', input_tokens: M, output_tokens: 0 }), // prod, complete: 0.15
      event('q-fixed', 9, { team: undefined, api_key_id: 'key-payments', input_tokens: 2 * M, output_tokens: 0 }), // prod, fixed_by_rule: 0.3
      event('q-default', 9, { environment: 'dev', team: undefined, input_tokens: M, output_tokens: M }), // defaulted: 0.15 + 0.6 = 0.75
      event('q-u1', 9, { environment: 'staging', team: undefined, gateway_id: 'gw-qa', api_key_id: 'key-orphan', input_tokens: M, output_tokens: 500_000 }), // 0.15 + 0.3 = 0.45
      event('q-u2', 9, { environment: 'staging', team: undefined, gateway_id: 'gw-qa', api_key_id: 'key-orphan', input_tokens: M, output_tokens: 500_000 }), // 0.45
      event('q-u3', 9, { environment: 'staging', team: undefined, gateway_id: 'gw-qb', input_tokens: M, output_tokens: 0 }), // 0.15
    ]);
    expect(posted.status).toBe(200);
    await stored(9, 6);
    // Total 0.15 + 0.3 + 0.75 + 1.05 = 2.25 over 6 events. Shares are exact, 4 decimals, trailing zeros dropped.
    const all = await report(`/v1/reports/attribution-quality?${range(9)}&group_by=&environment=all`);
    expect(all.rows).toEqual([
      {
        events: 6,
        cost: '2.25',
        complete: { events: 1, cost: '0.15', event_share: '0.1667', cost_share: '0.0667' }, // 1/6, 0.15/2.25
        fixed_by_rule: { events: 1, cost: '0.3', event_share: '0.1667', cost_share: '0.1333' }, // 0.3/2.25
        defaulted: { events: 1, cost: '0.75', event_share: '0.1667', cost_share: '0.3333' }, // 0.75/2.25
        unattributed: { events: 3, cost: '1.05', event_share: '0.5', cost_share: '0.4667' }, // 1.05/2.25
        unassessed: { events: 0, cost: '0', event_share: '0', cost_share: '0' },
      },
    ]);
    expect(all.top_unattributed_sources).toEqual([
      { gateway_id: 'gw-qa', api_key_id: 'key-orphan', missing_dimensions: ['team'], events: 2, cost: '0.9' },
      { gateway_id: 'gw-qb', api_key_id: null, missing_dimensions: ['team'], events: 1, cost: '0.15' },
    ]);
    expect((await report(`/v1/reports/attribution-quality?${range(9)}&group_by=&environment=all&top=1`)).top_unattributed_sources).toHaveLength(1);
    // Default scope: production only (0.15 + 0.3), so no unattributed source is left.
    const production = await report(`/v1/reports/attribution-quality?${range(9)}&group_by=`);
    expect(production.environments).toEqual({ scope: 'default', excluded: ['dev', 'staging', 'test'] });
    expect(production.rows).toEqual([
      expect.objectContaining({ events: 2, cost: '0.45', complete: { events: 1, cost: '0.15', event_share: '0.5', cost_share: '0.3333' }, fixed_by_rule: { events: 1, cost: '0.3', event_share: '0.5', cost_share: '0.6667' } }),
    ]);
    expect(production.top_unattributed_sources).toEqual([]);
  });
});

describe('re-attribution after a policy change', () => {
  const WITH_RULE = { ...BASE_POLICY, version: 'test-2', rules: [{ id: 'search-by-feature', when: { feature: { prefix: 'search-' } }, set: { team: 'search' } }] };
  const teams = async () => (await report(`/v1/reports/cost?${range(7)}&group_by=team&environment=staging`)).rows;

  it('moves unattributed spend to the rule\'s team, idempotently, and undoes a removed rule', async () => {
    const posted = await ingest([
      event('ra-1', 7, { environment: 'staging', team: undefined, feature: 'search-autocomplete', gateway_id: 'gw-ra', input_tokens: M, output_tokens: 0 }), // 0.15
      event('ra-2', 7, { environment: 'staging', team: undefined, feature: 'Search-Ranking', gateway_id: 'gw-ra2', input_tokens: 2 * M, output_tokens: 0 }), // 0.3
      event('ra-3', 7, { environment: 'staging', team: 'ads', feature: 'search-ads', gateway_id: 'gw-ra', input_tokens: 0, output_tokens: M }), // 0.6, has a team: the rule only fills
      event('ra-4', 7, { environment: 'staging', team: undefined, feature: 'chat', gateway_id: 'gw-ra', input_tokens: 0, output_tokens: 100_000 }), // 0.06
    ]);
    expect(posted.status).toBe(200);
    await stored(7, 4);
    const first = await teams();
    expect(first).toEqual([
      expect.objectContaining({ team: 'ads', cost: '0.6', events: 1 }),
      expect.objectContaining({ team: null, cost: '0.51', events: 3 }), // 0.15 + 0.3 + 0.06
    ]);

    try {
      writePolicy(WITH_RULE);
      const runsBefore = (await asAdmin('GET', '/v1/admin/restatements')).body.runs.length;
      // Dry runs compute (narrowed by gateway, or not) and write nothing.
      expect((await reattribute(7, { gateway_id: 'gw-ra2', dry_run: true })).body).toMatchObject({ status: 'dry_run', run_id: null, events_examined: 1, events_changed: 1 });
      expect((await reattribute(7, { dry_run: true })).body).toMatchObject({ status: 'dry_run', run_id: null, events_examined: 4, events_changed: 2, cost_before: '0.45', cost_after: '0.45' });
      expect(await teams()).toEqual(first);
      expect((await asAdmin('GET', '/v1/admin/restatements')).body.runs).toHaveLength(runsBefore);

      const run = await reattribute(7);
      expect(run).toEqual({
        status: 200,
        body: { run_id: expect.any(Number), kind: 'reattribute', status: 'committed', price_version: expect.any(String), events_examined: 4, events_changed: 2, cost_before: '0.45', cost_after: '0.45', policy_version: 'test-2' },
      });
      expect(await teams()).toEqual([
        expect.objectContaining({ team: 'ads', cost: '0.6', events: 1 }),
        expect.objectContaining({ team: 'search', cost: '0.45', events: 2 }),
        expect.objectContaining({ team: null, cost: '0.06', events: 1 }),
      ]);
      const quality = await report(`/v1/reports/attribution-quality?${range(7)}&group_by=&environment=staging`);
      expect(quality.rows[0]).toMatchObject({ events: 4, fixed_by_rule: { events: 2, cost: '0.45' }, unattributed: { events: 1, cost: '0.06' }, complete: { events: 1, cost: '0.6' } });

      const again = await reattribute(7);
      expect(again.body).toMatchObject({ status: 'committed', run_id: run.body.run_id + 1, events_examined: 4, events_changed: 0 });
      const runs = (await asAdmin('GET', '/v1/admin/restatements')).body.runs;
      expect(runs.find((listed: Json) => listed.run_id === run.body.run_id)).toEqual({
        run_id: run.body.run_id, kind: 'reattribute', status: 'committed', range_from: '2026-11-07T00:00:00.000Z', range_to: '2026-11-08T00:00:00.000Z',
        filters: [], price_version: expect.any(String), policy_version: 'test-2', events_examined: 4, events_changed: 2, updated_at: expect.any(String),
      });
      const changed = await history('ra-2');
      expect(versions(changed)).toEqual([
        ['ingest', null, 'unattributed'],
        ['reattribute', 'search', 'fixed_by_rule'],
      ]);
      expect(changed.current).toMatchObject({
        pricing_run: run.body.run_id, cost: '0.3',
        attribution: {
          feature: 'search-ranking', policy_version: 'test-2',
          lineage: [
            { rule: 'normalize', dimension: 'feature', from: 'Search-Ranking', to: 'search-ranking' },
            { rule: 'rule:search-by-feature', dimension: 'team', from: null, to: 'search' },
          ],
        },
      });
    } finally {
      writePolicy(BASE_POLICY);
    }

    // The rule is gone: re-attributing from what the events arrived with undoes it exactly.
    const undo = await reattribute(7);
    expect(undo.body).toMatchObject({ status: 'committed', policy_version: 'test-1', events_examined: 4, events_changed: 2 });
    expect(await teams()).toEqual(first);
    expect(versions(await history('ra-1'))).toEqual([
      ['ingest', null, 'unattributed'],
      ['reattribute', 'search', 'fixed_by_rule'],
      ['reattribute', null, 'unattributed'],
    ]);
    expect((await reattribute(7)).body).toMatchObject({ events_changed: 0 });
  });
});

describe('policy administration', () => {
  const policyInForce = async () => (await asAdmin('GET', '/v1/admin/attribution/policy')).body;
  /** The policy in force once it is the base one with no failed reload (a reload is noticed within 5 s). */
  const basePolicyInForce = () =>
    eventually(async () => {
      const body = await policyInForce();
      return body.version === 'test-1' && body.last_failed_reload === null ? body : undefined;
    }, { timeoutMs: 15_000, what: 'the base policy in force' });

  it('shows the policy in force, and keeps it when an edit on disk is invalid', async () => {
    expect(await basePolicyInForce()).toEqual({
      version: 'test-1',
      file: policyFile,
      loaded_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      last_failed_reload: null,
      policy: expect.objectContaining({ version: 'test-1', api_keys: BASE_POLICY.api_keys, rules: [], non_production_environments: ['dev', 'staging', 'test'] }),
    });
    try {
      writePolicy({ ...BASE_POLICY, version: 'broken-1', requirements: [{ id: 'prod-owner', dimensions: ['team'], on_missing: 'explode' }] });
      // Checked at most every 5 s.
      const failed = await eventually(async () => {
        const body = await policyInForce();
        return body.last_failed_reload ? body : undefined;
      }, { timeoutMs: 15_000, what: 'the failed reload' });
      expect(failed.version).toBe('test-1');
      expect(failed.last_failed_reload).toEqual({ at: expect.any(String), message: expect.stringContaining('requirements[0].on_missing: must be one of reject, unattributed, default') });

      // The old policy still decides: prod-owner rejects, and stored events carry test-1.
      expect((await ingest([event('adm-noteam', 8, { team: undefined })])).status).toBe(400);
      expect((await ingest([event('adm-ok', 8, { team: 'Ops', environment: 'Production' })])).status).toBe(200);
      await stored(8, 1);
      expect((await history('adm-ok')).current.attribution).toMatchObject({ team: 'ops', environment: 'prod', status: 'complete', policy_version: 'test-1' });
      // Re-attributing now would restate with test-1, not the edit the operator made: refused, saying why.
      const refused = await asAdmin('POST', '/v1/admin/reattribute', { from: '2026-11-08T00:00:00Z', to: '2026-11-09T00:00:00Z' });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'policy_not_loaded', message: expect.stringContaining('previous version test-1') });
    } finally {
      writePolicy(BASE_POLICY);
    }
    await basePolicyInForce();
  });

  it('validates a candidate policy and shows how it would attribute samples', async () => {
    const invalid = await asAdmin('POST', '/v1/admin/attribution/policy/validate', {
      policy: { rules: [{ id: 'bad id', when: {}, set: { team: 'x' } }], requirements: [{ id: 'r', dimensions: ['team'], on_missing: 'sometimes' }] },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body).toMatchObject({ valid: false, error: { code: 'invalid_policy' } });
    // Every problem at once, each path prefixed with "policy.".
    expect(invalid.body.error.issues).toEqual([
      { path: 'policy.rules[0].id', message: 'must be 1-64 letters, digits, ".", "_" or "-"' },
      { path: 'policy.rules[0].when', message: 'must test at least one field' },
      { path: 'policy.requirements[0].on_missing', message: 'must be one of reject, unattributed, default' },
    ]);

    const candidate = { version: 'cand-1', requirements: [{ id: 'prod-full', when: { environment: 'prod' }, dimensions: ['team', 'feature'], on_missing: 'reject' }] };
    const checked = await asAdmin('POST', '/v1/admin/attribution/policy/validate', {
      policy: candidate,
      events: [event('val-1', 10, { feature: undefined }), event('val-2', 10, { feature: 'Answers' }), event('val-3', 10, { input_tokens: -1 })],
    });
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({ valid: true, version: 'cand-1', rules: 0, requirements: 1 });
    expect(checked.body.samples).toEqual([
      expect.objectContaining({ index: 0, valid: true, event_id: 'val-1', outcome: 'rejected', issues: [{ path: 'feature', message: 'is required by the attribution policy (requirement "prod-full")' }] }),
      expect.objectContaining({ index: 1, valid: true, event_id: 'val-2', outcome: 'accepted', attribution: expect.objectContaining({ status: 'complete', policy_version: 'cand-1' }), resolved: expect.objectContaining({ team: 'search', feature: 'answers', environment: 'prod' }) }),
      { index: 2, valid: false, issues: [{ path: 'events[2].input_tokens', message: 'must not be negative' }] },
    ]);
    // Validating changes nothing in force.
    expect((await policyInForce()).version).toBe('test-1');
  });

  // Fails today (service bug): a bad field used as a record key (rule `when`/`set`, defaults, api_keys) is
  // reported as zod's generic "Invalid key in record"; the schema's own message never reaches the admin.
  it('says why a rule may not test an unknown field or set api_key_id', async () => {
    const invalid = await asAdmin('POST', '/v1/admin/attribution/policy/validate', { policy: { rules: [{ id: 'r', when: { nope: 'x' }, set: { api_key_id: 'k' } }] } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.issues).toEqual([
      { path: 'policy.rules[0].when.nope', message: expect.stringMatching(/^must be an event field \(provider, model, .*\) or tags\.<key>$/) },
      { path: 'policy.rules[0].set.api_key_id', message: 'must be a dimension a rule may set (tenant_id, cost_center, team, feature, environment, user_id, session_id, agent_run_id) or tags.<key>' },
    ]);
  });

  it('answers 403 to a reader on admin routes and 401 without a token', async () => {
    const adminRoutes: ['GET' | 'POST', string, unknown][] = [
      ['GET', '/v1/admin/attribution/policy', undefined],
      ['POST', '/v1/admin/attribution/policy/validate', { policy: {} }],
      ['POST', '/v1/admin/reattribute', { ...span(11), dry_run: true }],
      ['GET', '/v1/admin/restatements', undefined],
    ];
    for (const [method, url, payload] of adminRoutes) {
      expect(await call(method, url, TEST_TOKENS.reader, payload), `${method} ${url}`).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      expect((await call(method, url, null, payload)).status, `${method} ${url}`).toBe(401);
    }
    expect((await get(`/v1/reports/attribution-quality?${range(11)}`, null)).status).toBe(401);
    expect((await get(`/v1/reports/attribution-quality?${range(11)}`)).status).toBe(200);
  });
});

describe('the hourly rollup', () => {
  it('stays equal to a recomputation from the events after re-attribution', async () => {
    for (const view of ['usage_hourly_costs_v1', 'usage_hourly_owner_costs_v1', 'usage_daily_owner_costs_v1'] as const) {
      const { rollup, recomputed } = await rollupAndRecomputation(running.clickhouse!, view);
      expect(rollup.length).toBeGreaterThan(0);
      expect(rollup).toEqual(recomputed);
    }
  });
});
