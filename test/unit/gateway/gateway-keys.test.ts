import { createHash } from 'node:crypto';
import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { generateGatewayKey, gatewayKeyRequest, hashSecret, isGatewayKeyId, parseGatewayKey, redactGatewayKeys, secretMatches } from '../../../services/gateway/gateway-keys.ts';

describe('gateway key format', () => {
  it('issues slk_<12 base32 chars>_<43 base64url chars> with 32 random bytes of secret', () => {
    const { key, keyId, secret } = generateGatewayKey();
    expect(key).toMatch(/^slk_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    expect(key).toBe(`slk_${keyId}_${secret}`);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(isGatewayKeyId(keyId)).toBe(true);
  });

  it('never repeats itself', () => {
    const keys = Array.from({ length: 500 }, () => generateGatewayKey());
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(500);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(500);
  });

  it('parses its own keys back into key id and secret', () => {
    const generated = generateGatewayKey();
    expect(parseGatewayKey(generated.key)).toEqual({ keyId: generated.keyId, secret: generated.secret });
  });

  it('parses strictly: anything but the exact shape is refused', () => {
    const { key, keyId, secret } = generateGatewayKey();
    const malformed = [
      '',
      'slk_',
      `Bearer ${key}`,
      ` ${key}`,
      `${key} `,
      `${key}\n`,
      `SLK_${keyId}_${secret}`,
      `sk_${keyId}_${secret}`,
      `slk_${keyId.toUpperCase()}_${secret}`,
      `slk_${keyId.slice(1)}_${secret}`,
      `slk_${keyId}a_${secret}`,
      `slk_${keyId.slice(0, 11)}1_${secret}`, // 1 is not base32
      `slk_${keyId}_${secret.slice(1)}`,
      `slk_${keyId}_${secret}A`,
      `slk_${keyId}_${secret.slice(0, 42)}=`,
      `slk_${keyId}_${secret.slice(0, 42)}+`,
      `slk_${keyId}${secret}`,
    ];
    for (const text of malformed) expect(parseGatewayKey(text), JSON.stringify(text)).toBeNull();
    expect(parseGatewayKey(undefined as unknown as string)).toBeNull();
    expect(isGatewayKeyId(key)).toBe(false);
    expect(isGatewayKeyId(keyId.toUpperCase())).toBe(false);
  });

  it('redacts the secret of every key in a text, keeping the key id', () => {
    const [a, b] = [generateGatewayKey(), generateGatewayKey()];
    const redacted = redactGatewayKeys(`DELETE /v1/admin/gateway-keys/${a.key} failed; upstream said "bad key ${b.key}"`);
    expect(redacted).toBe(`DELETE /v1/admin/gateway-keys/slk_${a.keyId}_[redacted] failed; upstream said "bad key slk_${b.keyId}_[redacted]"`);
    expect(redactGatewayKeys('nothing secret here: slk_short')).toBe('nothing secret here: slk_short');
  });

  it('stores the hex SHA-256 of the secret and compares against it', () => {
    const { secret } = generateGatewayKey();
    const stored = hashSecret(secret);
    expect(stored).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(secretMatches(secret, stored)).toBe(true);
    expect(secretMatches(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`, stored)).toBe(false);
    expect(secretMatches(generateGatewayKey().secret, stored)).toBe(false);
    // A stored value of the wrong length never matches (and never throws, as timingSafeEqual would).
    expect(secretMatches(secret, stored.slice(0, 62))).toBe(false);
    expect(secretMatches(secret, '')).toBe(false);
  });
});

describe('gatewayKeyRequest', () => {
  it('takes a minimal request and fills the defaults', () => {
    const checked = validate(gatewayKeyRequest, { name: 'search backend', owner: { team: 'search' } });
    expect(checked).toEqual({
      ok: true,
      value: { name: 'search backend', owner: { team: 'search' }, allowed_models: [], requests_per_minute: 0, tokens_per_minute: 0 },
    });
  });

  it('trims names, treats blank or null owner fields as unset, and drops repeated models', () => {
    const checked = validate(gatewayKeyRequest, {
      name: '  ads batch  ',
      owner: { team: ' ads ', feature: 'ranking', environment: '  ', tenant_id: null, cost_center: 'CC-12', user_id: 'u-1' },
      allowed_models: ['gpt-4o-mini', 'claude-sonnet-4', 'gpt-4o-mini'],
      requests_per_minute: 600,
      tokens_per_minute: 2_000_000,
    });
    expect(checked.ok && checked.value).toEqual({
      name: 'ads batch',
      owner: { team: 'ads', feature: 'ranking', cost_center: 'CC-12', user_id: 'u-1' },
      allowed_models: ['gpt-4o-mini', 'claude-sonnet-4'],
      requests_per_minute: 600,
      tokens_per_minute: 2_000_000,
    });
  });

  it.each([
    [{ owner: { team: 'a' } }, 'name', 'is required'],
    [{ name: '', owner: { team: 'a' } }, 'name', 'must not be empty'],
    [{ name: 'x'.repeat(101), owner: { team: 'a' } }, 'name', 'must be at most 100 characters'],
    [{ name: 'k' }, 'owner', 'is required'],
    [{ name: 'k', owner: {} }, 'owner.team', 'is required'],
    [{ name: 'k', owner: { team: '   ' } }, 'owner.team', 'must not be empty'],
    [{ name: 'k', owner: { team: 'a\nb' } }, 'owner.team', 'must not contain control characters'],
    [{ name: 'k', owner: { team: 'a', feature: 'x'.repeat(257) } }, 'owner.feature', 'must be at most 256 characters'],
    [{ name: 'k', owner: { team: 'a', environment: 7 } }, 'owner.environment', 'must be a string, got number'],
    [{ name: 'k', owner: { team: 'a', teams: 'b' } }, 'owner', 'unknown field: teams'],
    [{ name: 'k', owner: { team: 'a' }, allowed_models: 'gpt-4o' }, 'allowed_models', 'must be an array, got string'],
    [{ name: 'k', owner: { team: 'a' }, allowed_models: ['gpt-4o', ''] }, 'allowed_models[1]', 'must not be empty'],
    [{ name: 'k', owner: { team: 'a' }, allowed_models: Array.from({ length: 201 }, (_, i) => `m${i}`) }, 'allowed_models', 'must list at most 200 models'],
    [{ name: 'k', owner: { team: 'a' }, requests_per_minute: -1 }, 'requests_per_minute', 'must not be negative'],
    [{ name: 'k', owner: { team: 'a' }, requests_per_minute: 1.5 }, 'requests_per_minute', 'must be a whole number'],
    [{ name: 'k', owner: { team: 'a' }, requests_per_minute: 2 ** 32 }, 'requests_per_minute', 'must be at most 4294967295'],
    [{ name: 'k', owner: { team: 'a' }, tokens_per_minute: '1000' }, 'tokens_per_minute', 'must be a number, got string'],
    [{ name: 'k', owner: { team: 'a' }, rpm: 5 }, '', 'unknown field: rpm'],
  ])('refuses %j, naming %s', (body, path, message) => {
    const checked = validate(gatewayKeyRequest, body);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.issues).toContainEqual({ path, message });
  });

  it('reports every problem at once', () => {
    const checked = validate(gatewayKeyRequest, { name: '', owner: { team: '' }, requests_per_minute: -1, tokens_per_minute: -1 });
    expect(checked.ok || checked.issues.map((issue) => issue.path).sort()).toEqual(['name', 'owner.team', 'requests_per_minute', 'tokens_per_minute']);
  });
});
