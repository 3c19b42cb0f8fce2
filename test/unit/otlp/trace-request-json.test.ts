import { describe, expect, it } from 'vitest';
import { DECODE_LIMITS, type DecodeLimits } from '../../../services/otlp/otlp-model.ts';
import { traceRequestJsonDocs } from '../../../services/otlp/trace-request-docs.ts';
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

function issuesOf(text: string, limits?: DecodeLimits) {
  const result = decodeTraceRequestJson(text, limits);
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

  it('documents the shape the SDK sends (the OpenAPI schema is not the decoder, so it is held to real exports here)', () => {
    const spans = recordSpans({ 'service.name': 'checkout' }, [{ attributes: { 'gen_ai.usage.input_tokens': 7, 'gen_ai.response.finish_reasons': ['stop'], ratio: 0.5 }, error: true }]);
    expect(traceRequestJsonDocs.safeParse(JSON.parse(jsonBody(spans).toString('utf8'))).success).toBe(true);
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
    const span = decodedSpan(withSpan({ status: null, attributes: null, name: null, parentSpanId: null, somethingNew: { x: 1 }, flags: 257 }));
    expect(span).toMatchObject({ name: '', parentSpanId: '', status: { code: 0, message: '' }, attributes: new Map() });
  });

  it('reads the parent span id, lower-cased', () => {
    expect(decodedSpan(withSpan({ parentSpanId: '00F067AA0BA902B7' })).parentSpanId).toBe('00f067aa0ba902b7');
    expect(decodedSpan(withSpan({ parentSpanId: '' })).parentSpanId).toBe('');
  });

  it.each([
    ['a trace id of the wrong length', { traceId: 'abc' }, `${AT}.traceId`, 'must be 32 hex digits'],
    ['a span id that is not hex', { spanId: 'zzzzzzzzzzzzzzzz' }, `${AT}.spanId`, 'must be 16 hex digits'],
    ['a parent span id of the wrong length', { parentSpanId: 'abc' }, `${AT}.parentSpanId`, 'must be 16 hex digits'],
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

  it('refuses nesting deeper than any request needs, before parsing, without a stack overflow', () => {
    const deep = `{"resourceSpans":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
    expect(issuesOf(deep)).toEqual([{ path: '', message: 'nests deeper than 76 levels, more than any OTLP request needs' }]);
    let value = '{"stringValue":"leaf"}';
    for (let depth = 0; depth < 40; depth += 1) value = `{"arrayValue":{"values":[${value}]}}`;
    expect(issuesOf(withSpan({ attributes: [{ key: 'deep', value: JSON.parse(value) }] }))[0]!.message).toMatch(/^nests deeper than/);
  });

  it('takes kvlist values nested to the value depth limit (four JSON levels each), and refuses one more', () => {
    const nested = (levels: number) => {
      let value: unknown = { stringValue: 'leaf' };
      for (let depth = 1; depth < levels; depth += 1) value = { kvlistValue: { values: [{ key: 'k', value }] } };
      return withSpan({ attributes: [{ key: 'deep', value }] });
    };
    expect(decodeTraceRequestJson(nested(DECODE_LIMITS.maxValueDepth)).ok).toBe(true);
    expect(issuesOf(nested(DECODE_LIMITS.maxValueDepth + 1))[0]!.message).toBe(`attribute values nested deeper than ${DECODE_LIMITS.maxValueDepth} levels`);
  });

  it('refuses a body of millions of values before parsing it', () => {
    const many = `{"resourceSpans":[${Array.from({ length: 4_100_000 }, () => '0').join(',')}]}`;
    expect(issuesOf(many)).toEqual([{ path: '', message: 'holds more than 4000000 JSON values; send smaller batches' }]);
  });

  it('counts only structure outside strings: braces, brackets and commas inside text cost nothing', () => {
    const text = `a{[,"\\`.repeat(200_000);
    const span = decodedSpan(withSpan({ attributes: [{ key: 'prompt', value: { stringValue: text } }] }));
    expect(span.attributes.get('prompt')).toEqual({ kind: 'string', value: text });
  });

  it('lists at most twenty problems', () => {
    const spans = Array.from({ length: 50 }, () => ({ traceId: 'bad' }));
    const text = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] });
    expect(issuesOf(text)).toHaveLength(20);
  });
});

