import type { Attributes } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { DEFAULT_OTLP_SETTINGS, otlpFile, otlpSettings, type OtlpSettings } from '../../../services/otlp/otlp-settings.ts';
import { judgeTraceExport, rejectionMessage, type JudgedExport } from '../../../services/otlp/trace-export.ts';
import { decodeTraceRequestJson } from '../../../services/otlp/trace-request-json.ts';
import { decodeTraceRequestProtobuf } from '../../../services/otlp/trace-request-protobuf.ts';
import { jsonBody, protobufBody, recordSpans, type SpanSpec } from './sdk-spans.ts';

/**
 * The GenAI semantic conventions → usage event mapping, table by table, on
 * spans the OpenTelemetry SDK recorded and serialized, through both decoders.
 */

const NOW = Date.now();
const START_MS = NOW - 60_000;
const SKEW = 15 * 60_000;

const CHAT = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o' } as const;

type Spans = ReturnType<typeof recordSpans>;
const ENCODINGS = [
  ['protobuf', (spans: Spans) => decodeTraceRequestProtobuf(protobufBody(spans))],
  ['json', (spans: Spans) => decodeTraceRequestJson(jsonBody(spans).toString('utf8'))],
] as const;

function record(resource: Attributes, specs: readonly SpanSpec[]): Spans {
  return recordSpans(resource, specs.map((spec) => ({ startMs: START_MS, ...spec })));
}

function judgeVia(encoding: (typeof ENCODINGS)[number], spans: Spans, settings: OtlpSettings = DEFAULT_OTLP_SETTINGS, policy = AttributionPolicy.builtIn): JudgedExport {
  const decoded = encoding[1](spans);
  if (!decoded.ok) throw new Error(JSON.stringify(decoded.issues));
  return judgeTraceExport(decoded.request, settings, NOW, SKEW, policy);
}

/** The one event a single model-call span becomes, through both encodings (which must agree). */
function eventOf(attributes: Attributes, resource: Attributes = {}, spec: Partial<SpanSpec> = {}, settings?: OtlpSettings): UsageEventRecord {
  const spans = record(resource, [{ attributes, ...spec }]);
  const [viaProtobuf, viaJson] = ENCODINGS.map((encoding) => judgeVia(encoding, spans, settings));
  expect(viaProtobuf!.rejected).toEqual([]);
  expect(viaProtobuf!.accepted).toHaveLength(1);
  expect(viaJson!.accepted).toEqual(viaProtobuf!.accepted);
  return viaProtobuf!.accepted[0]!;
}

/** The issues of a single rejected span, through both encodings. */
function rejectionOf(attributes: Attributes, resource: Attributes = {}, spec: Partial<SpanSpec> = {}, policy?: AttributionPolicy) {
  const spans = record(resource, [{ attributes, ...spec }]);
  const [viaProtobuf, viaJson] = ENCODINGS.map((encoding) => judgeVia(encoding, spans, DEFAULT_OTLP_SETTINGS, policy));
  expect(viaProtobuf!.accepted).toEqual([]);
  expect(viaProtobuf!.rejected).toHaveLength(1);
  expect(viaJson!.rejected).toEqual(viaProtobuf!.rejected);
  return viaProtobuf!.rejected[0]!.issues;
}

