import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { futureSkewIssue, usageEventJson, type UsageEventRecord } from '@spendline/emitter/usage-event';
import { attributeEvent } from '../attribution/attribute-event.ts';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';

/** The verdict on one event of a POST /v1/events batch, in request order. */
export type EventResult =
  | { readonly index: number; readonly event_id: string; readonly status: 'accepted' }
  | { readonly index: number; readonly event_id: string | null; readonly status: 'rejected'; readonly errors: readonly FieldIssue[] };

export type ParsedBatch =
  | { readonly ok: true; readonly accepted: readonly UsageEventRecord[]; readonly results: readonly EventResult[] }
  | { readonly ok: false; readonly status: 400 | 413; readonly code: string; readonly message: string; readonly issues?: readonly FieldIssue[] };

export interface BatchLimits {
  readonly maxEvents: number;
  /** Events may not claim to have happened further in the future than this (clock skew allowance). */
  readonly maxFutureSkewMs: number;
}

/**
 * Validates a request body: a JSON array of events or `{ "events": [...] }`.
 * Each event is judged on its own, so one bad event never costs the others.
 * An event the attribution policy rejects (a mandatory dimension missing after
 * every rule) is refused here, naming the dimension, so the gateway can fix it;
 * accepted events are published as they came — the enricher attributes them.
 */
export function parseIngestBatch(body: unknown, limits: BatchLimits, now: number, policy: AttributionPolicy): ParsedBatch {
  const events = Array.isArray(body) ? body : isEnvelope(body) ? body.events : null;
  if (events === null) {
    return { ok: false, status: 400, code: 'invalid_request', message: 'the body must be a JSON array of events or {"events": [...]}' };
  }
  if (events.length === 0) return { ok: false, status: 400, code: 'invalid_request', message: 'the batch holds no events' };
  return batchSizeProblem(events.length, limits) ?? { ok: true, ...judgeEvents(events, limits, now, policy) };
}

/** The 413 every batch path answers for more events than a request may carry; null when the count is within the limit. */
export function batchSizeProblem(count: number, limits: Pick<BatchLimits, 'maxEvents'>): Extract<ParsedBatch, { ok: false }> | null {
  if (count <= limits.maxEvents) return null;
  return { ok: false, status: 413, code: 'batch_too_large', message: `the batch holds ${count} events; at most ${limits.maxEvents} per request` };
}

/**
 * The one validation every ingest path shares (POST /v1/events, CloudEvents,
 * OTLP spans, gateway callbacks, each after mapping its payload to the JSON
 * form of a usage event): the schema, the clock bound and the attribution
 * policy, each event on its own, every problem named by field. Accepted events
 * carry their identity (withCallIdentity), so a call that arrives by two paths
 * is one event.
 */
export function judgeEvents(events: readonly unknown[], limits: Pick<BatchLimits, 'maxFutureSkewMs'>, now: number, policy: AttributionPolicy): { accepted: UsageEventRecord[]; results: EventResult[] } {
  const accepted: UsageEventRecord[] = [];
  const results = events.map((raw, index): EventResult => {
    const eventId = typeof raw === 'object' && raw !== null && typeof (raw as { event_id?: unknown }).event_id === 'string'
      ? (raw as { event_id: string }).event_id
      : null;
    const checked = validate(usageEventJson, raw);
    const issues = checked.ok ? [] : [...checked.issues];
    const skew = checked.ok ? futureSkewIssue(checked.value, now, limits.maxFutureSkewMs) : null;
    if (skew) issues.push(skew);
    if (checked.ok) issues.push(...(attributeEvent(policy, checked.value).rejection ?? []));
    if (!checked.ok || issues.length > 0) return { index, event_id: eventId, status: 'rejected', errors: issues };
    accepted.push(checked.value);
    return { index, event_id: checked.value.event_id, status: 'accepted' };
  });
  return { accepted, results };
}

function isEnvelope(body: unknown): body is { events: unknown[] } {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Array.isArray((body as { events?: unknown }).events);
}