describe('decodeTraceRequestJson within its limits (decoding stays as fast as the protobuf path)', () => {
  const attribute = (value: unknown) => withSpan({ attributes: [{ key: 'list', value }] });
  const ints = (count: number) => Array.from({ length: count }, (_, index) => ({ intValue: String(index) }));
  const entries = (count: number) => Array.from({ length: count }, (_, index) => ({ key: `k${index}`, value: { boolValue: true } }));
  const small: DecodeLimits = { ...DECODE_LIMITS, maxValues: 40, maxListValues: 4 };

  it(`decodes an arrayValue of ${DECODE_LIMITS.maxListValues} values, and refuses one more, naming the array`, () => {
    const decoded = decodedSpan(attribute({ arrayValue: { values: ints(DECODE_LIMITS.maxListValues) } })).attributes.get('list');
    expect(decoded).toMatchObject({ kind: 'array' });
    expect(decoded?.kind === 'array' && decoded.values.at(-1)).toEqual({ kind: 'int', value: BigInt(DECODE_LIMITS.maxListValues - 1) });
    expect(issuesOf(attribute({ arrayValue: { values: ints(DECODE_LIMITS.maxListValues + 1) } }))).toEqual([
      { path: `${AT}.attributes[0].value.arrayValue.values`, message: `holds more than ${DECODE_LIMITS.maxListValues} values; an attribute value may hold at most ${DECODE_LIMITS.maxListValues}` },
    ]);
  });

  it(`decodes a kvlistValue of ${DECODE_LIMITS.maxListValues} entries, and refuses one more`, () => {
    const decoded = decodedSpan(attribute({ kvlistValue: { values: entries(DECODE_LIMITS.maxListValues) } })).attributes.get('list');
    expect(decoded?.kind === 'kvlist' && decoded.values.size).toBe(DECODE_LIMITS.maxListValues);
    expect(issuesOf(attribute({ kvlistValue: { values: entries(DECODE_LIMITS.maxListValues + 1) } }))).toEqual([
      { path: `${AT}.attributes[0].value.kvlistValue.values`, message: `holds more than ${DECODE_LIMITS.maxListValues} values; an attribute value may hold at most ${DECODE_LIMITS.maxListValues}` },
    ]);
  });

  it('refuses the 12 MB body of one attribute holding 3.99 million empty values before parsing it', () => {
    const hostile = attribute({ arrayValue: { values: [] } }).replace('"values":[]', `"values":[${'{},'.repeat(3_989_999)}{}]`);
    expect(hostile.length).toBeGreaterThan(11_900_000);
    expect(issuesOf(hostile)).toEqual([{ path: '', message: `holds more than ${DECODE_LIMITS.maxValues} JSON objects and arrays; send smaller batches` }]);
  });

  it('refuses more objects and arrays than the limit before parsing, and takes exactly the limit', () => {
    // Every attribute and every value is a JSON object: this bound, checked before parsing, is the JSON path's value budget.
    const empties = (count: number) => attribute({ arrayValue: { values: [] } }).replace('"values":[]', `"values":[${Array(count).fill('{}').join(',')}]`);
    const structure = empties(0).match(/[{[]/g)!.length;
    const limits = { ...small, maxListValues: 100 };
    expect(decodeTraceRequestJson(empties(limits.maxValues - structure), limits).ok).toBe(true);
    expect(issuesOf(empties(limits.maxValues - structure + 1), limits)).toEqual([{ path: '', message: `holds more than ${limits.maxValues} JSON objects and arrays; send smaller batches` }]);
  });

  it('stops at the list limit, the depth limit and the span limit with one issue, whatever else is wrong', () => {
    expect(issuesOf(attribute({ arrayValue: { values: [...ints(4), { intValue: 'x' }] } }), small)).toEqual([
      { path: `${AT}.attributes[0].value.arrayValue.values`, message: 'holds more than 4 values; an attribute value may hold at most 4' },
    ]);
    const spans = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{}, {}, { traceId: 'bad' }] }] }] });
    expect(issuesOf(spans, { ...DECODE_LIMITS, maxSpans: 2 })).toEqual([{ path: 'resourceSpans[0].scopeSpans[0].spans[2]', message: 'more than 2 spans in one request; send smaller batches' }]);
  });
});
