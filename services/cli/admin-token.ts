import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { AuthConfig } from '../config/config.ts';

/**
 * The admin token `spendline start` makes when no token is configured: one
 * per data directory, kept (mode 0600) so restarts and CLI commands such as
 * `reprice` find it.
 */

const MIN_LENGTH = 16;

function tokenFile(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/** The token kept in the data directory, if there is a usable one. */
export function readGeneratedToken(dataDir: string): string | null {
  const file = tokenFile(dataDir);
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return kept.length >= MIN_LENGTH ? kept : null;
}

/** With no token configured, the kept token, or a new one made and kept now. */
export function ensureAdminToken(auth: AuthConfig, dataDir: string): { token: string; file: string; fresh: boolean } | null {
  if (auth.adminToken || auth.readerTokens.length > 0 || auth.ingestTokens.length > 0) return null;
  const file = tokenFile(dataDir);
  const kept = readGeneratedToken(dataDir);
  if (kept) return { token: kept, file, fresh: false };
  mkdirSync(dataDir, { recursive: true });
  const token = `sl_admin_${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, fresh: true };
}
