import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildHttpServer } from '../../services/api/http-server.ts';
import { BearerTokens } from '../../services/auth/bearer-tokens.ts';
import { createClickHouse, type ClickHouse } from '../../services/clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../../services/clickhouse/migrations.ts';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { registerGatewayKeyRoutes } from '../../services/gateway/gateway-key-routes.ts';
import { GatewayKeyStore, hashSecret, parseGatewayKey, type GatewayKey } from '../../services/gateway/gateway-keys.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { Metrics } from '../../services/metrics/metrics.ts';
import { SQL_DIR } from '../../services/project-paths.ts';
import { eventually, testConfig, TEST_TOKENS } from '../support/test-config.ts';

/**
 * Gateway keys on the real embedded ClickHouse, through the admin API composed
 * here as the runtime composes it: issue → the gateway's check accepts the key
 * and names its owner; lists and the table hold no secret; a revocation is
 * refused at once by the store that made it and, within its refresh interval,
 * by a second store standing for another process. Every log line, at trace
 * level, is captured and searched for secrets and hashes.
 */

const REFRESH_MS = 300;
/** Every log line any component wrote during the file, at trace level. */
const logLines: string[] = [];
const log = createLogger('trace', { write: (line: string) => void logLines.push(line) });
let config: SpendlineConfig;
let clickhouse: ClickHouse;
let keys: GatewayKeyStore;
/** The same keys as another gateway process sees them: its own copy in memory. */
let otherProcess: GatewayKeyStore;
let app: FastifyInstance;
/** Every whole key issued here, to search the logs for. */
const issuedKeys: string[] = [];

const admin = { authorization: `Bearer ${TEST_TOKENS.admin}`, 'x-spendline-actor': 'alice' };

beforeAll(async () => {
  config = testConfig(['127.0.0.1:1']);
  clickhouse = await createClickHouse(config.clickhouse, log);
  await migrate(clickhouse, readMigrations(SQL_DIR), log);
  keys = new GatewayKeyStore(clickhouse, { log, refreshMs: REFRESH_MS });
  otherProcess = new GatewayKeyStore(clickhouse, { log, refreshMs: REFRESH_MS });
  await keys.start();
  await otherProcess.start();
  app = buildHttpServer({ log, metrics: new Metrics({ processMetrics: false }), tokens: new BearerTokens(config.auth), readiness: [], bodyLimit: 1_000_000 });
  registerGatewayKeyRoutes(app, { keys });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await keys?.stop();
  await otherProcess?.stop();
  await clickhouse?.close();
});

interface Issued extends GatewayKey {
  readonly key: string;
  readonly note: string;
}

async function issue(body: Record<string, unknown>): Promise<Issued> {
  const response = await app.inject({ method: 'POST', url: '/v1/admin/gateway-keys', headers: admin, payload: body });
  expect(response.statusCode, response.body).toBe(201);
  const issued = response.json<Issued>();
  issuedKeys.push(issued.key);
  return issued;
}

async function list(query = ''): Promise<{ text: string; keys: GatewayKey[] }> {
  const response = await app.inject({ method: 'GET', url: `/v1/admin/gateway-keys${query}`, headers: admin });
  expect(response.statusCode, response.body).toBe(200);
  return { text: response.body, keys: response.json<{ gateway_keys: GatewayKey[] }>().gateway_keys };
}

function secretOf(key: string): string {
  return parseGatewayKey(key)!.secret;
}

