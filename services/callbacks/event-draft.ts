import type { FieldIssue } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS, TAG_KEY_PATTERN } from '@spendline/emitter/usage-event';

/**
 * A usage event in its JSON form (what POST /v1/events takes), built from one
 * item of a gateway's payload, remembering where each field was read from so a
 * rejection can name the field in the gateway's own payload.
 */
export interface MappedEvent {
  readonly event: Readonly<Record<string, unknown>>;
  /** Usage event field (or `tags.<key>`) → dotted path in the gateway's item it came from. */
  readonly sources: Readonly<Record<string, string>>;
}

/** What one item of a callback batch turned into. */
export type ItemMapping =
  | ({ readonly kind: 'event' } & MappedEvent)
  /** Not a model call (a Kong log line of a plain API route): nothing to store, nothing wrong. */
  | { readonly kind: 'ignored'; readonly reason: string }
  /** The item cannot be read as the gateway's payload: every problem at its path in the item. */
  | { readonly kind: 'invalid'; readonly issues: readonly FieldIssue[] };

/** A rejection as a callback answers it: the gateway's path, and the usage event field it became when that differs. */
export interface CallbackIssue extends FieldIssue {
  readonly field?: string;
}

const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;

export class EventDraft {
  readonly #event: Record<string, unknown> = {};
  readonly #tags: Record<string, string> = Object.create(null) as Record<string, string>;
  readonly #sources: Record<string, string> = {};

  /** Sets a field unless the value is absent; the first value set for a field wins (callers go from strongest source to weakest). */
  set(field: string, value: unknown, source: string): this {
    if (value === undefined || value === null || Object.hasOwn(this.#event, field)) return this;
    this.#event[field] = value;
    this.#sources[field] = source;
    return this;
  }

  /** Names where a field would come from, so a rejection of its absence (provider, model) points into the gateway's payload. */
  source(field: string, path: string): this {
    this.#sources[field] ??= path;
    return this;
  }

  has(field: string): boolean {
    return Object.hasOwn(this.#event, field);
  }

  /**
   * Adds a free tag when Spendline can store it (key pattern and lengths, no
   * control characters, at most 50 tags) and the key is not taken yet; returns
   * whether it was added. Tags are descriptive: one that cannot be stored is
   * left out rather than costing the call its usage event.
   */
  tag(key: string, value: string | undefined, source: string): boolean {
    if (value === undefined || Object.hasOwn(this.#tags, key)) return false;
    if (key.length > EVENT_LIMITS.maxTagKeyLength || !TAG_KEY_PATTERN.test(key)) return false;
    if (value.length > EVENT_LIMITS.maxTagValueLength || !NO_CONTROL_CHARACTERS.test(value)) return false;
    if (Object.keys(this.#tags).length >= EVENT_LIMITS.maxTags) return false;
    this.#tags[key] = value;
    this.#sources[`tags.${key}`] = source;
    return true;
  }

  build(): ItemMapping {
    const tags = Object.keys(this.#tags).length > 0 ? { tags: { ...this.#tags } } : {};
    return { kind: 'event', event: { ...this.#event, ...tags }, sources: { ...this.#sources } };
  }
}

/**
 * Restates the shared validator's issues (named by usage event field) at the
 * gateway's paths. A cross-field message ("must include cache_read_tokens …")
 * keeps Spendline's names, so the usage event field is kept beside the path.
 */
export function atGatewayPaths(issues: readonly FieldIssue[], sources: Readonly<Record<string, string>>): CallbackIssue[] {
  return issues.map((issue) => {
    const source = sources[issue.path] ?? (issue.path.startsWith('tags.') ? sources['tags'] : undefined);
    return source === undefined || source === issue.path ? issue : { path: source, field: issue.path, message: issue.message };
  });
}
