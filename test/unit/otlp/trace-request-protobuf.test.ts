import { describe, expect, it } from 'vitest';
import { DECODE_LIMITS, type DecodeLimits, type OtlpTraceRequest } from '../../../services/otlp/otlp-model.ts';
import { bytesField, stringField, varintField } from '../../../services/otlp/protobuf-writer.ts';
import { decodeTraceRequestJson } from '../../../services/otlp/trace-request-json.ts';
import { decodeTraceRequestProtobuf } from '../../../services/otlp/trace-request-protobuf.ts';
import { jsonBody, protobufBody, recordSpans } from './sdk-spans.ts';

/** A decoded request, or the test fails with the decoder's issues. */
function decoded(body: Uint8Array): OtlpTraceRequest {
  const result = decodeTraceRequestProtobuf(body);
  if (!result.ok) throw new Error(`not decoded: ${JSON.stringify(result.issues)}`);
  return result.request;
}

function issuesOf(body: Uint8Array, limits?: DecodeLimits) {
  const result = decodeTraceRequestProtobuf(body, limits);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.issues;
}

const START_MS = Date.UTC(2026, 10, 23, 10, 0, 0, 123);

// Hand-built messages for the hostile cases: field key = field number * 8 + wire type.
const fixed64Field = (field: number, value: bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  // The key of a varint field of the same number, with the wire type changed to fixed64 (1).
  const key = varintField(field, 1).subarray(0, -1);
  key[0] = (key[0]! & ~7) | 1;
  return Buffer.concat([key, bytes]);
};
const request = (...spans: Buffer[]) => bytesField(1, bytesField(2, Buffer.concat(spans.map((span) => bytesField(2, span)))));
const TRACE_ID = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
const SPAN_ID = Buffer.from('b7ad6b7169203331', 'hex');
const minimalSpan = (...extra: Buffer[]) => Buffer.concat([bytesField(1, TRACE_ID), bytesField(2, SPAN_ID), stringField(5, 'chat'), fixed64Field(7, 1n), fixed64Field(8, 2n), ...extra]);
const keyValue = (key: string, anyValue: Buffer) => Buffer.concat([stringField(1, key), bytesField(2, anyValue)]);

describe('decodeTraceRequestProtobuf on what the OpenTelemetry SDK exports', () => {
  const spans = recordSpans({ 'service.name': 'checkout', 'deployment.environment.name': 'prod', 'host.cpus': 8 }, [
    {
      startMs: START_MS,
      durationMs: 1500,
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.input_tokens': 1200,
        'gen_ai.request.temperature': 0.25,
        'gen_ai.request.stream': true,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'big.count': 2 ** 60,
        'negative.count': -42,
      },
      error: true,
    },
    { name: 'GET /health', startMs: START_MS + 5 },
  ]);
  const exported = decoded(protobufBody(spans));

  it('reads resource, scope, ids, name, kind, exact nanosecond times, typed attributes and status', () => {
    expect(exported.resourceSpans).toHaveLength(1);
    const [group] = exported.resourceSpans;
    expect(group!.resource.get('service.name')).toEqual({ kind: 'string', value: 'checkout' });
    expect(group!.resource.get('host.cpus')).toEqual({ kind: 'int', value: 8n });
    expect(group!.scopeSpans[0]!.scope).toEqual({ name: 'spendline-test', version: '1.0.0' });
    const [chat, health] = group!.scopeSpans[0]!.spans;
    expect(chat).toMatchObject({
      traceId: spans[0]!.spanContext().traceId,
      spanId: spans[0]!.spanContext().spanId,
      name: 'chat gpt-4o',
      kind: 3, // SPAN_KIND_CLIENT
      startTimeUnixNano: BigInt(START_MS) * 1_000_000n,
      endTimeUnixNano: BigInt(START_MS + 1500) * 1_000_000n,
      status: { code: 2, message: 'upstream failed' },
    });
    expect(Object.fromEntries(chat!.attributes)).toEqual({
      'gen_ai.operation.name': { kind: 'string', value: 'chat' },
      'gen_ai.usage.input_tokens': { kind: 'int', value: 1200n },
      'gen_ai.request.temperature': { kind: 'double', value: 0.25 },
      'gen_ai.request.stream': { kind: 'bool', value: true },
      'gen_ai.response.finish_reasons': { kind: 'array', values: [{ kind: 'string', value: 'stop' }, { kind: 'string', value: 'length' }] },
      'big.count': { kind: 'int', value: 2n ** 60n },
      'negative.count': { kind: 'int', value: -42n },
    });
    expect(health).toMatchObject({ name: 'GET /health', status: { code: 0, message: '' } });
  });

  it('reads the parent span id (field 4), empty for a root span', () => {
    const nested = recordSpans({}, [{ name: 'outer' }, { name: 'inner', parent: 0 }]);
    const [outer, inner] = decoded(protobufBody(nested)).resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(outer!.parentSpanId).toBe('');
    expect(inner!.parentSpanId).toBe(nested[0]!.spanContext().spanId);
    expect(decodeTraceRequestJson(jsonBody(nested).toString('utf8'))).toEqual({ ok: true, request: decoded(protobufBody(nested)) });
  });

  it('decodes the SDK\'s OTLP/JSON of the same spans to the same request', () => {
    const fromJson = decodeTraceRequestJson(jsonBody(spans).toString('utf8'));
    expect(fromJson).toEqual({ ok: true, request: exported });
  });

  it('answers an empty body (an empty request) with no spans', () => {
    expect(decoded(new Uint8Array(0))).toEqual({ resourceSpans: [] });
  });

  it('skips fields it does not know, of every wire type, as proto3 requires', () => {
    const unknown = Buffer.concat([varintField(99, 7), bytesField(100, Buffer.from('future')), fixed64Field(101, 5n)]);
    const fixed32 = Buffer.from([0xb5, 0x06, 1, 2, 3, 4]); // field 102, wire type 5
    const body = request(minimalSpan(unknown, fixed32, bytesField(11, Buffer.from('an event')), bytesField(13, Buffer.from('a link'))));
    expect(decoded(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]).toMatchObject({ traceId: TRACE_ID.toString('hex'), name: 'chat' });
  });

  it('keeps the first of repeated attribute keys', () => {
    const body = request(minimalSpan(bytesField(9, keyValue('k', stringField(1, 'first'))), bytesField(9, keyValue('k', stringField(1, 'second')))));
    expect(decoded(body).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.get('k')).toEqual({ kind: 'string', value: 'first' });
  });
});

