import { attributionFromHeaders, FIELD_HEADERS, GATEWAY_HEADER_PREFIX, TAGS_HEADER } from '../gateway/edge-attribution.ts';
import type { EventDraft } from './event-draft.ts';

/** The attribution dimensions a gateway payload may set by their Spendline names. */
export const NAMED_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id', 'session_id', 'agent_run_id'] as const;

const FIELD_BY_HEADER: ReadonlyMap<string, string> = new Map(Object.entries(FIELD_HEADERS).map(([field, header]) => [header, field]));

/**
 * Applies `x-spendline-*` request headers the gateway logged, read as
 * Spendline's own gateway reads them (services/gateway/edge-attribution.ts), so
 * a client attributes its calls the same way whichever gateway it goes through.
 * Headers are claims: they fill only what stronger sources left unset. Each
 * header, and each pair of x-spendline-tags, is read on its own, so one that
 * Spendline cannot store costs only itself (a dimension is dropped with a note,
 * a tag left out), never the call: the gateway does not send it again.
 */
export function applySpendlineHeaders(draft: EventDraft, logged: Readonly<Record<string, unknown>> | null | undefined, basePath: string): void {
  if (!logged) return;
  for (const [name, value] of Object.entries(logged)) {
    const header = name.toLowerCase();
    if (!header.startsWith(GATEWAY_HEADER_PREFIX)) continue;
    if (!(typeof value === 'string' || (Array.isArray(value) && value.every((part) => typeof part === 'string')))) continue;
    // A repeated header is one value, its parts joined by commas (RFC 9110), as the gateway reads it.
    const text = Array.isArray(value) ? value.join(',') : value;
    const path = `${basePath}.${name}`;
    const field = FIELD_BY_HEADER.get(header);
    if (field !== undefined) {
      const read = attributionFromHeaders({ [header]: text }, {});
      // A value the gateway would refuse goes to the draft as sent, which drops it with the reason.
      draft.set(field, read.ok ? (read.fields as Record<string, unknown>)[field] : text.trim(), path);
    } else if (header === TAGS_HEADER) {
      for (const pair of text.split(',')) {
        const read = attributionFromHeaders({ [TAGS_HEADER]: pair }, {});
        if (read.ok) for (const [key, tagValue] of Object.entries(read.fields.tags ?? {})) draft.tag(key, tagValue, path);
      }
    }
  }
}

/**
 * A free-form gateway tag as a Spendline tag: "key:value" and "key=value" split
 * at the first separator ("team:search", "User-Agent: curl/8.5"), any other
 * text is a flag ("beta" → beta = "true"). Null when no tag key can be made.
 */
export function splitTag(text: string): [key: string, value: string] | null {
  const at = text.search(/[:=]/);
  const key = (at > 0 ? text.slice(0, at) : text).trim();
  const value = at > 0 ? text.slice(at + 1).trim() : 'true';
  return key === '' ? null : [key, value];
}

/** A string, number or boolean as tag text; anything else (objects, lists) is no tag. */
export function tagText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
