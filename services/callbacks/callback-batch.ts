import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { judgeEvents } from '../ingest/ingest-batch.ts';
import { atGatewayPaths, type CallbackIssue, type ItemMapping } from './event-draft.ts';

/** What a callback route adds to every event of a request (from its query string). */
export interface CallbackDefaults {
  readonly gatewayId: string;
  /** For events whose payload names no environment (a gateway deployment usually serves one). */
  readonly environment?: string;
}

/** One gateway's payload format: what each item of its batch becomes. */
export interface CallbackAdapter {
  /** The adapter's name: the route's last segment, the default gateway_id, the metric label. */
  readonly name: string;
  /** How the gateway calls one item, for messages ("a LiteLLM standard logging payload"). */
  readonly itemName: string;
  map(item: unknown, defaults: CallbackDefaults): ItemMapping;
}

/** The verdict on one item, in request order: POST /v1/events' results, plus `ignored` for items that are no model call. */
export type CallbackResult =
  | { readonly index: number; readonly event_id: string; readonly status: 'accepted' }
  | { readonly index: number; readonly event_id: string | null; readonly status: 'rejected'; readonly errors: readonly CallbackIssue[] }
  | { readonly index: number; readonly event_id: null; readonly status: 'ignored'; readonly reason: string };

export type JudgedCallbackBatch =
  | { readonly ok: true; readonly accepted: readonly UsageEventRecord[]; readonly results: readonly CallbackResult[] }
  | { readonly ok: false; readonly status: 400 | 413; readonly code: string; readonly message: string };

export interface CallbackLimits {
  readonly maxItems: number;
  readonly maxFutureSkewMs: number;
}

/**
 * Judges a gateway's request body: one item (an object) or a batch (an array),
 * as the gateway sends it. Each item is mapped to a usage event and judged by
 * the validation every ingest path shares (judgeEvents: schema, clock bound,
 * attribution policy), on its own, so one bad item never costs the others.
 * Rejections name the field in the gateway's payload.
 */
export function judgeCallbackBatch(body: unknown, adapter: CallbackAdapter, defaults: CallbackDefaults, limits: CallbackLimits, now: number, policy: AttributionPolicy): JudgedCallbackBatch {
  const items = Array.isArray(body) ? body : typeof body === 'object' && body !== null ? [body] : null;
  if (items === null) return { ok: false, status: 400, code: 'invalid_request', message: `the body must be ${adapter.itemName} or a JSON array of them` };
  if (items.length === 0) return { ok: false, status: 400, code: 'invalid_request', message: 'the batch holds no items' };
  if (items.length > limits.maxItems) {
    return { ok: false, status: 413, code: 'batch_too_large', message: `the batch holds ${items.length} items; at most ${limits.maxItems} per request` };
  }
  const mapped = items.map((item) => adapter.map(item, defaults));
  const events = mapped.flatMap((mapping) => (mapping.kind === 'event' ? [mapping] : []));
  const judged = judgeEvents(
    events.map((mapping) => mapping.event),
    limits,
    now,
    policy,
  );
  let next = 0;
  const results = mapped.map((mapping, index): CallbackResult => {
    if (mapping.kind === 'ignored') return { index, event_id: null, status: 'ignored', reason: mapping.reason };
    if (mapping.kind === 'invalid') return { index, event_id: null, status: 'rejected', errors: mapping.issues };
    const verdict = judged.results[next++]!;
    if (verdict.status === 'accepted') return { index, event_id: verdict.event_id, status: 'accepted' };
    return { index, event_id: verdict.event_id, status: 'rejected', errors: atGatewayPaths(verdict.errors, mapping.sources) };
  });
  return { ok: true, accepted: judged.accepted, results };
}
