import type { FieldIssue } from '@spendline/emitter/field-issues';
import { ATTRIBUTION_FIELDS, isStorableTag } from '@spendline/emitter/usage-event';
import { firstText, hasGenAiAttributes, tokenCount } from './attribute-values.ts';
import { STATUS_CODE, type AnyValue, type Attributes, type OtlpSpan } from './otlp-model.ts';
import type { OtlpSettings } from './otlp-settings.ts';
import { catalogProvider } from '../ingest/provider-names.ts';
import { droppedLabelTag, labelProblem, tagsWithNotes } from '../ingest/unstorable-labels.ts';

/**
 * One span judged by the OpenTelemetry GenAI semantic conventions: not a
 * GenAI span, a GenAI span that is not a model call (agents, tools,
 * workflows, whose usage, when they carry any, is their model calls' again),
 * or a model call, mapped to the JSON form of a usage event (what POST
 * /v1/events takes; the shared validation judges it next) or rejected with
 * the attributes at fault named.
 *
 * Token classes keep the conventions' meaning, which is the usage event's:
 * input_tokens includes cache reads and writes, output_tokens includes
 * reasoning. Sub-classes are never added on top; a span whose parts exceed
 * their total is refused rather than guessed at.
 */

export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  /** Deprecated for gen_ai.provider.name. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  /** Deprecated for gen_ai.usage.input_tokens. */
  promptTokens: 'gen_ai.usage.prompt_tokens',
  /** Deprecated for gen_ai.usage.output_tokens. */
  completionTokens: 'gen_ai.usage.completion_tokens',
  cacheReadTokens: 'gen_ai.usage.cache_read.input_tokens',
  cacheCreationTokens: 'gen_ai.usage.cache_creation.input_tokens',
  reasoningTokens: 'gen_ai.usage.reasoning.output_tokens',
  timeToFirstChunk: 'gen_ai.response.time_to_first_chunk',
  errorType: 'error.type',
} as const;

/** Where each usage event field came from, to name the span's own attribute when the event is refused. */
export type FieldSources = Readonly<Record<string, string>>;

export type SpanVerdict =
  | { readonly outcome: 'ignored_non_genai' }
  | { readonly outcome: 'ignored_not_a_model_call'; readonly operation: string | null }
  | { readonly outcome: 'event'; readonly event: Record<string, unknown>; readonly sources: FieldSources }
  | { readonly outcome: 'rejected'; readonly issues: readonly FieldIssue[] };

/** The usage event operation for a gen_ai.operation.name. */
const OPERATIONS: Readonly<Record<string, string>> = {
  chat: 'chat',
  text_completion: 'chat',
  generate_content: 'chat',
  embeddings: 'embedding',
};

const NANOS_PER_MS = 1_000_000n;
/** Largest epoch milliseconds a JavaScript Date holds. */
const MAX_DATE_MS = 8.64e15;

export function judgeSpan(span: OtlpSpan, resource: Attributes, settings: OtlpSettings): SpanVerdict {
  const attributes = span.attributes;
  if (!hasGenAiAttributes(attributes)) return { outcome: 'ignored_non_genai' };

  const operation = firstText(attributes, [GEN_AI.operation])?.text ?? null;
  const provider = firstText(attributes, [GEN_AI.provider, GEN_AI.system]);
  const model = firstText(attributes, [GEN_AI.responseModel, GEN_AI.requestModel]);
  if (operation !== null && !settings.modelCallOperations.has(operation)) return { outcome: 'ignored_not_a_model_call', operation };
  // Instrumentations older than gen_ai.operation.name: a span naming a provider and a model is one model call.
  if (operation === null && (provider === null || model === null)) return { outcome: 'ignored_not_a_model_call', operation };

  const issues: FieldIssue[] = [];
  const sources: Record<string, string> = { trace_id: 'traceId', span_id: 'spanId', occurred_at: 'startTimeUnixNano', latency_ms: 'endTimeUnixNano - startTimeUnixNano' };
  if (span.traceId === '') issues.push({ path: 'traceId', message: 'must be set: the trace and span ids identify the call' });
  if (span.spanId === '') issues.push({ path: 'spanId', message: 'must be set: the trace and span ids identify the call' });
  if (provider === null) issues.push({ path: GEN_AI.provider, message: `is required (or the deprecated ${GEN_AI.system}) to price the call` });
  else sources['provider'] = provider.key;
  if (model === null) issues.push({ path: GEN_AI.responseModel, message: `is required (or ${GEN_AI.requestModel}) to price the call` });
  else sources['model'] = model.key;

  const counts: Record<string, number> = {};
  const readCount = (field: string, keys: readonly string[]) => {
    for (const key of keys) {
      const value = attributes.get(key);
      if (value === undefined || value.kind === 'empty') continue;
      const read = tokenCount(value);
      if (!read.ok) issues.push({ path: key, message: read.message });
      else counts[field] = read.count;
      sources[field] = key;
      return;
    }
  };
  // The current name wins over its deprecated one when a span carries both.
  readCount('input_tokens', [GEN_AI.inputTokens, GEN_AI.promptTokens]);
  readCount('output_tokens', [GEN_AI.outputTokens, GEN_AI.completionTokens]);
  readCount('cache_read_tokens', [GEN_AI.cacheReadTokens]);
  readCount('cache_write_tokens', [GEN_AI.cacheCreationTokens]);
  readCount('reasoning_tokens', [GEN_AI.reasoningTokens]);
  issues.push(...partsWithinTotals(counts, sources));

  const start = span.startTimeUnixNano;
  const end = span.endTimeUnixNano;
  const startMs = Number(start / NANOS_PER_MS);
  if (start === 0n) issues.push({ path: 'startTimeUnixNano', message: 'must be set: it is when the call happened' });
  else if (startMs > MAX_DATE_MS) issues.push({ path: 'startTimeUnixNano', message: `is not a time (${start} ns since the Unix epoch)` });
  if (end < start) issues.push({ path: 'endTimeUnixNano', message: 'must not be before startTimeUnixNano' });
  if (issues.length > 0) return { outcome: 'rejected', issues };

  const event: Record<string, unknown> = {
    trace_id: span.traceId,
    span_id: span.spanId,
    occurred_at: new Date(startMs).toISOString(),
    provider: catalogProvider('otel', provider!.text, settings.providers),
    model: model!.text,
    operation: operation === null ? 'other' : (OPERATIONS[operation] ?? 'other'),
    ...counts,
    // Rounded to the nearest millisecond.
    latency_ms: Number((end - start + NANOS_PER_MS / 2n) / NANOS_PER_MS),
    status: span.status.code === STATUS_CODE.error ? 'error' : 'ok',
    gateway_id: settings.gatewayId,
  };
  const ttft = firstChunkMs(attributes.get(GEN_AI.timeToFirstChunk));
  if (ttft !== null) {
    event['ttft_ms'] = ttft;
    sources['ttft_ms'] = GEN_AI.timeToFirstChunk;
  }
  // Labels Spendline cannot store are left out with a note (services/ingest/unstorable-labels.ts): a rejected span is never resent.
  const notes: (readonly [string, string])[] = [];
  if (event['status'] === 'error') {
    const errorType = firstText(attributes, [GEN_AI.errorType]);
    // A long exception name is cut rather than dropped: its start still names the error.
    const errorCode = errorType?.text.slice(0, 128);
    const problem = errorCode === undefined ? null : labelProblem('error_code', errorCode);
    if (problem !== null) notes.push(droppedLabelTag('error_code', `span attribute ${GEN_AI.errorType}`, problem));
    else if (errorCode !== undefined) event['error_code'] = errorCode;
    sources['error_code'] = GEN_AI.errorType;
  }
  Object.assign(event, attribution(attributes, resource, settings, sources, notes));
  return { outcome: 'event', event, sources };
}

