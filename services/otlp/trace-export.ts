import type { FieldIssue } from '@spendline/emitter/field-issues';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import { judgeEvents } from '../ingest/ingest-batch.ts';
import { judgeSpan, type FieldSources } from './genai-span.ts';
import type { OtlpTraceRequest } from './otlp-model.ts';
import type { OtlpSettings } from './otlp-settings.ts';

/**
 * One decoded export request judged span by span: GenAI model calls become
 * usage events and pass the validation every ingest path shares (schema,
 * clock bound, attribution policy: judgeEvents); the rest is counted as
 * ignored. Pure: publishing and answering are the route's.
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
}

export function judgeTraceExport(request: OtlpTraceRequest, settings: OtlpSettings, now: number, maxFutureSkewMs: number, policy: AttributionPolicy): JudgedExport {
  const rejected: SpanRejection[] = [];
  const events: Record<string, unknown>[] = [];
  const origins: { traceId: string; spanId: string; sources: FieldSources }[] = [];
  let ignoredNonGenAi = 0;
  let ignoredNotAModelCall = 0;
  for (const { resource, scopeSpans } of request.resourceSpans) {
    for (const { spans } of scopeSpans) {
      for (const span of spans) {
        const verdict = judgeSpan(span, resource, settings);
        if (verdict.outcome === 'ignored_non_genai') ignoredNonGenAi += 1;
        else if (verdict.outcome === 'ignored_not_a_model_call') ignoredNotAModelCall += 1;
        else if (verdict.outcome === 'rejected') rejected.push({ traceId: span.traceId, spanId: span.spanId, issues: verdict.issues });
        else {
          events.push(verdict.event);
          origins.push({ traceId: span.traceId, spanId: span.spanId, sources: verdict.sources });
        }
      }
    }
  }
  const judged = judgeEvents(events, { maxFutureSkewMs }, now, policy);
  for (const result of judged.results) {
    if (result.status !== 'rejected') continue;
    const origin = origins[result.index]!;
    rejected.push({ traceId: origin.traceId, spanId: origin.spanId, issues: result.errors.map((issue) => named(issue, origin.sources)) });
  }
  return { accepted: judged.accepted, rejected, ignoredNonGenAi, ignoredNotAModelCall };
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
