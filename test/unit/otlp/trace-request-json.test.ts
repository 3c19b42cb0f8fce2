import { describe, expect, it } from 'vitest';
import { decodeTraceRequestJson } from '../../../services/otlp/trace-request-json.ts';
import { jsonBody, recordSpans } from './sdk-spans.ts';

const TRACE = '5B8EFFF798038103D269B633813FC60C';
const SPAN = 'EEE19B7EC3C1B174';

/** An OTLP/JSON request holding one span with these fields (as an exporter writes them, unless overridden). */
function withSpan(span: Record<string, unknown>, resource: Record<string, unknown> = { attributes: [] }): string {
  return JSON.stringify({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 'lib' }, spans: [{ traceId: TRACE, spanId: SPAN, name: 'chat', kind: 3, startTimeUnixNano: '1795490958418000000', endTimeUnixNano: '1795490959652000000', ...span }] }] }] });
}

function decodedSpan(text: string) {
  const result = decodeTraceRequestJson(text);
  if (!result.ok) throw new Error(`not decoded: ${JSON.stringify(result.issues)}`);
  return result.request.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
}

function issuesOf(text: string) {
  const result = decodeTraceRequestJson(text);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.issues;
}

const AT = 'resourceSpans[0].scopeSpans[0].spans[0]';

describe('decodeTraceRequestJson', () => {
  it('reads what the SDK\'s JSON exporter sends', () => {
    const spans = recordSpans({ 'service.name': 'checkout' }, [{ attributes: { 'gen_ai.usage.input_tokens': 7, 'gen_ai.system': 'openai' }, error: true }]);
    const result = decodeTraceRequestJson(jsonBody(spans).toString('utf8'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [span] = result.request.resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(span!.traceId).toBe(spans[0]!.spanContext().traceId);
    expect(span!.attributes.get('gen_ai.usage.input_tokens')).toEqual({ kind: 'int', value: 7n });
    expect(span!.status).toEqual({ code: 2, message: 'upstream failed' });
  });

  it('lower-cases hex ids (OTLP/JSON ids are case-insensitive)', () => {
    expect(decodedSpan(withSpan({}))).toMatchObject({ traceId: TRACE.toLowerCase(), spanId: SPAN.toLowerCase() });
  });

  it('takes 64-bit integers as strings (exactly) or numbers (as exactly as a JSON number holds them)', () => {
    const span = decodedSpan(
      withSpan({
        startTimeUnixNano: 1795490958418000000,
        attributes: [
          { key: 'a', value: { intValue: '9223372036854775807' } },
          { key: 'b', value: { intValue: -5 } },
          { key: 'c', value: { doubleValue: 'NaN' } },
          { key: 'd', value: { bytesValue: 'AQID' } },
          { key: 'e', value: { kvlistValue: { values: [{ key: 'inner', value: { boolValue: false } }] } } },
          { key: 'f', value: {} },
          { key: 'g', value: { arrayValue: {} } },
        ],
      }),
    );
    // A JSON number this large is a double: the nearest one is 128 ns off, far below a millisecond.
    expect(span.startTimeUnixNano).toBe(1795490958417999872n);
    expect(Object.fromEntries(span.attributes)).toEqual({
      a: { kind: 'int', value: 2n ** 63n - 1n },
      b: { kind: 'int', value: -5n },
      c: { kind: 'double', value: Number.NaN },
      d: { kind: 'bytes', value: new Uint8Array([1, 2, 3]) },
      e: { kind: 'kvlist', values: new Map([['inner', { kind: 'bool', value: false }]]) },
      f: { kind: 'empty' },
      g: { kind: 'array', values: [] },
    });
  });

  it('treats null as the default and ignores unknown fields, as the OTLP/JSON mapping requires', () => {
    const span = decodedSpan(withSpan({ status: null, attributes: null, name: null, somethingNew: { x: 1 }, parentSpanId: 'abc' }));
    expect(span).toMatchObject({ name: '', status: { code: 0, message: '' }, attributes: new Map() });
  });

  it.each([
    ['a trace id of the wrong length', { traceId: 'abc' }, `${AT}.traceId`, 'must be 32 hex digits'],
    ['a span id that is not hex', { spanId: 'zzzzzzzzzzzzzzzz' }, `${AT}.spanId`, 'must be 16 hex digits'],
    ['a base64 trace id (the protobuf JSON default, not OTLP\'s)', { traceId: 'W47/95gDgQPSabYzgT/GDA==' }, `${AT}.traceId`, 'must be 32 hex digits'],
    ['an enum name instead of its number', { kind: 'SPAN_KIND_CLIENT' }, `${AT}.kind`, 'must be an integer enum value (OTLP/JSON does not allow enum names)'],
    ['a fractional int64', { attributes: [{ key: 'n', value: { intValue: 1.5 } }] }, `${AT}.attributes[0].value.intValue`, 'must be a 64-bit integer'],
    ['an int64 out of range', { attributes: [{ key: 'n', value: { intValue: '9223372036854775808' } }] }, `${AT}.attributes[0].value.intValue`, 'must be a 64-bit integer'],
    ['a negative time', { startTimeUnixNano: '-1' }, `${AT}.startTimeUnixNano`, 'must be nanoseconds since the Unix epoch (an unsigned 64-bit integer)'],
    ['snake_case keys only (the span is then empty, and a time of text fails)', { start_time_unix_nano: '1', endTimeUnixNano: 'soon' }, `${AT}.endTimeUnixNano`, 'must be nanoseconds since the Unix epoch (an unsigned 64-bit integer) as a decimal string or number'],
  ])('refuses %s, naming the field', (_what, span, path, message) => {
    expect(issuesOf(withSpan(span))).toContainEqual({ path, message });
  });

  it('refuses a body that is not JSON, or not an object', () => {
    expect(issuesOf('{"resourceSpans": [')[0]!.message).toMatch(/^is not valid JSON: /);
    expect(issuesOf('[]')).toEqual([{ path: '', message: 'must be an object, got array' }]);
  });

  it('refuses nesting deeper than any request needs, without a stack overflow', () => {
    const deep = `{"resourceSpans":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    expect(issuesOf(deep)).toEqual([{ path: '', message: 'nests deeper than 58 levels, more than any OTLP request needs' }]);
    let value = '{"stringValue":"leaf"}';
    for (let depth = 0; depth < 40; depth += 1) value = `{"arrayValue":{"values":[${value}]}}`;
    expect(issuesOf(withSpan({ attributes: [{ key: 'deep', value: JSON.parse(value) }] }))[0]!.message).toMatch(/^nests deeper than/);
  });

  it('refuses a body of millions of values before validating it', () => {
    const started = Date.now();
    const many = `{"resourceSpans":[${Array.from({ length: 4_100_000 }, () => '0').join(',')}]}`;
    expect(issuesOf(many)).toEqual([{ path: '', message: 'holds more than 4000000 JSON values; send smaller batches' }]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('lists at most twenty problems', () => {
    const spans = Array.from({ length: 50 }, () => ({ traceId: 'bad' }));
    const text = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    expect(issuesOf(text)).toHaveLength(20);
  });
});
