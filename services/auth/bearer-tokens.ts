import { createHash } from 'node:crypto';
import type { AuthConfig, DataScope } from '../config/config.ts';

/**
 * Bearer tokens from configuration, each with one role. admin may do
 * everything; reader reads reports; ingest only posts events (the token to
 * hand to gateways). Tokens are kept as sha256 digests and looked up by digest.
 */
export type Role = 'admin' | 'reader' | 'ingest';

export type AuthDecision =
  /** scope: the rows the token may see; null for every row. */
  | { readonly ok: true; readonly role: Role; readonly scope: DataScope | null }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

export class BearerTokens {
  readonly #roles = new Map<string, Role>();
  readonly #scopes = new Map<string, DataScope>();

  constructor(config: AuthConfig) {
    if (config.adminToken) this.#roles.set(digest(config.adminToken), 'admin');
    for (const token of config.readerTokens) this.#add(token, 'reader');
    for (const token of config.ingestTokens) this.#add(token, 'ingest');
    for (const { token, teams, tenants } of config.scopedReaderTokens ?? []) {
      const key = digest(token);
      // A token also configured with a stronger or unscoped role keeps that role: never silently narrowed or widened.
      if (this.#roles.has(key)) continue;
      this.#roles.set(key, 'reader');
      this.#scopes.set(key, { teams, tenants });
    }
  }

  get configured(): boolean {
    return this.#roles.size > 0;
  }

  /** Decides whether an Authorization header value grants `required`. */
  authorize(header: string | undefined, required: Role): AuthDecision {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return { ok: false, status: 401, message: 'missing bearer token: send "Authorization: Bearer <token>"' };
    const key = digest(match[1]!);
    const role = this.#roles.get(key);
    if (!role) return { ok: false, status: 401, message: 'unknown bearer token' };
    if (role !== 'admin' && role !== required) {
      return { ok: false, status: 403, message: `this token has the ${role} role; this endpoint needs ${required}` };
    }
    return { ok: true, role, scope: this.#scopes.get(key) ?? null };
  }

  #add(token: string, role: Role): void {
    const key = digest(token);
    // A token listed twice keeps its strongest role; admin is never downgraded.
    if (this.#roles.get(key) !== 'admin') this.#roles.set(key, role);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