describe('token usage per the GenAI semantic conventions', () => {
  it.each([
    ['the current names, every class', { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.output_tokens': 200, 'gen_ai.usage.cache_read.input_tokens': 300, 'gen_ai.usage.cache_creation.input_tokens': 100, 'gen_ai.usage.reasoning.output_tokens': 50 }, { input_tokens: 1000, output_tokens: 200, cache_read_tokens: 300, cache_write_tokens: 100, reasoning_tokens: 50 }],
    ['the deprecated prompt_tokens and completion_tokens', { 'gen_ai.usage.prompt_tokens': 800, 'gen_ai.usage.completion_tokens': 90 }, { input_tokens: 800, output_tokens: 90, cache_read_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0 }],
    ['current and deprecated names together (the current wins)', { 'gen_ai.usage.input_tokens': 1000, 'gen_ai.usage.prompt_tokens': 5, 'gen_ai.usage.output_tokens': 7, 'gen_ai.usage.completion_tokens': 9 }, { input_tokens: 1000, output_tokens: 7 }],
    ['cached input equal to the whole input', { 'gen_ai.usage.input_tokens': 400, 'gen_ai.usage.cache_read.input_tokens': 400 }, { input_tokens: 400, cache_read_tokens: 400 }],
    ['reasoning equal to the whole output', { 'gen_ai.usage.output_tokens': 64, 'gen_ai.usage.reasoning.output_tokens': 64 }, { output_tokens: 64, reasoning_tokens: 64 }],
    ['a count sent as a string of digits', { 'gen_ai.usage.input_tokens': '1200' }, { input_tokens: 1200 }],
    ['no usage at all (a call that failed before an answer)', {}, { input_tokens: 0, output_tokens: 0 }],
  ])('reads %s without adding parts on top', (_what, usage, expected) => {
    expect(eventOf({ ...CHAT, ...usage })).toMatchObject(expected);
  });

  it.each([
    ['cached tokens beyond the input (input reported without them)', { 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.cache_read.input_tokens': 900, 'gen_ai.usage.cache_creation.input_tokens': 50 }, [{ path: 'gen_ai.usage.input_tokens', message: 'is 100, less than gen_ai.usage.cache_read.input_tokens (900) + gen_ai.usage.cache_creation.input_tokens (50): the conventions count cached tokens as part of the input, so the instrumentation must report the whole input, cached tokens included' }]],
    ['cached tokens beyond the deprecated prompt_tokens', { 'gen_ai.usage.prompt_tokens': 10, 'gen_ai.usage.cache_read.input_tokens': 20 }, [{ path: 'gen_ai.usage.prompt_tokens', message: expect.stringContaining('is 10, less than gen_ai.usage.cache_read.input_tokens (20)') }]],
    ['reasoning beyond the output', { 'gen_ai.usage.output_tokens': 10, 'gen_ai.usage.reasoning.output_tokens': 11 }, [{ path: 'gen_ai.usage.output_tokens', message: 'is 10, less than gen_ai.usage.reasoning.output_tokens (11): the conventions count reasoning tokens as part of the output' }]],
    ['a fractional count', { 'gen_ai.usage.input_tokens': 10.5 }, [{ path: 'gen_ai.usage.input_tokens', message: 'must be a whole number of tokens, got 10.5' }]],
    ['a negative count', { 'gen_ai.usage.output_tokens': -1 }, [{ path: 'gen_ai.usage.output_tokens', message: 'must not be negative, got -1' }]],
    ['a count past 2^53 (int64, never rounded)', { 'gen_ai.usage.input_tokens': 2 ** 60 }, [{ path: 'gen_ai.usage.input_tokens', message: 'must be at most 9007199254740991, got 1152921504606846976' }]],
    ['a count that is text', { 'gen_ai.usage.input_tokens': 'lots' }, [{ path: 'gen_ai.usage.input_tokens', message: 'must be an integer token count, got the string "lots"' }]],
    ['a count that is a boolean', { 'gen_ai.usage.reasoning.output_tokens': true }, [{ path: 'gen_ai.usage.reasoning.output_tokens', message: 'must be an integer token count, got the boolean true' }]],
  ])('rejects %s, naming the attribute', (_what, usage, issues) => {
    expect(rejectionOf({ ...CHAT, ...usage })).toEqual(issues);
  });
});

describe('provider, model and operation', () => {
  it.each([
    ['openai', 'openai'],
    ['anthropic', 'anthropic'],
    ['aws.bedrock', 'aws'],
    ['azure.ai.openai', 'azure'],
    ['azure.ai.inference', 'azure'],
    ['gcp.vertex_ai', 'google'],
    ['gcp.gemini', 'google'],
    ['gcp.gen_ai', 'google'],
    ['mistral_ai', 'mistral'],
    ['x_ai', 'x-ai'],
    ['ibm.watsonx.ai', 'ibm.watsonx.ai'],
    ['Some.Other', 'some.other'],
  ])('maps gen_ai.provider.name %s to the catalog provider %s', (name, provider) => {
    expect(eventOf({ ...CHAT, 'gen_ai.provider.name': name }).provider).toBe(provider);
  });

  it.each(['constructor', '__proto__'])('passes %s through as a name, never an Object.prototype member', (name) => {
    const { 'gen_ai.provider.name': _name, ...withoutProvider } = CHAT;
    expect(eventOf({ ...withoutProvider, 'gen_ai.system': name }).provider).toBe(name);
  });

  it('reads the deprecated gen_ai.system, and prefers gen_ai.provider.name when both are set', () => {
    const { 'gen_ai.provider.name': _name, ...withoutProvider } = CHAT;
    expect(eventOf({ ...withoutProvider, 'gen_ai.system': 'az.ai.openai' }).provider).toBe('azure');
    expect(eventOf({ ...CHAT, 'gen_ai.provider.name': 'aws.bedrock', 'gen_ai.system': 'openai' }).provider).toBe('aws');
  });

  it('takes the served model (gen_ai.response.model) over the requested one', () => {
    expect(eventOf({ ...CHAT, 'gen_ai.response.model': 'gpt-4o-2024-08-06' }).model).toBe('gpt-4o-2024-08-06');
    expect(eventOf(CHAT).model).toBe('gpt-4o');
  });

  it('rejects a model call with no provider or no model, naming both', () => {
    expect(rejectionOf({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 3 })).toEqual([
      { path: 'gen_ai.provider.name', message: 'is required (or the deprecated gen_ai.system) to price the call' },
      { path: 'gen_ai.response.model', message: 'is required (or gen_ai.request.model) to price the call' },
    ]);
  });

  it.each([
    ['chat', 'chat'],
    ['text_completion', 'chat'],
    ['generate_content', 'chat'],
    ['embeddings', 'embedding'],
  ])('counts gen_ai.operation.name %s as a model call (operation %s)', (name, operation) => {
    expect(eventOf({ ...CHAT, 'gen_ai.operation.name': name }).operation).toBe(operation);
  });

  it('counts a span of an instrumentation older than gen_ai.operation.name when it names provider and model', () => {
    expect(eventOf({ 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.prompt_tokens': 10 })).toMatchObject({ operation: 'other', input_tokens: 10 });
  });

  it('counts extra operations the OTLP file names', () => {
    const settings = otlpSettings(otlpFile.parse({ model_call_operations: ['chat', 'rerank'] }));
    expect(eventOf({ ...CHAT, 'gen_ai.operation.name': 'rerank' }, {}, {}, settings).operation).toBe('other');
  });
});

describe('spans that are not model calls', () => {
  for (const encoding of ENCODINGS) {
    it(`ignores and counts agent, tool, workflow, retrieval and non-GenAI spans (${encoding[0]})`, () => {
      const judged = judgeVia(encoding, record({ 'service.name': 'agent-app' }, [
        { name: 'invoke_agent planner', attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 5000, 'gen_ai.usage.output_tokens': 900 } },
        { name: 'create_agent', attributes: { 'gen_ai.operation.name': 'create_agent', 'gen_ai.agent.name': 'planner' } },
        { name: 'execute_tool search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' } },
        { name: 'invoke_workflow', attributes: { 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.usage.input_tokens': 5000 } },
        { name: 'retrieval', attributes: { 'gen_ai.operation.name': 'retrieval', 'gen_ai.data_source.id': 'kb' } },
        { name: 'rerank', attributes: { 'gen_ai.operation.name': 'rerank', 'gen_ai.provider.name': 'cohere', 'gen_ai.request.model': 'rerank-v3' } },
        { name: 'agent summary', attributes: { 'gen_ai.agent.name': 'planner', 'gen_ai.usage.input_tokens': 5000 } },
        { name: 'GET /orders', attributes: { 'http.request.method': 'GET' } },
        { name: 'SELECT orders', attributes: { 'db.system.name': 'postgresql' } },
        // The two model calls beneath the agent: only these are counted.
        { attributes: { ...CHAT, 'gen_ai.usage.input_tokens': 3000, 'gen_ai.usage.output_tokens': 500 } },
        { attributes: { ...CHAT, 'gen_ai.usage.input_tokens': 2000, 'gen_ai.usage.output_tokens': 400 } },
      ]));
      expect(judged.ignoredNotAModelCall).toBe(7);
      expect(judged.ignoredNonGenAi).toBe(2);
      expect(judged.rejected).toEqual([]);
      expect(judged.accepted.map((event) => [event.input_tokens, event.output_tokens])).toEqual([
        [3000, 500],
        [2000, 400],
      ]);
    });
  }
});

describe('model calls nested in model calls (a framework span around the provider SDK\'s)', () => {
  const FRAMEWORK = { ...CHAT, 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 80 };
  const PROVIDER = { ...FRAMEWORK, 'gen_ai.response.model': 'gpt-4o-2024-08-06' };

  for (const encoding of ENCODINGS) {
    it(`keeps the innermost model call and ignores the ones around it (${encoding[0]})`, () => {
      const spans = record({}, [
        { name: 'invoke_agent planner', attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.usage.input_tokens': 2400 } },
        { name: 'chat ChatOpenAI', attributes: FRAMEWORK, parent: 0 },
        { name: 'POST /v1/chat/completions', attributes: { 'http.request.method': 'POST' }, parent: 1 },
        { name: 'chat gpt-4o', attributes: PROVIDER, parent: 2 },
        // A second call of the agent, instrumented by the provider SDK only.
        { name: 'chat gpt-4o', attributes: PROVIDER, parent: 0 },
      ]);
      const judged = judgeVia(encoding, spans);
      expect(judged.accepted.map((event) => [event.span_id, event.model])).toEqual([
        [spans[3]!.spanContext().spanId, 'gpt-4o-2024-08-06'],
        [spans[4]!.spanContext().spanId, 'gpt-4o-2024-08-06'],
      ]);
      expect([judged.ignoredWrapper, judged.ignoredNotAModelCall, judged.ignoredNonGenAi, judged.rejected.length]).toEqual([1, 1, 1, 0]);
    });
  }

  it('ignores every layer but the innermost, however many', () => {
    const spans = record({}, [{ attributes: FRAMEWORK }, { attributes: FRAMEWORK, parent: 0 }, { attributes: PROVIDER, parent: 1 }]);
    const judged = judgeVia(ENCODINGS[0], spans);
    expect(judged.accepted.map((event) => event.span_id)).toEqual([spans[2]!.spanContext().spanId]);
    expect(judged.ignoredWrapper).toBe(2);
  });

  it('ignores a wrapper even when the call inside it is rejected: the rejection names the call to fix', () => {
    const spans = record({}, [{ attributes: FRAMEWORK }, { attributes: { ...PROVIDER, 'gen_ai.usage.output_tokens': -1 }, parent: 0 }]);
    const judged = judgeVia(ENCODINGS[0], spans);
    expect(judged.accepted).toEqual([]);
    expect(judged.rejected.map((rejection) => rejection.spanId)).toEqual([spans[1]!.spanContext().spanId]);
    expect(judged.ignoredWrapper).toBe(1);
  });

  it('counts a wrapper whose inner call came in another export: one request is all it can see', () => {
    const spans = record({}, [{ attributes: FRAMEWORK }, { attributes: PROVIDER, parent: 0 }]);
    const judged = judgeVia(ENCODINGS[0], [spans[0]!]);
    expect(judged.accepted).toHaveLength(1);
    expect(judged.ignoredWrapper).toBe(0);
  });

  it('links spans by trace: the same parent span id in another trace is another span', () => {
    const spans = record({}, [{ attributes: FRAMEWORK }, { attributes: PROVIDER, parent: 0 }]);
    const decoded = decodeTraceRequestProtobuf(protobufBody(spans));
    if (!decoded.ok) throw new Error('not decoded');
    const group = decoded.request.resourceSpans[0]!;
    const [outer, inner] = group.scopeSpans[0]!.spans;
    const otherTrace = { ...inner!, traceId: 'ffffffffffffffffffffffffffffffff' };
    const judged = judgeTraceExport({ resourceSpans: [{ ...group, scopeSpans: [{ ...group.scopeSpans[0]!, spans: [outer!, otherTrace] }] }] }, DEFAULT_OTLP_SETTINGS, NOW, SKEW, AttributionPolicy.builtIn);
    expect([judged.accepted.length, judged.ignoredWrapper]).toEqual([2, 0]);
  });

  it('follows parent links that loop (no real trace has them) without hanging, judging every span once', () => {
    const spans = record({}, [{ attributes: FRAMEWORK }, { attributes: PROVIDER }, { attributes: PROVIDER }]);
    const decoded = decodeTraceRequestProtobuf(protobufBody(spans));
    if (!decoded.ok) throw new Error('not decoded');
    const group = decoded.request.resourceSpans[0]!;
    const [a, b, c] = group.scopeSpans[0]!.spans;
    // a → b → a in one trace; c its own parent.
    const looped = [{ ...a!, parentSpanId: b!.spanId }, { ...b!, traceId: a!.traceId, parentSpanId: a!.spanId }, { ...c!, parentSpanId: c!.spanId }];
    const judged = judgeTraceExport({ resourceSpans: [{ ...group, scopeSpans: [{ ...group.scopeSpans[0]!, spans: looped }] }] }, DEFAULT_OTLP_SETTINGS, NOW, SKEW, AttributionPolicy.builtIn);
    expect(judged.accepted.length + judged.ignoredWrapper + judged.rejected.length).toBe(3);
    expect(judged.accepted.map((event) => event.span_id)).toContain(c!.spanId);
  });
});

describe('identity, time and outcome', () => {
  it('keeps trace and span ids and derives the event_id from them', () => {
    const spans = recordSpans({}, [{ attributes: CHAT, startMs: START_MS }]);
    const { traceId, spanId } = spans[0]!.spanContext();
    const decoded = decodeTraceRequestProtobuf(protobufBody(spans));
    if (!decoded.ok) throw new Error('not decoded');
    const [event] = judgeTraceExport(decoded.request, DEFAULT_OTLP_SETTINGS, NOW, SKEW, AttributionPolicy.builtIn).accepted;
    expect(event).toMatchObject({ trace_id: traceId, span_id: spanId, event_id: `span-${traceId}-${spanId}`, gateway_id: 'otlp', api_flavor: null });
  });

  it('takes occurred_at from the span start and latency from its duration', () => {
    expect(eventOf(CHAT, {}, { startMs: START_MS, durationMs: 2750 })).toMatchObject({ occurred_at: START_MS, latency_ms: 2750, ttft_ms: null, status: 'ok', error_code: null });
  });

  it('reads time to first chunk (seconds) as ttft_ms', () => {
    expect(eventOf({ ...CHAT, 'gen_ai.response.time_to_first_chunk': 0.25 }).ttft_ms).toBe(250);
  });

  it('marks a span with status ERROR as an error, its error.type as the code', () => {
    expect(eventOf({ ...CHAT, 'error.type': 'rate_limit_exceeded' }, {}, { error: true })).toMatchObject({ status: 'error', error_code: 'rate_limit_exceeded' });
    expect(eventOf(CHAT, {}, { error: true })).toMatchObject({ status: 'error', error_code: null });
    expect(eventOf({ ...CHAT, 'error.type': 'ignored when the span is not in error' })).toMatchObject({ status: 'ok', error_code: null });
  });

  it('rejects a span from the future or the distant past through the shared validation, naming the span field', () => {
    expect(rejectionOf(CHAT, {}, { startMs: NOW + 60 * 60_000 })).toEqual([{ path: 'occurred_at (from startTimeUnixNano)', message: 'is more than 15 minutes after the event was received' }]);
    expect(rejectionOf(CHAT, {}, { startMs: Date.UTC(2014, 0, 1) })).toEqual([{ path: 'occurred_at (from startTimeUnixNano)', message: 'must not be before 2015-01-01' }]);
  });
});

describe('attribution from resource and span attributes', () => {
  it('fills the dimensions from the conventional attributes by default', () => {
    const event = eventOf(
      { ...CHAT, 'enduser.id': 'u-17', 'gen_ai.conversation.id': 'conv-9', 'gen_ai.agent.name': 'planner' },
      { 'service.name': 'checkout', 'deployment.environment.name': 'prod', 'spendline.team': 'payments', 'spendline.tenant_id': 'acme', 'spendline.cost_center': 'cc-1', 'spendline.api_key_id': 'key-1', 'spendline.agent_run_id': 'run-1' },
    );
    expect(event).toMatchObject({
      feature: 'checkout',
      environment: 'prod',
      team: 'payments',
      tenant_id: 'acme',
      cost_center: 'cc-1',
      api_key_id: 'key-1',
      agent_run_id: 'run-1',
      user_id: 'u-17',
      session_id: 'conv-9',
      tags: { agent: 'planner' },
    });
  });

  it('reads the deprecated deployment.environment and session.id', () => {
    expect(eventOf({ ...CHAT, 'session.id': 's-1' }, { 'deployment.environment': 'staging' })).toMatchObject({ environment: 'staging', session_id: 's-1' });
  });

  it('lets span attributes override resource attributes', () => {
    expect(eventOf({ ...CHAT, 'spendline.team': 'search', 'service.name': 'span-level' }, { 'spendline.team': 'payments', 'service.name': 'checkout', 'spendline.feature': 'cart' })).toMatchObject({ team: 'search', feature: 'cart' });
  });

  it('follows the mappings of the OTLP file', () => {
    const settings = otlpSettings(otlpFile.parse({ gateway_id: 'collector-eu', dimensions: { team: ['k8s.namespace.name'], feature: [] }, tags: { 'service.version': 'release' } }));
    const event = eventOf({ ...CHAT, 'gen_ai.agent.name': 'not mapped any more' }, { 'k8s.namespace.name': 'search', 'service.name': 'checkout', 'service.version': '2026.11' }, {}, settings);
    expect(event).toMatchObject({ team: 'search', feature: null, gateway_id: 'collector-eu', tags: { release: '2026.11' } });
  });

  it('leaves out a tag it cannot store rather than the call (a rejected span is never resent)', () => {
    expect(eventOf({ ...CHAT, 'gen_ai.agent.name': 'x'.repeat(300) }, { 'service.version': '1' }).tags).toEqual({});
    expect(eventOf({ ...CHAT, 'gen_ai.agent.name': 'planner\nexecutor', 'gen_ai.agent.id': 'agent-7' }).tags).toEqual({ agent_id: 'agent-7' });
  });

  it('keeps a call whose dimension it cannot store: the dimension absent (no weaker attribute fills it), a tag saying where and why', () => {
    const event = eventOf({ ...CHAT, 'spendline.feature': 'answers\u0000', 'gen_ai.agent.name': 'planner' }, { 'spendline.team': 't'.repeat(300), 'service.name': 'checkout' });
    expect(event).toMatchObject({ team: null, feature: null, input_tokens: 0 });
    expect(event.tags).toEqual({
      'spendline.dropped.team': 'resource attribute spendline.team: must be at most 256 characters',
      'spendline.dropped.feature': 'span attribute spendline.feature: must not contain control characters',
      agent: 'planner',
    });
  });

  it('keeps a failed call whose error.type it cannot store, without the error code', () => {
    expect(eventOf({ ...CHAT, 'error.type': 'Timeout\r\nretry' }, {}, { error: true })).toMatchObject({
      status: 'error',
      error_code: null,
      tags: { 'spendline.dropped.error_code': 'span attribute error.type: must not contain control characters' },
    });
  });

  it('keeps the notes of dropped dimensions within the 50-tag limit, before mapped tags', () => {
    const keys = Array.from({ length: 50 }, (_, index) => `custom.attr${index}`);
    const settings = otlpSettings(otlpFile.parse({ tags: Object.fromEntries(keys.map((key, index) => [key, `tag${index}`])) }));
    const event = eventOf({ ...CHAT, ...Object.fromEntries(keys.map((key) => [key, 'v'])) }, { 'spendline.team': 't'.repeat(300) }, {}, settings);
    expect(Object.keys(event.tags)).toHaveLength(50);
    expect(event.tags['spendline.dropped.team']).toBe('resource attribute spendline.team: must be at most 256 characters');
    expect(event.tags['tag48']).toBe('v');
    expect(event.tags).not.toHaveProperty('tag49');
  });

  it('applies the attribution policy every ingest path shares', () => {
    const policy = AttributionPolicy.fromText(JSON.stringify({ version: 'p1', requirements: [{ id: 'prod-owner', when: { environment: 'prod' }, dimensions: ['team'], on_missing: 'reject' }] }));
    expect(rejectionOf(CHAT, { 'deployment.environment.name': 'prod' }, {}, policy)).toEqual([{ path: 'team', message: 'is required by the attribution policy (requirement "prod-owner")' }]);
  });
});

describe('rejectionMessage', () => {
  it('names each rejected span by id with its fields at fault, and counts the ones past twenty', () => {
    const one = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', issues: [{ path: 'gen_ai.usage.input_tokens', message: 'must not be negative, got -1' }] };
    expect(rejectionMessage([one])).toBe('1 GenAI span rejected (not stored; fix and resend them): span b7ad6b7169203331 of trace 0af7651916cd43dd8448eb211c80319c: gen_ai.usage.input_tokens: must not be negative, got -1');
    const many = rejectionMessage(Array.from({ length: 23 }, () => one));
    expect(many).toMatch(/^23 GenAI spans rejected/);
    expect(many).toMatch(/ … and 3 more$/);
    expect(many.split(' | ')).toHaveLength(20);
  });
});
