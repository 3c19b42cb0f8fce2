import type { IncomingHttpHeaders } from 'node:http';
import type { FieldIssue } from '@spendline/emitter/field-issues';
import { attributionFromHeaders, FIELD_HEADERS, TAGS_HEADER } from '../gateway/edge-attribution.ts';
import type { EventDraft } from './event-draft.ts';

/** The attribution dimensions a gateway payload may set by their Spendline names. */
export const NAMED_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id', 'session_id', 'agent_run_id'] as const;

/**
 * Applies `x-spendline-*` request headers the gateway logged, read exactly as
 * Spendline's own gateway reads them (services/gateway/edge-attribution.ts), so
 * a client attributes its calls the same way whichever gateway it goes through.
 * Headers are claims: they fill only what stronger sources left unset.
 */
export function applySpendlineHeaders(draft: EventDraft, logged: Readonly<Record<string, unknown>> | null | undefined, basePath: string): FieldIssue | null {
  if (!logged) return null;
  const headers: IncomingHttpHeaders = {};
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(logged)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('x-spendline-')) continue;
    if (typeof value === 'string' || (Array.isArray(value) && value.every((part) => typeof part === 'string'))) {
      headers[lower] = value as string | string[];
      names.set(lower, name);
    }
  }
  const read = attributionFromHeaders(headers, {});
  if (!read.ok) return { path: `${basePath}.${names.get(read.header) ?? read.header}`, message: read.message };
  for (const [field, header] of Object.entries(FIELD_HEADERS)) {
    draft.set(field, (read.fields as Record<string, unknown>)[field], `${basePath}.${names.get(header) ?? header}`);
  }
  for (const [key, value] of Object.entries(read.fields.tags ?? {})) draft.tag(key, value, `${basePath}.${names.get(TAGS_HEADER) ?? TAGS_HEADER}`);
  return null;
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
