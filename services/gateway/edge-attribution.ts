import type { IncomingHttpHeaders } from 'node:http';
import { EVENT_LIMITS, TAG_KEY_PATTERN, type UsageEventRecord } from '@spendline/emitter/usage-event';

/**
 * Attribution at the edge: who a call through the gateway belongs to comes
 * from `x-spendline-*` headers and from the gateway key. The key's owner is
 * known, a header is only a claim: what the key says wins, headers fill the
 * rest (the feature, the user, the session and agent run, free tags).
 */

export const GATEWAY_HEADER_PREFIX = 'x-spendline-';

/** Which header carries which attribution field. */
export const FIELD_HEADERS = {
  tenant_id: 'x-spendline-tenant',
  cost_center: 'x-spendline-cost-center',
  team: 'x-spendline-team',
  feature: 'x-spendline-feature',
  environment: 'x-spendline-environment',
  user_id: 'x-spendline-user',
  session_id: 'x-spendline-session',
  agent_run_id: 'x-spendline-agent-run',
} as const;
export type EdgeField = keyof typeof FIELD_HEADERS;

/** Free tags: `x-spendline-tags: release=2026.11, experiment=b`. */
export const TAGS_HEADER = 'x-spendline-tags';

/** What a gateway key says about its owner (absent fields are left to headers). */
export type GatewayOwner = Partial<Record<Exclude<EdgeField, 'session_id' | 'agent_run_id'>, string>>;

export type EdgeAttribution =
  | { readonly ok: true; readonly fields: Partial<Pick<UsageEventRecord, EdgeField | 'tags'>> }
  | { readonly ok: false; readonly header: string; readonly message: string };

/** Any control character (Unicode category Cc: U+0000–U+001F and U+007F–U+009F). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const FIELD_HEADER_LIST = Object.entries(FIELD_HEADERS) as [EdgeField, string][];

export function attributionFromHeaders(headers: IncomingHttpHeaders, owner: GatewayOwner): EdgeAttribution {
  const fields: Partial<Record<EdgeField, string>> = {};
  for (const [field, header] of FIELD_HEADER_LIST) {
    const raw = headers[header];
    if (raw === undefined) continue;
    const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
    if (value === '') continue;
    if (value.length > EVENT_LIMITS.maxNameLength || CONTROL.test(value)) return { ok: false, header, message: `${header} must be at most ${EVENT_LIMITS.maxNameLength} characters without control characters` };
    fields[field] = value;
  }
  for (const [field, value] of Object.entries(owner) as [EdgeField, string | undefined][]) if (value) fields[field] = value;

  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  const rawTags = headers[TAGS_HEADER];
  if (rawTags !== undefined) {
    for (const pair of (Array.isArray(rawTags) ? rawTags.join(',') : rawTags).split(',')) {
      if (pair.trim() === '') continue;
      const at = pair.indexOf('=');
      const key = (at > 0 ? pair.slice(0, at) : '').trim();
      const value = (at > 0 ? pair.slice(at + 1) : '').trim();
      if (!TAG_KEY_PATTERN.test(key) || key.length > EVENT_LIMITS.maxTagKeyLength) return { ok: false, header: TAGS_HEADER, message: `${TAGS_HEADER} must be key=value pairs separated by commas, keys starting with a letter (got ${JSON.stringify(pair.trim().slice(0, 60))})` };
      if (value.length > EVENT_LIMITS.maxTagValueLength || CONTROL.test(value)) return { ok: false, header: TAGS_HEADER, message: `${TAGS_HEADER}: the value of ${key} must be at most ${EVENT_LIMITS.maxTagValueLength} characters without control characters` };
      tags[key] = value;
    }
    if (Object.keys(tags).length > EVENT_LIMITS.maxTags) return { ok: false, header: TAGS_HEADER, message: `${TAGS_HEADER} may carry at most ${EVENT_LIMITS.maxTags} tags` };
  }
  return { ok: true, fields: { ...fields, tags: { ...tags } } };
}

/** The header a missing mandatory dimension is asked for in (the field itself when no header carries it). */
export function headerFor(field: string): string {
  return (FIELD_HEADERS as Record<string, string>)[field] ?? field;
}
