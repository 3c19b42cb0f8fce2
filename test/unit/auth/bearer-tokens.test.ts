import { describe, expect, it } from 'vitest';
import { BearerTokens, type Role } from '../../../services/auth/bearer-tokens.ts';

const ADMIN = 'admin-token-0123456789';
const READER = 'reader-token-0123456789';
const INGEST = 'ingest-token-0123456789';

const tokens = new BearerTokens({ adminToken: ADMIN, readerTokens: [READER], ingestTokens: [INGEST] });
const MISSING = { ok: false, status: 401, message: 'missing bearer token: send "Authorization: Bearer <token>"' };
const UNKNOWN = { ok: false, status: 401, message: 'unknown bearer token' };

describe('BearerTokens.authorize', () => {
  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the scheme alone', 'Bearer'],
    ['the scheme and blanks', 'Bearer   '],
    ['another scheme', `Basic ${READER}`],
    ['the token without scheme', READER],
    ['two words after the scheme', `Bearer ${READER} extra`],
    ['no blank after the scheme', `Bearer${READER}`],
  ])('answers 401 missing for %s', (_what, header) => {
    expect(tokens.authorize(header, 'reader')).toEqual(MISSING);
  });

  it.each([
    ['an unknown token', 'Bearer not-a-configured-token'],
    ['a token differing in case', `Bearer ${READER.toUpperCase()}`],
    ['a prefix of a known token', `Bearer ${READER.slice(0, -1)}`],
  ])('answers 401 unknown for %s', (_what, header) => {
    expect(tokens.authorize(header, 'reader')).toEqual(UNKNOWN);
  });

  it.each<[string, Role, Role, boolean]>([
    // [token, required role, its role, granted]
    [READER, 'reader', 'reader', true],
    [READER, 'ingest', 'reader', false],
    [READER, 'admin', 'reader', false],
    [INGEST, 'ingest', 'ingest', true],
    [INGEST, 'reader', 'ingest', false],
    [INGEST, 'admin', 'ingest', false],
    [ADMIN, 'admin', 'admin', true],
    [ADMIN, 'reader', 'admin', true],
    [ADMIN, 'ingest', 'admin', true],
  ])('%s asking for %s (role %s) is granted: %s', (token, required, role, granted) => {
    expect(tokens.authorize(`Bearer ${token}`, required)).toEqual(
      granted ? { ok: true, role, scope: null } : { ok: false, status: 403, message: `this token has the ${role} role; this endpoint needs ${required}` },
    );
  });

  it('accepts the scheme in any case and surrounding blanks', () => {
    expect(tokens.authorize(`bearer ${READER}`, 'reader')).toEqual({ ok: true, role: 'reader', scope: null });
    expect(tokens.authorize(`BEARER \t${READER}  `, 'reader')).toEqual({ ok: true, role: 'reader', scope: null });
  });

  it('never downgrades a token also listed with a weaker role', () => {
    const shared = new BearerTokens({ adminToken: ADMIN, readerTokens: [ADMIN], ingestTokens: [ADMIN] });
    expect(shared.authorize(`Bearer ${ADMIN}`, 'reader')).toEqual({ ok: true, role: 'admin', scope: null });
    expect(shared.authorize(`Bearer ${ADMIN}`, 'ingest')).toEqual({ ok: true, role: 'admin', scope: null });
  });

  it('accepts any of several tokens of a role', () => {
    const several = new BearerTokens({ adminToken: null, readerTokens: ['reader-one-0123456789', 'reader-two-0123456789'], ingestTokens: [] });
    expect(several.authorize('Bearer reader-one-0123456789', 'reader')).toEqual({ ok: true, role: 'reader', scope: null });
    expect(several.authorize('Bearer reader-two-0123456789', 'reader')).toEqual({ ok: true, role: 'reader', scope: null });
  });

  it('is configured only when some token is', () => {
    expect(tokens.configured).toBe(true);
    const none = new BearerTokens({ adminToken: null, readerTokens: [], ingestTokens: [] });
    expect(none.configured).toBe(false);
    expect(none.authorize(`Bearer ${ADMIN}`, 'reader')).toEqual(UNKNOWN);
  });

  describe('team- and tenant-scoped reader tokens', () => {
    const SEARCH = 'search-reader-0123456789';
    const ACME = 'acme-reader-0123456789';
    const scoped = new BearerTokens({
      adminToken: ADMIN,
      readerTokens: [],
      ingestTokens: [],
      scopedReaderTokens: [
        { token: SEARCH, teams: ['search', 'ads'] },
        { token: ACME, tenants: ['acme'] },
        // Configured as admin too: stays admin, unscoped.
        { token: ADMIN, teams: ['search'] },
      ],
    });

    it('grants the reader role with the rows the token may see', () => {
      expect(scoped.authorize(`Bearer ${SEARCH}`, 'reader')).toEqual({ ok: true, role: 'reader', scope: { teams: ['search', 'ads'], tenants: undefined } });
      expect(scoped.authorize(`Bearer ${ACME}`, 'reader')).toEqual({ ok: true, role: 'reader', scope: { teams: undefined, tenants: ['acme'] } });
    });

    it('refuses admin and ingest to a scoped token', () => {
      expect(scoped.authorize(`Bearer ${SEARCH}`, 'admin')).toMatchObject({ ok: false, status: 403 });
      expect(scoped.authorize(`Bearer ${SEARCH}`, 'ingest')).toMatchObject({ ok: false, status: 403 });
    });

    it('never narrows a token that also has an unscoped role', () => {
      expect(scoped.authorize(`Bearer ${ADMIN}`, 'reader')).toEqual({ ok: true, role: 'admin', scope: null });
    });
  });
});
