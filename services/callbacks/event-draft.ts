import type { FieldIssue } from '@spendline/emitter/field-issues';
import { EVENT_LIMITS, isStorableTag } from '@spendline/emitter/usage-event';
import { droppedLabelTag, isLabelField, labelProblem, tagsWithNotes, type LabelField } from '../ingest/unstorable-labels.ts';

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

export class EventDraft {
  readonly #event: Record<string, unknown> = {};
  readonly #tags: Record<string, string> = Object.create(null) as Record<string, string>;
  readonly #sources: Record<string, string> = {};
  /** Labels left out because they cannot be stored, as the notes the event carries among its tags. */
  readonly #dropped = new Map<string, readonly [string, string]>();

  /**
   * Sets a field unless the value is absent; the first value set for a field
   * wins (callers go from strongest source to weakest). An attribution
   * dimension or error_code that cannot be stored is dropped with a note
   * rather than costing the call its event (services/ingest/unstorable-labels.ts),
   * and no weaker source fills it in.
   */
  set(field: string, value: unknown, source: string): this {
    if (value === undefined || value === null || Object.hasOwn(this.#event, field) || this.#dropped.has(field)) return this;
    this.#sources[field] = source;
    const problem = isLabelField(field) ? labelProblem(field, value) : null;
    if (problem === null) this.#event[field] = value;
    else this.#dropped.set(field, droppedLabelTag(field as LabelField, source, problem));
    return this;
  }

  /** Names where a field would come from, so a rejection of its absence (provider, model) points into the gateway's payload. */
  source(field: string, path: string): this {
    this.#sources[field] ??= path;
    return this;
  }

  /** Whether the field is decided: set, or dropped as a label that cannot be stored. */
  has(field: string): boolean {
    return Object.hasOwn(this.#event, field) || this.#dropped.has(field);
  }

  /**
   * Adds a free tag when Spendline can store it (isStorableTag, at most 50
   * tags) and the key is not taken yet; returns whether it was added. Tags are
   * descriptive: one that cannot be stored is left out rather than costing the
   * call its usage event.
   */
  tag(key: string, value: string | undefined, source: string): boolean {
    if (value === undefined || Object.hasOwn(this.#tags, key) || !isStorableTag(key, value)) return false;
    if (Object.keys(this.#tags).length >= EVENT_LIMITS.maxTags) return false;
    this.#tags[key] = value;
    this.#sources[`tags.${key}`] = source;
    return true;
  }

  /** The event; the notes of dropped labels come first among its tags, so the limit never cuts them. */
  build(): ItemMapping {
    const tags = tagsWithNotes(this.#dropped.values(), Object.entries(this.#tags));
    return { kind: 'event', event: { ...this.#event, ...(Object.keys(tags).length > 0 ? { tags } : {}) }, sources: { ...this.#sources } };
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