describe('decodeTraceRequestProtobuf on hostile and malformed bodies', () => {
  const valid = protobufBody(recordSpans({ 'service.name': 's' }, [{ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 5, list: [1, 2] } }]));

  it('never throws on any truncation of a real export, and refuses cuts inside a message', () => {
    let refused = 0;
    for (let cut = 0; cut < valid.length; cut += 1) {
      const result = decodeTraceRequestProtobuf(valid.subarray(0, cut));
      if (!result.ok) {
        refused += 1;
        expect(result.issues[0]!.message).toMatch(/truncated|runs past the end/);
      }
    }
    // Only cuts exactly between top-level fields leave a valid (shorter) message: here, just the empty one.
    expect(refused).toBe(valid.length - 1);
  });

  it('never throws on thousands of random corruptions of a real export', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 3000; round += 1) {
      const body = Buffer.from(valid);
      const flips = 1 + Math.floor(random() * 4);
      for (let flip = 0; flip < flips; flip += 1) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      expect(() => decodeTraceRequestProtobuf(body)).not.toThrow();
    }
  });

  it.each([
    ['a known field with the wrong wire type', request(minimalSpan(varintField(7, 5))), 'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano', 'must be fixed64, got varint'],
    ['a length far past the end', Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00]), 'resourceSpans[0]', 'embedded message of 34359738368 bytes runs past the end of its message (1 bytes left)'],
    ['a varint of eleven bytes', Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), '', 'varint longer than 64 bits'],
    ['a truncated varint', Buffer.from([0x10, 0xff]), '', 'truncated varint'],
    ['field number 0', Buffer.from([0x02, 0x00]), '', 'field number 0 is not valid'],
    ['a group (wire type 3)', Buffer.from([0x0b]), '', 'field 1 uses start-group, which OTLP never sends'],
    ['a trace id of 5 bytes', request(Buffer.concat([bytesField(1, Buffer.from([1, 2, 3, 4, 5]))])), 'resourceSpans[0].scopeSpans[0].spans[0].traceId', 'must be 16 bytes, got 5'],
    ['a span id of 16 bytes', request(Buffer.concat([bytesField(2, TRACE_ID)])), 'resourceSpans[0].scopeSpans[0].spans[0].spanId', 'must be 8 bytes, got 16'],
    ['a parent span id of 4 bytes', request(minimalSpan(bytesField(4, Buffer.from([1, 2, 3, 4])))), 'resourceSpans[0].scopeSpans[0].spans[0].parentSpanId', 'must be 8 bytes, got 4'],
    ['invalid UTF-8 in a name', request(minimalSpan(bytesField(5, Buffer.from([0xc3, 0x28])))), 'resourceSpans[0].scopeSpans[0].spans[0].name', 'string is not valid UTF-8'],
    ['an attribute whose value is not a message', request(minimalSpan(bytesField(9, Buffer.concat([stringField(1, 'k'), varintField(2, 1)])))), 'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value', 'must be length-delimited, got varint'],
    ['a truncated fixed64 time', request(Buffer.concat([Buffer.from([0x39]), Buffer.from([1, 2, 3])])), 'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano', 'fixed64 of 8 bytes runs past the end of its message (3 bytes left)'],
  ])('refuses %s, naming where', (_what, body, path, message) => {
    expect(issuesOf(body)).toEqual([{ path, message }]);
  });

  it('refuses attribute values nested deeper than the limit, without recursing through them all', () => {
    let value = stringField(1, 'leaf');
    for (let depth = 0; depth < 10_000; depth += 1) value = bytesField(5, bytesField(1, value));
    const [issue] = issuesOf(request(minimalSpan(bytesField(9, keyValue('deep', value)))));
    expect(issue!.message).toBe(`attribute values nested deeper than ${DECODE_LIMITS.maxValueDepth} levels`);
    expect(issue!.path).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes\[0\]\.value\.arrayValue\.values\[0\]/);
  });

  it('accepts values nested exactly to the limit', () => {
    let value = stringField(1, 'leaf');
    for (let depth = 1; depth < DECODE_LIMITS.maxValueDepth; depth += 1) value = bytesField(5, bytesField(1, value));
    expect(decodeTraceRequestProtobuf(request(minimalSpan(bytesField(9, keyValue('deep', value))))).ok).toBe(true);
  });

  it('refuses more spans than the limit in one request', () => {
    const empty = Buffer.from([0x12, 0x00]); // spans = 2, zero length
    const scope = Buffer.concat(Array.from({ length: DECODE_LIMITS.maxSpans + 1 }, () => empty));
    expect(issuesOf(bytesField(1, bytesField(2, scope)))).toEqual([
      { path: `resourceSpans[0].scopeSpans[0].spans[${DECODE_LIMITS.maxSpans}]`, message: `more than ${DECODE_LIMITS.maxSpans} spans in one request; send smaller batches` },
    ]);
  });

  it('refuses more resource and scope groups than the limit', () => {
    const empty = Buffer.from([0x0a, 0x00]); // resource_spans = 1, zero length
    const body = Buffer.concat(Array.from({ length: DECODE_LIMITS.maxGroups + 1 }, () => empty));
    expect(issuesOf(body)[0]!.message).toBe(`more than ${DECODE_LIMITS.maxGroups} resourceSpans and scopeSpans entries in one request; send smaller batches`);
  });

  it('refuses more attributes than the limit, even empty ones', () => {
    const empty = Buffer.from([0x0a, 0x00]); // Resource.attributes = 1, zero length
    const resource = Buffer.concat(Array.from({ length: DECODE_LIMITS.maxValues + 1 }, () => empty));
    expect(issuesOf(bytesField(1, bytesField(1, resource)))[0]!.message).toBe(`more than ${DECODE_LIMITS.maxValues} attributes and attribute values in one request; send smaller batches`);
  });

  it('spends exactly the value budget, and refuses one value more', () => {
    // Each attribute is two values (the KeyValue and its AnyValue).
    const attributes = (count: number) => request(minimalSpan(...Array.from({ length: count }, (_, index) => bytesField(9, keyValue(`k${index}`, varintField(3, index))))));
    const limits = { ...DECODE_LIMITS, maxValues: 10 };
    expect(decodeTraceRequestProtobuf(attributes(5), limits).ok).toBe(true);
    expect(issuesOf(attributes(6), limits)).toEqual([{ path: 'resourceSpans[0].scopeSpans[0].spans[0].attributes[5]', message: 'more than 10 attributes and attribute values in one request; send smaller batches' }]);
  });

  const list = (member: 5 | 6, count: number) => {
    // AnyValue.array_value = 5 { values = 1 (AnyValue) … }; AnyValue.kvlist_value = 6 { values = 1 (KeyValue) … }.
    const item = member === 5 ? bytesField(1, varintField(2, 1)) : bytesField(1, keyValue('k', varintField(2, 1)));
    return request(minimalSpan(bytesField(9, keyValue('list', bytesField(member, Buffer.concat(Array.from({ length: count }, () => item)))))));
  };

  it.each([
    ['arrayValue', 5],
    ['kvlistValue', 6],
  ] as const)(`decodes %s with ${DECODE_LIMITS.maxListValues} values, and refuses one more, naming it`, (name, member) => {
    const value = decoded(list(member, DECODE_LIMITS.maxListValues)).resourceSpans[0]!.scopeSpans[0]!.spans[0]!.attributes.get('list');
    // A kvlist keeps a key once: the entries all decode, into one key.
    expect(value?.kind === 'array' ? value.values.length : value?.kind === 'kvlist' ? value.values.size : null).toBe(member === 5 ? DECODE_LIMITS.maxListValues : 1);
    expect(issuesOf(list(member, DECODE_LIMITS.maxListValues + 1))).toEqual([
      { path: `resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.${name}.values`, message: `holds more than ${DECODE_LIMITS.maxListValues} values; an attribute value may hold at most ${DECODE_LIMITS.maxListValues}` },
    ]);
  });

  it('refuses the protobuf twin of the hostile JSON body (millions of empty values in one attribute) at the list limit', () => {
    const empties = Buffer.alloc(3_990_000 * 2);
    for (let at = 0; at < empties.length; at += 2) empties[at] = 0x0a;
    expect(issuesOf(request(minimalSpan(bytesField(9, keyValue('x', bytesField(5, empties)))))))
      .toEqual([{ path: 'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.arrayValue.values', message: `holds more than ${DECODE_LIMITS.maxListValues} values; an attribute value may hold at most ${DECODE_LIMITS.maxListValues}` }]);
  });
});