describe('gateway keys', () => {
  it('issues a key once, and the gateway check accepts it and names its owner and limits', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/admin/gateway-keys',
      headers: admin,
      payload: { name: 'search backend', owner: { team: 'search', environment: 'prod', cost_center: 'CC-7' }, allowed_models: ['gpt-4o-mini'], requests_per_minute: 600, tokens_per_minute: 5_000_000_000 },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.headers['cache-control']).toBe('no-store');
    const issued = response.json<Issued>();
    issuedKeys.push(issued.key);
    expect(issued.key).toMatch(/^slk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseGatewayKey(issued.key)?.keyId).toBe(issued.key_id);
    expect(issued.note).toMatch(/only time the key is shown/);
    expect(issued).toMatchObject({
      name: 'search backend',
      owner: { team: 'search', feature: null, environment: 'prod', tenant_id: null, cost_center: 'CC-7', user_id: null },
      allowed_models: ['gpt-4o-mini'],
      requests_per_minute: 600,
      tokens_per_minute: 5_000_000_000,
      revoked_at: null,
      revoked_by: null,
    });
    expect(issued.created_by).toMatch(/^alice \(token [0-9a-f]{12}\)$/);

    // The store that issued it accepts it at once, with no reload to wait for.
    const { key: _key, note: _note, ...record } = issued;
    expect(keys.verify(issued.key)).toEqual(record);
    // Another process picks it up within its refresh interval.
    await eventually(async () => otherProcess.verify(issued.key) ?? undefined, { timeoutMs: REFRESH_MS * 4, intervalMs: 20, what: 'the other process to accept the new key' });
  });

  it('keeps only the hash: the table, the list and the record hold no secret, the answers no hash', async () => {
    const issued = await issue({ name: 'ads batch', owner: { team: 'ads', user_id: 'u-9' } });
    const secret = secretOf(issued.key);
    const hash = hashSecret(secret);

    const stored = await clickhouse.query({
      name: 'test_gateway_key_row',
      sql: 'SELECT secret_sha256, toJSONString(tuple(*)) AS everything FROM {db:Identifier}.gateway_keys_v1 FINAL WHERE key_id = {id:String}',
      params: { id: issued.key_id },
      schema: z.object({ secret_sha256: z.string(), everything: z.string() }),
    });
    expect(stored).toHaveLength(1);
    expect(stored[0]!.secret_sha256).toBe(hash);
    expect(stored[0]!.everything).not.toContain(secret);

    for (const query of ['', '?include_revoked=true']) {
      const listed = await list(query);
      expect(listed.keys.map((key) => key.key_id)).toContain(issued.key_id);
      expect(listed.text).not.toContain(secret);
      expect(listed.text).not.toContain(hash);
      expect(listed.text).not.toMatch(/sha256|secret/i);
      expect(listed.text).not.toMatch(/slk_/);
    }
    expect(JSON.stringify(keys.verify(issued.key))).not.toContain(hash);
  });

  it('revokes: refused at once here, within the refresh interval in another process, and no longer listed', async () => {
    const issued = await issue({ name: 'to revoke', owner: { team: 'growth' } });
    await eventually(async () => otherProcess.verify(issued.key) ?? undefined, { timeoutMs: REFRESH_MS * 4, intervalMs: 20, what: 'the other process to accept the key' });

    const response = await app.inject({ method: 'DELETE', url: `/v1/admin/gateway-keys/${issued.key_id}`, headers: { ...admin, 'x-spendline-actor': 'bob' } });
    const revokedAt = Date.now();
    expect(response.statusCode, response.body).toBe(200);
    const revoked = response.json<GatewayKey>();
    expect(revoked).toMatchObject({ key_id: issued.key_id, owner: issued.owner, created_at: issued.created_at });
    expect(revoked.revoked_at).not.toBeNull();
    expect(revoked.revoked_by).toMatch(/^bob \(token [0-9a-f]{12}\)$/);
    expect(keys.verify(issued.key)).toBeNull();

    await eventually(async () => (otherProcess.verify(issued.key) === null ? true : undefined), { timeoutMs: REFRESH_MS * 4, intervalMs: 10, what: 'the other process to refuse the revoked key' });
    // Within one refresh interval (plus the read itself and the polling step).
    expect(Date.now() - revokedAt).toBeLessThan(REFRESH_MS + 400);

    expect((await list()).keys.map((key) => key.key_id)).not.toContain(issued.key_id);
    const everything = await list('?include_revoked=true');
    expect(everything.keys.find((key) => key.key_id === issued.key_id)).toEqual(revoked);

    // Revoking again changes nothing, and the key stays refused after any number of reloads.
    const again = await app.inject({ method: 'DELETE', url: `/v1/admin/gateway-keys/${issued.key_id}`, headers: admin });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(revoked);
    await keys.reload();
    await otherProcess.reload();
    expect(keys.verify(issued.key)).toBeNull();
    expect(otherProcess.verify(issued.key)).toBeNull();
  });

  it('refuses malformed and unknown keys, and a real key id with the wrong secret', async () => {
    const issued = await issue({ name: 'probe target', owner: { team: 'search' } });
    const secret = secretOf(issued.key);
    const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const candidates = [
      '',
      'slk_',
      `Bearer ${issued.key}`,
      `${issued.key} `,
      issued.key.toUpperCase(),
      `slk_${issued.key_id}_${flipped}`,
      `slk_${issued.key_id}_${secret.slice(1)}`,
      `slk_aaaaaaaaaaaa_${secret}`,
      issued.key_id,
      hashSecret(secret),
      `slk_${issued.key_id}_${hashSecret(secret)}`,
    ];
    for (const token of candidates) expect(keys.verify(token), token).toBeNull();
    expect(keys.verify(issued.key)?.key_id).toBe(issued.key_id);
  });

  it('answers 404 for an unknown or malformed key id, without echoing a whole key', async () => {
    const unknown = await app.inject({ method: 'DELETE', url: '/v1/admin/gateway-keys/aaaaaaaaaaaa', headers: admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: { code: 'not_found', message: 'no gateway key aaaaaaaaaaaa' } });

    const issued = await issue({ name: 'pasted whole', owner: { team: 'search' } });
    const pasted = await app.inject({ method: 'DELETE', url: `/v1/admin/gateway-keys/${issued.key}`, headers: admin });
    expect(pasted.statusCode).toBe(404);
    expect(pasted.body).not.toContain(secretOf(issued.key));
    expect(keys.verify(issued.key)?.key_id).toBe(issued.key_id);
  });

  it('says which field is wrong, and is for admins only', async () => {
    const invalid = await app.inject({ method: 'POST', url: '/v1/admin/gateway-keys', headers: admin, payload: { name: 'x', owner: { feature: 'f' }, requests_per_minute: -5, tokens: 1 } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({
      error: {
        code: 'invalid_request',
        message: 'invalid gateway key request',
        issues: expect.arrayContaining([
          { path: 'owner.team', message: 'is required' },
          { path: 'requests_per_minute', message: 'must not be negative' },
          { path: '', message: 'unknown field: tokens' },
        ]),
      },
    });
    const badQuery = await app.inject({ method: 'GET', url: '/v1/admin/gateway-keys?include_revoked=yes', headers: admin });
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error.issues).toEqual([{ path: 'include_revoked', message: 'must be true or false' }]);

    for (const headers of [{}, { authorization: `Bearer ${TEST_TOKENS.reader}` }, { authorization: `Bearer ${TEST_TOKENS.ingest}` }]) {
      for (const [method, url] of [['GET', '/v1/admin/gateway-keys'], ['POST', '/v1/admin/gateway-keys'], ['DELETE', '/v1/admin/gateway-keys/aaaaaaaaaaaa']] as const) {
        const response = await app.inject({ method, url, headers, ...(method === 'POST' ? { payload: { name: 'k', owner: { team: 't' } } } : {}) });
        expect([401, 403], `${method} ${url}`).toContain(response.statusCode);
      }
    }
  });

  it('documents every route', async () => {
    const document = (await app.inject({ method: 'GET', url: '/docs/openapi.json' })).json<{ paths: Record<string, Record<string, { tags: string[]; 'x-spendline-role': string }>>; 'x-undocumented-routes'?: string[] }>();
    expect(document['x-undocumented-routes']).toBeUndefined();
    expect(document.paths['/v1/admin/gateway-keys']?.['post']).toMatchObject({ tags: ['gateway'], 'x-spendline-role': 'admin' });
    expect(document.paths['/v1/admin/gateway-keys']?.['get']).toMatchObject({ tags: ['gateway'], 'x-spendline-role': 'admin' });
    expect(document.paths['/v1/admin/gateway-keys/{id}']?.['delete']).toMatchObject({ tags: ['gateway'], 'x-spendline-role': 'admin' });
  });

  it('never logs a secret or its hash, only key ids', async () => {
    // Let the scheduled reloads run a few times too.
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS * 2));
    expect(issuedKeys.length).toBeGreaterThan(3);
    const logs = logLines.join('');
    expect(logs).toContain('gateway key issued');
    expect(logs).toContain('gateway key revoked');
    expect(logs).toContain('gateway_keys_in_force');
    for (const key of issuedKeys) {
      const { keyId, secret } = parseGatewayKey(key)!;
      expect(logs).toContain(keyId);
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(hashSecret(secret));
    }
  });
});
