import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EVENT_LIMITS } from '@spendline/emitter/usage-event';
import { z } from 'zod';
import { clickHouseTimeToIso, formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * Gateway API keys: what a team's caller presents to the gateway. A key is
 * `slk_<key_id>_<secret>`: the key id is public (logs, the admin API, usage
 * events' api_key_id), the secret is shown once when the key is issued and
 * only its SHA-256 is stored (gateway_keys_v1, sql/011). Each key maps to the
 * owner its calls are attributed to and carries the key's limits.
 */

/** Key id: 12 characters of lower-case RFC 4648 base32 (60 random bits). */
const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const KEY_ID_LENGTH = 12;
/** Random bytes in a secret; base64url without padding makes 43 characters. */
const SECRET_BYTES = 32;
const SECRET_LENGTH = Math.ceil((SECRET_BYTES * 8) / 6);
const KEY_PATTERN = new RegExp(`^slk_([${KEY_ID_ALPHABET}]{${KEY_ID_LENGTH}})_([A-Za-z0-9_-]{${SECRET_LENGTH}})$`);
const KEY_ID_PATTERN = new RegExp(`^[${KEY_ID_ALPHABET}]{${KEY_ID_LENGTH}}$`);

export const GATEWAY_KEY_LIMITS = {
  maxNameLength: 100,
  maxAllowedModels: 200,
  /** The column is UInt32. */
  maxRequestsPerMinute: 4_294_967_295,
  maxTokensPerMinute: Number.MAX_SAFE_INTEGER,
} as const;

export interface ParsedGatewayKey {
  readonly keyId: string;
  readonly secret: string;
}

/** A new key id and secret from the system's CSPRNG. */
export function generateGatewayKey(): ParsedGatewayKey & { readonly key: string } {
  // 256 is a multiple of 32, so each byte masked to 5 bits is a uniform base32 digit.
  const keyId = [...randomBytes(KEY_ID_LENGTH)].map((byte) => KEY_ID_ALPHABET[byte & 31]).join('');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { keyId, secret, key: `slk_${keyId}_${secret}` };
}

/** The key id and secret of a well-formed key, or null: anything else (prefix, lengths, characters, whitespace) is refused. */
export function parseGatewayKey(token: string): ParsedGatewayKey | null {
  if (typeof token !== 'string') return null;
  const match = KEY_PATTERN.exec(token);
  return match ? { keyId: match[1]!, secret: match[2]! } : null;
}

const KEY_IN_TEXT = new RegExp(`slk_([${KEY_ID_ALPHABET}]{${KEY_ID_LENGTH}})_[A-Za-z0-9_-]{${SECRET_LENGTH}}`, 'g');

/**
 * `text` with the secret of every gateway key in it replaced (`slk_<key_id>_[redacted]`), for text bound for
 * logs that may hold a key by mistake: a URL, an upstream error message echoing a header.
 */
export function redactGatewayKeys(text: string): string {
  return text.replace(KEY_IN_TEXT, 'slk_$1_[redacted]');
}

export function isGatewayKeyId(text: string): boolean {
  return KEY_ID_PATTERN.test(text);
}

/** Lower-case hex SHA-256 of a secret: what is stored in place of it. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** True when `secret` hashes to `storedSha256` (hex), compared in constant time. */
export function secretMatches(secret: string, storedSha256: string): boolean {
  const stored = Buffer.from(storedSha256, 'hex');
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

// Owner values are usage-event dimension values: the same limits and checks as the event's
// attribution fields (@spendline/emitter/usage-event), trimmed, blank meaning unset.
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;
const text = (max: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? value.trim() : value),
    z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters'),
  );
const dimension = text(EVENT_LIMITS.maxNameLength);
const optionalDimension = z.preprocess((value) => (value === null || (typeof value === 'string' && value.trim() === '') ? undefined : value), dimension.optional());
const perMinute = (max: number) => z.number().int('must be a whole number').min(0, 'must not be negative').max(max, `must be at most ${max}`);

export const gatewayKeyOwner = z.strictObject({
  team: dimension.describe('Team the calls made with this key are attributed to'),
  feature: optionalDimension.describe('Feature the calls are attributed to'),
  environment: optionalDimension.describe('Environment (prod, staging, ...) the calls are attributed to'),
  tenant_id: optionalDimension.describe('Customer tenant the calls are attributed to'),
  cost_center: optionalDimension.describe('Cost center the calls are charged to'),
  user_id: optionalDimension.describe('User the calls are attributed to'),
});

/** The body of POST /v1/admin/gateway-keys. Unknown fields are refused so a misspelt limit cannot vanish. */
export const gatewayKeyRequest = z.strictObject({
  name: text(GATEWAY_KEY_LIMITS.maxNameLength).describe('What the key is for, in words'),
  owner: gatewayKeyOwner,
  allowed_models: z
    .array(dimension)
    .max(GATEWAY_KEY_LIMITS.maxAllowedModels, `must list at most ${GATEWAY_KEY_LIMITS.maxAllowedModels} models`)
    .transform((models) => [...new Set(models)])
    .default([])
    .describe('Model names the key may call, as callers name them; empty or absent: any model'),
  requests_per_minute: perMinute(GATEWAY_KEY_LIMITS.maxRequestsPerMinute).default(0).describe('Most calls per minute; 0 or absent: unlimited'),
  tokens_per_minute: perMinute(GATEWAY_KEY_LIMITS.maxTokensPerMinute).default(0).describe('Most tokens (input plus output) per minute; 0 or absent: unlimited'),
});

export type GatewayKeyRequest = z.output<typeof gatewayKeyRequest>;

/** Who a key's calls are attributed to; null where unset. */
export interface GatewayKeyOwner {
  readonly team: string;
  readonly feature: string | null;
  readonly environment: string | null;
  readonly tenant_id: string | null;
  readonly cost_center: string | null;
  readonly user_id: string | null;
}

/** A key as the admin API and the gateway see it: never its secret nor its hash. Times are RFC 3339. */
export interface GatewayKey {
  readonly key_id: string;
  readonly name: string;
  readonly owner: GatewayKeyOwner;
  /** Empty: any model. */
  readonly allowed_models: readonly string[];
  /** 0: unlimited. */
  readonly requests_per_minute: number;
  /** 0: unlimited. */
  readonly tokens_per_minute: number;
  readonly created_at: string;
  readonly created_by: string;
  readonly revoked_at: string | null;
  readonly revoked_by: string | null;
}

export interface IssuedGatewayKey {
  /** The whole key, secret included: shown to the caller once and kept nowhere. */
  readonly key: string;
  readonly record: GatewayKey;
}

const OWNER_FIELDS = ['team', 'feature', 'environment', 'tenant_id', 'cost_center', 'user_id'] as const;

const keyRow = z.object({
  key_id: z.string(),
  secret_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  name: z.string(),
  team: z.string(),
  feature: z.string(),
  environment: z.string(),
  tenant_id: z.string(),
  cost_center: z.string(),
  user_id: z.string(),
  allowed_models: z.array(z.string()),
  requests_per_minute: z.coerce.number(),
  tokens_per_minute: z.coerce.number(),
  created_at: z.string(),
  created_by: z.string(),
  revoked_at: z.string().nullable(),
  revoked_by: z.string(),
  updated_ms: z.coerce.number(),
});
type KeyRow = z.infer<typeof keyRow>;

const COLUMNS = [
  'key_id, secret_sha256, name, team, feature, environment, tenant_id, cost_center, user_id',
  'allowed_models, requests_per_minute, tokens_per_minute, created_by, revoked_by',
  'toString(created_at) AS created_at, if(revoked_at IS NULL, NULL, toString(assumeNotNull(revoked_at))) AS revoked_at',
  'toUnixTimestamp64Milli(updated_at) AS updated_ms',
].join(', ');

function toKey(row: KeyRow): GatewayKey {
  return {
    key_id: row.key_id,
    name: row.name,
    owner: {
      team: row.team,
      feature: row.feature || null,
      environment: row.environment || null,
      tenant_id: row.tenant_id || null,
      cost_center: row.cost_center || null,
      user_id: row.user_id || null,
    },
    allowed_models: row.allowed_models,
    requests_per_minute: row.requests_per_minute,
    tokens_per_minute: row.tokens_per_minute,
    created_at: clickHouseTimeToIso(row.created_at),
    created_by: row.created_by,
    revoked_at: row.revoked_at === null ? null : clickHouseTimeToIso(row.revoked_at),
    revoked_by: row.revoked_at === null ? null : row.revoked_by,
  };
}

function toRow(key: GatewayKey, secretSha256: string, updatedAt: number): Record<string, unknown> {
  return {
    key_id: key.key_id,
    secret_sha256: secretSha256,
    name: key.name,
    ...Object.fromEntries(OWNER_FIELDS.map((field) => [field, key.owner[field] ?? ''])),
    allowed_models: key.allowed_models,
    requests_per_minute: key.requests_per_minute,
    tokens_per_minute: key.tokens_per_minute,
    created_at: formatDateTime64(Date.parse(key.created_at)),
    created_by: key.created_by,
    revoked_at: key.revoked_at === null ? null : formatDateTime64(Date.parse(key.revoked_at)),
    revoked_by: key.revoked_by ?? '',
    updated_at: formatDateTime64(updatedAt),
  };
}

export interface GatewayKeyStoreOptions {
  readonly log: Logger;
  /** Longest a key issued or revoked by another process goes unnoticed here, in ms. */
  readonly refreshMs?: number;
}

interface CachedKey {
  readonly record: GatewayKey;
  readonly secretSha256: string;
}

/**
 * Gateway keys in ClickHouse, and the check the gateway makes on every call.
 * `verify` never reaches ClickHouse: it looks in an in-memory copy of the
 * valid keys, reloaded every refreshMs (start()) and at once after an issue or
 * a revocation made through this store, so a key revoked by another process
 * stops working here within refreshMs. When a reload fails, the last copy
 * stays in force and the failure is logged. Secrets and their hashes are never
 * logged: key ids only.
 */
export class GatewayKeyStore {
  readonly #clickhouse: ClickHouse;
  readonly #log: Logger;
  readonly #refreshMs: number;
  /** Valid (not revoked) keys by key id; replaced whole on each reload. */
  #valid = new Map<string, CachedKey>();
  /** Keys revoked through this store: a reload that read before the revocation must not bring one back. Revocation is for good. */
  readonly #revokedHere = new Set<string>();
  #loadedAt: number | null = null;
  #reloading: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(clickhouse: ClickHouse, options: GatewayKeyStoreOptions) {
    this.#clickhouse = clickhouse;
    this.#log = options.log.child({ component: 'gateway-keys' });
    this.#refreshMs = options.refreshMs ?? 5_000;
  }

  /** Loads the valid keys (failing if ClickHouse cannot be read) and reloads them every refreshMs until stop(). */
  async start(): Promise<void> {
    await this.reload();
    this.#schedule();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#reloading?.catch(() => undefined);
  }

  /** True once the keys were loaded: before that every key is refused. For a readiness check. */
  get ready(): boolean {
    return this.#loadedAt !== null;
  }

  /** When the keys in force were read from ClickHouse (epoch ms), or null before the first load. */
  get loadedAt(): number | null {
    return this.#loadedAt;
  }

  /**
   * The key's record when `token` is a well-formed key that was issued and is
   * not revoked, else null. No I/O: answers from the copy in memory.
   */
  verify(token: string): GatewayKey | null {
    const parsed = parseGatewayKey(token);
    if (!parsed) return null;
    const cached = this.#valid.get(parsed.keyId);
    if (!cached || !secretMatches(parsed.secret, cached.secretSha256)) return null;
    return cached.record;
  }

  /** Issues a key; the returned `key` is the only copy of its secret. */
  async issue(request: GatewayKeyRequest, actor: string, now: number = Date.now()): Promise<IssuedGatewayKey> {
    let generated = generateGatewayKey();
    // 60 random bits make a clash unlikely, but a clash would replace another key's row: never write over one.
    while (await this.#row(generated.keyId)) generated = generateGatewayKey();
    const record: GatewayKey = {
      key_id: generated.keyId,
      name: request.name,
      owner: {
        team: request.owner.team,
        feature: request.owner.feature ?? null,
        environment: request.owner.environment ?? null,
        tenant_id: request.owner.tenant_id ?? null,
        cost_center: request.owner.cost_center ?? null,
        user_id: request.owner.user_id ?? null,
      },
      allowed_models: request.allowed_models,
      requests_per_minute: request.requests_per_minute,
      tokens_per_minute: request.tokens_per_minute,
      created_at: new Date(now).toISOString(),
      created_by: actor,
      revoked_at: null,
      revoked_by: null,
    };
    await this.#clickhouse.insert('gateway_key_issue', 'gateway_keys_v1', [toRow(record, hashSecret(generated.secret), now)]);
    this.#log.info({ keyId: record.key_id, team: record.owner.team, actor }, 'gateway key issued');
    await this.#reloadAfterChange();
    return { key: generated.key, record };
  }

  /** Every valid key (with includeRevoked, every key ever issued), newest first. */
  async list(options: { includeRevoked?: boolean } = {}): Promise<GatewayKey[]> {
    const rows = await this.#clickhouse.query({
      name: options.includeRevoked ? 'gateway_keys_all' : 'gateway_keys_valid',
      sql: `SELECT ${COLUMNS} FROM {db:Identifier}.gateway_keys_v1 FINAL ${options.includeRevoked ? '' : 'WHERE revoked_at IS NULL'} ORDER BY created_at DESC, key_id`,
      schema: keyRow,
    });
    return rows.map(toKey);
  }

  async get(keyId: string): Promise<GatewayKey | null> {
    const row = await this.#row(keyId);
    return row ? toKey(row) : null;
  }

  /** Revokes a key now; null when there is no such key. Revoking a revoked key changes nothing. */
  async revoke(keyId: string, actor: string, now: number = Date.now()): Promise<GatewayKey | null> {
    const row = await this.#row(keyId);
    if (!row) return null;
    const found = toKey(row);
    if (found.revoked_at !== null) return found;
    const revoked: GatewayKey = { ...found, revoked_at: new Date(now).toISOString(), revoked_by: actor };
    // updated_at must exceed the current row's, even within the same millisecond.
    await this.#clickhouse.insert('gateway_key_revoke', 'gateway_keys_v1', [toRow(revoked, row.secret_sha256, Math.max(now, row.updated_ms + 1))]);
    // Refused here at once, whatever a reload in flight read before the revocation.
    this.#revokedHere.add(keyId);
    this.#forget(keyId);
    this.#log.info({ keyId, team: revoked.owner.team, actor }, 'gateway key revoked');
    await this.#reloadAfterChange();
    return revoked;
  }

  /** Reads the valid keys from ClickHouse now and puts them in force; concurrent calls share one read. */
  reload(): Promise<void> {
    this.#reloading ??= this.#load().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #load(): Promise<void> {
    const startedAt = Date.now();
    const rows = await this.#clickhouse.query({
      name: 'gateway_keys_in_force',
      sql: `SELECT ${COLUMNS} FROM {db:Identifier}.gateway_keys_v1 FINAL WHERE revoked_at IS NULL`,
      schema: keyRow,
    });
    this.#valid = new Map(rows.filter((row) => !this.#revokedHere.has(row.key_id)).map((row) => [row.key_id, { record: toKey(row), secretSha256: row.secret_sha256 }]));
    this.#loadedAt = startedAt;
  }

  /** After a change made here: reload so a new key works at once (a reload in flight may have read before it, so wait for it first). */
  async #reloadAfterChange(): Promise<void> {
    await this.#reloading?.catch(() => undefined);
    try {
      await this.reload();
    } catch (err) {
      this.#log.error({ err }, 'gateway keys not reloaded after a change; the next scheduled reload will pick it up');
    }
  }

  #forget(keyId: string): void {
    const valid = new Map(this.#valid);
    valid.delete(keyId);
    this.#valid = valid;
  }

  #schedule(): void {
    // A chain of timeouts rather than an interval: a slow read never overlaps the next.
    this.#timer = setTimeout(() => {
      this.reload()
        .catch((err: unknown) => this.#log.error({ err, loadedAt: this.#loadedAt }, 'gateway keys reload failed; the keys last read stay in force'))
        .finally(() => {
          if (this.#timer) this.#schedule();
        });
    }, this.#refreshMs);
    this.#timer.unref();
  }

  async #row(keyId: string): Promise<KeyRow | null> {
    if (!isGatewayKeyId(keyId)) return null;
    const [row] = await this.#clickhouse.query({
      name: 'gateway_key',
      sql: `SELECT ${COLUMNS} FROM {db:Identifier}.gateway_keys_v1 FINAL WHERE key_id = {keyId:String}`,
      params: { keyId },
      schema: keyRow,
    });
    return row ?? null;
  }
}
