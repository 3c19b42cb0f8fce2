import type { FieldIssue } from '@spendline/emitter/field-issues';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import { judgeEvents } from '../ingest/ingest-batch.ts';
import { judgeSpan, type FieldSources, type SpanVerdict } from './genai-span.ts';
import type { OtlpSpan, OtlpTraceRequest } from './otlp-model.ts';
import type { OtlpSettings } from './otlp-settings.ts';

/**
 * One decoded export request judged span by span: GenAI model calls become
 * usage events and pass the validation every ingest path shares (schema,
 * clock bound, attribution policy: judgeEvents); the rest is counted as
 * ignored. A model call with another model call nested inside it in the same
 * request (a framework's chat span around the provider SDK's) is the same call
 * seen twice: only the innermost counts, being closest to the provider and
 * naming the model that served it. Across requests nesting cannot be seen.
 * Pure: publishing and answering are the route's.
 */

export interface SpanRejection {
  readonly traceId: string;
  readonly spanId: string;
  /** Each problem named by the span's own attribute or field where one is known. */
  readonly issues: readonly FieldIssue[];
}

export interface JudgedExport {
  readonly accepted: readonly UsageEventRecord[];
  readonly rejected: readonly SpanRejection[];
  readonly ignoredNonGenAi: number;
  readonly ignoredNotAModelCall: number;
  /** Model-call spans with a model-call span nested inside them in the same request. */
  readonly ignoredWrapper: number;
}

export function judgeTraceExport(request: OtlpTraceRequest, settings: OtlpSettings, now: number, maxFutureSkewMs: number, policy: AttributionPolicy): JudgedExport {
  const spans: OtlpSpan[] = [];
  const verdicts: SpanVerdict[] = [];
  for (const { resource, scopeSpans } of request.resourceSpans) {
    for (const group of scopeSpans) {
      for (const span of group.spans) {
        spans.push(span);
        verdicts.push(judgeSpan(span, resource, settings));
      }
    }
  }
  const wrappers = modelCallWrappers(spans, verdicts.map((verdict) => verdict.outcome === 'event' || verdict.outcome === 'rejected'));

  const rejected: SpanRejection[] = [];
  const events: Record<string, unknown>[] = [];
  const origins: { traceId: string; spanId: string; sources: FieldSources }[] = [];
  let ignoredNonGenAi = 0;
  let ignoredNotAModelCall = 0;
  verdicts.forEach((verdict, index) => {
    const span = spans[index]!;
    if (wrappers.has(index)) return;
    if (verdict.outcome === 'ignored_non_genai') ignoredNonGenAi += 1;
    else if (verdict.outcome === 'ignored_not_a_model_call') ignoredNotAModelCall += 1;
    else if (verdict.outcome === 'rejected') rejected.push({ traceId: span.traceId, spanId: span.spanId, issues: verdict.issues });
    else {
      events.push(verdict.event);
      origins.push({ traceId: span.traceId, spanId: span.spanId, sources: verdict.sources });
    }
  });
  const judged = judgeEvents(events, { maxFutureSkewMs }, now, policy);
  for (const result of judged.results) {
    if (result.status !== 'rejected') continue;
    const origin = origins[result.index]!;
    rejected.push({ traceId: origin.traceId, spanId: origin.spanId, issues: result.errors.map((issue) => named(issue, origin.sources)) });
  }
  return { accepted: judged.accepted, rejected, ignoredNonGenAi, ignoredNotAModelCall, ignoredWrapper: wrappers.size };
}

/**
 * The indexes of model-call spans that have a model-call span beneath them:
 * from each model call, its ancestors are followed by parent span id within
 * its trace, as far as the request holds them. A span reached once has had
 * its own ancestors walked, so every span is passed at most once and the work
 * stays linear however deep or hostile the nesting (a loop of parent ids ends
 * there too).
 */
function modelCallWrappers(spans: readonly OtlpSpan[], isModelCall: readonly boolean[]): Set<number> {
  const wrappers = new Set<number>();
  if (!isModelCall.some(Boolean)) return wrappers;
  const byId = new Map<string, number>();
  spans.forEach((span, index) => {
    const key = spanKey(span.traceId, span.spanId);
    if (span.traceId !== '' && span.spanId !== '' && !byId.has(key)) byId.set(key, index);
  });
  const reached = new Set<number>();
  spans.forEach((span, start) => {
    if (!isModelCall[start]) return;
    let parentId = span.parentSpanId;
    while (parentId !== '') {
      const parent = byId.get(spanKey(span.traceId, parentId));
      if (parent === undefined || parent === start || reached.has(parent)) break;
      reached.add(parent);
      if (isModelCall[parent]) wrappers.add(parent);
      parentId = spans[parent]!.parentSpanId;
    }
  });
  return wrappers;
}

function spanKey(traceId: string, spanId: string): string {
  return `${traceId}:${spanId}`;
}

/** An event field's issue, told with the span attribute it came from: "team (from resource attribute spendline.team)". */
function named(issue: FieldIssue, sources: FieldSources): FieldIssue {
  const source = sources[issue.path] ?? sources[issue.path.split('.')[0]!];
  return source && source !== issue.path ? { path: `${issue.path} (from ${source})`, message: issue.message } : issue;
}

/** Spans named in one partial_success.error_message; the count says how many more. */
const MAX_SPANS_NAMED = 20;

/** The human-readable error_message of a partial success: each rejected span by id, with its fields at fault. */
export function rejectionMessage(rejected: readonly SpanRejection[]): string {
  const described = rejected.slice(0, MAX_SPANS_NAMED).map(({ traceId, spanId, issues }) => {
    const where = `span ${spanId || '(no span id)'} of trace ${traceId || '(no trace id)'}`;
    return `${where}: ${issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')}`;
  });
  const more = rejected.length > MAX_SPANS_NAMED ? ` … and ${rejected.length - MAX_SPANS_NAMED} more` : '';
  return `${rejected.length} GenAI span${rejected.length === 1 ? '' : 's'} rejected (not stored; fix and resend them): ${described.join(' | ')}${more}`;
}
