/**
 * Per-key request and token limits over a sliding minute, in this gateway
 * process (with several replicas, each enforces the limit on what it
 * serves). Requests count when admitted; tokens count when the call's usage is
 * known (after the response), so a key that used its tokens for the minute is
 * refused from its next call on.
 */
const MINUTE = 60_000;

interface Window {
  readonly requests: number[];
  readonly tokens: { at: number; count: number }[];
  /** Sum of `tokens` counts, kept as entries come and go: admitting a call costs O(1), not a walk over the minute. */
  tokenSum: number;
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly message: string; readonly retryAfterSeconds: number };

export class KeyRateLimiter {
  readonly #windows = new Map<string, Window>();

  /** Admits a call of the key now (and counts it), or says which limit it hit and when to retry. */
  admit(keyId: string, limits: { requestsPerMinute: number; tokensPerMinute: number }, now: number): Admission {
    if (limits.requestsPerMinute === 0 && limits.tokensPerMinute === 0) return { ok: true };
    const window = this.#window(keyId, now);
    if (limits.requestsPerMinute > 0 && window.requests.length >= limits.requestsPerMinute) {
      return { ok: false, message: `gateway key ${keyId} is limited to ${limits.requestsPerMinute} requests per minute`, retryAfterSeconds: Math.max(1, Math.ceil((window.requests[0]! + MINUTE - now) / 1000)) };
    }
    const used = window.tokenSum;
    if (limits.tokensPerMinute > 0 && used >= limits.tokensPerMinute) {
      return { ok: false, message: `gateway key ${keyId} used its ${limits.tokensPerMinute} tokens per minute (${used} in the last minute)`, retryAfterSeconds: Math.max(1, Math.ceil((window.tokens[0]!.at + MINUTE - now) / 1000)) };
    }
    window.requests.push(now);
    return { ok: true };
  }

  /** Counts a finished call's tokens against its key. */
  spend(keyId: string, tokens: number, now: number): void {
    if (tokens <= 0) return;
    const window = this.#window(keyId, now);
    window.tokens.push({ at: now, count: tokens });
    window.tokenSum += tokens;
  }

  #window(keyId: string, now: number): Window {
    let window = this.#windows.get(keyId);
    if (!window) this.#windows.set(keyId, (window = { requests: [], tokens: [], tokenSum: 0 }));
    while (window.requests.length > 0 && window.requests[0]! <= now - MINUTE) window.requests.shift();
    while (window.tokens.length > 0 && window.tokens[0]!.at <= now - MINUTE) window.tokenSum -= window.tokens.shift()!.count;
    return window;
  }
}
