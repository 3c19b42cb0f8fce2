import { createHash } from 'node:crypto';
import type { AuthConfig } from '../config/config.ts';

/**
 * Bearer tokens from configuration, each with one role. admin may do
 * everything; reader reads reports; ingest only posts events (the token to
 * hand to gateways). Tokens are kept as sha256 digests and looked up by digest.
 */
export type Role = 'admin' | 'reader' | 'ingest';

export type AuthDecision =
  | { readonly ok: true; readonly role: Role }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

export class BearerTokens {
  readonly #roles = new Map<string, Role>();

  constructor(config: AuthConfig) {
    if (config.adminToken) this.#roles.set(digest(config.adminToken), 'admin');
    for (const token of config.readerTokens) this.#add(token, 'reader');
    for (const token of config.ingestTokens) this.#add(token, 'ingest');
  }

  get configured(): boolean {
    return this.#roles.size > 0;
  }

  /** Decides whether an Authorization header value grants `required`. */
  authorize(header: string | undefined, required: Role): AuthDecision {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return { ok: false, status: 401, message: 'missing bearer token: send "Authorization: Bearer <token>"' };
    const role = this.#roles.get(digest(match[1]!));
    if (!role) return { ok: false, status: 401, message: 'unknown bearer token' };
    if (role !== 'admin' && role !== required) {
      return { ok: false, status: 403, message: `this token has the ${role} role; this endpoint needs ${required}` };
    }
    return { ok: true, role };
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