/** Cache reads and writes are part of the input, reasoning part of the output: parts past their total mean another convention. */
function partsWithinTotals(counts: Record<string, number>, sources: Record<string, string>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const input = counts['input_tokens'] ?? 0;
  const cacheRead = counts['cache_read_tokens'] ?? 0;
  const cacheWrite = counts['cache_write_tokens'] ?? 0;
  if (cacheRead + cacheWrite > input) {
    issues.push({
      path: sources['input_tokens'] ?? GEN_AI.inputTokens,
      message: `is ${input}, less than ${GEN_AI.cacheReadTokens} (${cacheRead}) + ${GEN_AI.cacheCreationTokens} (${cacheWrite}): the conventions count cached tokens as part of the input, so the instrumentation must report the whole input, cached tokens included`,
    });
  }
  const output = counts['output_tokens'] ?? 0;
  const reasoning = counts['reasoning_tokens'] ?? 0;
  if (reasoning > output) {
    issues.push({
      path: sources['output_tokens'] ?? GEN_AI.outputTokens,
      message: `is ${output}, less than ${GEN_AI.reasoningTokens} (${reasoning}): the conventions count reasoning tokens as part of the output`,
    });
  }
  return issues;
}

/** gen_ai.response.time_to_first_chunk is in seconds; an unusable value is left out (it prices nothing). */
function firstChunkMs(value: AnyValue | undefined): number | null {
  if (value === undefined) return null;
  const seconds = value.kind === 'double' ? value.value : value.kind === 'int' ? Number(value.value) : Number.NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : null;
}

/**
 * Dimensions and tags from the mapped attributes. A span attribute overrides
 * the resource attribute of the same key; among the keys mapped to one
 * dimension, the first present wins. A dimension value that cannot be stored
 * leaves the dimension absent and a note among the tags; a tag value that
 * cannot be stored is left out.
 */
function attribution(span: Attributes, resource: Attributes, settings: OtlpSettings, sources: Record<string, string>, notes: (readonly [string, string])[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const find = (keys: readonly string[]) => {
    for (const key of keys) {
      const own = firstText(span, [key]);
      if (own) return { ...own, source: `span attribute ${key}` };
      const inherited = firstText(resource, [key]);
      if (inherited) return { ...inherited, source: `resource attribute ${key}` };
    }
    return null;
  };
  for (const field of ATTRIBUTION_FIELDS) {
    const found = find(settings.dimensions[field]);
    if (!found) continue;
    const problem = labelProblem(field, found.text);
    if (problem !== null) notes.push(droppedLabelTag(field, found.source, problem));
    else fields[field] = found.text;
    sources[field] = found.source;
  }
  const tags: [string, string][] = [];
  for (const [key, tag] of settings.tags) {
    const found = find([key]);
    if (!found || !isStorableTag(tag, found.text)) continue;
    tags.push([tag, found.text]);
    sources[`tags.${tag}`] = found.source;
  }
  fields['tags'] = tagsWithNotes(notes, tags);
  return fields;
}
