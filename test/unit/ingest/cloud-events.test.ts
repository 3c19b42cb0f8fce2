import { createHash } from 'node:crypto';
import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { cloudEventEventId, CLOUDEVENTS_MEDIA_TYPES, parseCloudEvents, USAGE_EVENT_TYPE, type CloudEventsRequest } from '../../../services/ingest/cloud-events.ts';
import { parseIngestBatch, type BatchLimits, type ParsedBatch } from '../../../services/ingest/ingest-batch.ts';

/**
 * CloudEvents 1.0 carrying usage events, built with the official CloudEvents
 * JS SDK where it can build them (it refuses some broken envelopes itself, so
 * those are written by hand), judged by the one ingest validation.
 */

const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);
const LIMITS: BatchLimits = { maxEvents: 5, maxFutureSkewMs: 15 * 60_000 };
const SOURCE = '/gateways/eu-1';

const usage = (overrides: Record<string, unknown> = {}) => ({ provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1_000, output_tokens: 100, team: 'search', ...overrides });

/** A usage CloudEvent as the SDK builds it. */
const sdkEvent = (overrides: Record<string, unknown> = {}, data: Record<string, unknown> = usage()) =>
  new CloudEvent({ specversion: '1.0', type: USAGE_EVENT_TYPE, source: SOURCE, id: 'call-1', time: '2026-11-23T09:59:00Z', subject: 'acme', data, ...overrides });

/** The JSON body of the SDK's structured-mode message, as fastify's JSON parser hands it to the route. */
const structured = (event: CloudEvent<unknown>) => JSON.parse(HTTP.structured(event).body as string) as Record<string, unknown>;

/** A hand-written structured event (for envelopes the SDK refuses to build). */
const raw = (overrides: Record<string, unknown> = {}) => ({ ...structured(sdkEvent()), ...overrides });

const judge = (request: CloudEventsRequest, limits: BatchLimits = LIMITS) => parseCloudEvents(request, limits, NOW, AttributionPolicy.builtIn);
const one = (body: unknown) => judge({ mode: 'structured', body });
const batch = (body: unknown, limits?: BatchLimits) => judge({ mode: 'batch', body }, limits);

function accepted(parsed: ParsedBatch) {
  if (!parsed.ok) throw new Error(`expected a judged batch, got ${parsed.code}: ${parsed.message}`);
  return parsed.accepted;
}
function errorsOf(parsed: ParsedBatch, index = 0) {
  if (!parsed.ok) throw new Error(`expected a judged batch, got ${parsed.code}: ${parsed.message}`);
  const result = parsed.results[index]!;
  return result.status === 'rejected' ? result.errors : [];
}

describe('CloudEvents from the official SDK', () => {
  it('maps a structured event: id and source → event_id, time → occurred_at, subject → tenant_id', () => {
    const parsed = one(structured(sdkEvent()));
    expect(parsed).toMatchObject({ ok: true, results: [{ index: 0, status: 'accepted', event_id: cloudEventEventId(SOURCE, 'call-1') }] });
    expect(accepted(parsed)).toEqual([
      expect.objectContaining({
        event_id: cloudEventEventId(SOURCE, 'call-1'),
        occurred_at: Date.UTC(2026, 10, 23, 9, 59),
        tenant_id: 'acme',
        provider: 'openai',
        model: 'gpt-4o-mini',
        input_tokens: 1_000,
        output_tokens: 100,
        team: 'search',
      }),
    ]);
  });

  it('takes a batch of structured events, which the SDK itself reads back as a CloudEvents batch', () => {
    const events = [sdkEvent({ id: 'a' }), sdkEvent({ id: 'b', subject: 'globex' }), sdkEvent({ id: 'c', source: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' })];
    const body = `[${events.map((event) => HTTP.structured(event).body).join(',')}]`;
    // The SDK has no batch serializer, but it parses batches: the body is a batch by its reading too.
    expect((HTTP.toEvent({ headers: { 'content-type': CLOUDEVENTS_MEDIA_TYPES.batch }, body }) as CloudEvent[]).map((event) => event.id)).toEqual(['a', 'b', 'c']);

    const records = accepted(batch(JSON.parse(body)));
    expect(records.map((record) => [record.event_id, record.tenant_id])).toEqual([
      [cloudEventEventId(SOURCE, 'a'), 'acme'],
      [cloudEventEventId(SOURCE, 'b'), 'globex'],
      [cloudEventEventId('urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', 'c'), 'acme'],
    ]);
  });

  it('takes binary mode: attributes in ce-* headers, the usage event as the body', () => {
    const message = HTTP.binary(sdkEvent({ id: 'bin-1', comexampletrace: 'abc' }));
    const headers = Object.fromEntries(Object.entries(message.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
    expect(headers).toMatchObject({ 'ce-id': 'bin-1', 'ce-specversion': '1.0', 'ce-comexampletrace': 'abc', 'content-type': 'application/json; charset=utf-8' });
    const records = accepted(judge({ mode: 'binary', headers, body: JSON.parse(message.body as string) }));
    expect(records).toEqual([expect.objectContaining({ event_id: cloudEventEventId(SOURCE, 'bin-1'), tenant_id: 'acme', occurred_at: Date.UTC(2026, 10, 23, 9, 59) })]);
  });

  it('ignores valid extension attributes and treats null attributes as absent', () => {
    const body = { ...structured(sdkEvent({ comexampleflag: true, comexamplecount: -5, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })), subject: null, dataschema: null, unsetextension: null };
    expect(accepted(one(body))).toEqual([expect.objectContaining({ tenant_id: null })]);
  });
});

describe('mapping', () => {
  it('derives event_id from source and id as documented: "ce-" + 32 hex digits of sha256(source + "\\n" + id)', () => {
    const expected = `ce-${createHash('sha256').update('/gateways/eu-1\ncall-1').digest('hex').slice(0, 32)}`;
    expect(cloudEventEventId('/gateways/eu-1', 'call-1')).toBe(expected);
    // The same id from another source is another event; from the same source, the same one.
    expect(cloudEventEventId('/gateways/eu-2', 'call-1')).not.toBe(expected);
    expect(cloudEventEventId('/gateways/eu-1', 'call-1')).toBe(expected);
  });

  it('lets data win over the envelope: event_id, occurred_at and tenant_id from data are kept', () => {
    const records = accepted(one(structured(sdkEvent({}, usage({ event_id: 'gw-42', occurred_at: '2026-11-23T08:00:00Z', tenant_id: 'initech' })))));
    expect(records[0]).toMatchObject({ event_id: 'gw-42', occurred_at: Date.UTC(2026, 10, 23, 8), tenant_id: 'initech' });
  });

  it('fills a blank tenant_id from subject, as the JSON form treats blank as absent', () => {
    expect(accepted(one(structured(sdkEvent({}, usage({ tenant_id: '  ' })))))[0]).toMatchObject({ tenant_id: 'acme' });
  });

  it('gives the same record as the plain JSON form when data carries the event_id, so the two count once', () => {
    const plain = { event_id: 'same-call', occurred_at: '2026-11-23T09:59:00Z', tenant_id: 'acme', ...usage() };
    const viaPlain = accepted(parseIngestBatch([plain], LIMITS, NOW, AttributionPolicy.builtIn));
    const viaCloudEvent = accepted(one(structured(sdkEvent({ subject: undefined }, plain))));
    expect(viaCloudEvent).toEqual(viaPlain);
  });

  it('identifies a traced call by its span, whatever the CloudEvent id', () => {
    const traced = usage({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' });
    expect(accepted(one(structured(sdkEvent({}, traced))))[0]!.event_id).toBe('span-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331');
  });

  it('names the envelope attribute a bad filled value came from, and data.<field> for the rest', () => {
    const parsed = one(raw({ time: '2026-11-23T11:00:00Z', subject: 'x'.repeat(300), data: usage({ input_tokens: -1 }) }));
    expect(errorsOf(parsed)).toEqual([
      { path: 'data.input_tokens', message: 'must not be negative' },
      { path: 'subject', message: 'must be at most 256 characters' },
    ]);
    // Valid otherwise, the future time is the clock check's finding, at time.
    expect(errorsOf(one(raw({ time: '2026-11-23T11:00:00Z' })))).toEqual([{ path: 'time', message: 'is more than 15 minutes after the event was received' }]);
  });

  it('asks for occurred_at or time when neither is there', () => {
    const { time: _time, ...withoutTime } = raw();
    expect(errorsOf(one(withoutTime))).toEqual([{ path: 'data.occurred_at', message: "is required: in data, or as the CloudEvent's time" }]);
  });

  it.each([
    ['missing', undefined, [{ path: 'data', message: 'is required' }]],
    ['null', null, [{ path: 'data', message: 'must be an object, got null' }]],
    ['a string holding JSON', JSON.stringify(usage()), [{ path: 'data', message: 'must be an object, got string' }]],
    ['an array', [usage()], [{ path: 'data', message: 'must be an object, got array' }]],
  ])('rejects data that is %s', (_what, data, errors) => {
    expect(errorsOf(one(raw({ data })))).toEqual(errors);
  });
});

describe('envelope validation', () => {
  it.each([
    ['specversion missing', { specversion: undefined }, 'specversion', 'is required'],
    ['specversion 0.3', { specversion: '0.3' }, 'specversion', 'must be "1.0"'],
    ['specversion a number', { specversion: 1.0 }, 'specversion', 'must be "1.0"'],
    ['id missing', { id: undefined }, 'id', 'is required'],
    ['id empty', { id: '' }, 'id', 'must not be empty'],
    ['id a number', { id: 42 }, 'id', 'must be a string, got number'],
    ['id with a control character', { id: 'a\u0000b' }, 'id', 'must not contain control characters'],
    ['id with an unpaired surrogate', { id: 'a\ud800b' }, 'id', 'must not contain unpaired surrogates'],
    ['id with a noncharacter', { id: 'a\ufffeb' }, 'id', 'must not contain Unicode noncharacters'],
    ['source missing', { source: undefined }, 'source', 'is required'],
    ['source empty', { source: '' }, 'source', 'must not be empty'],
    ['source with a space', { source: '/my gateway' }, 'source', 'must be a URI reference (RFC 3986): percent-encode spaces and characters outside it'],
    ['source with a bad scheme', { source: '1http://x' }, 'source', 'must be a URI reference (RFC 3986): "1http" is not a scheme'],
    ['source with two fragments', { source: '/a#b#c' }, 'source', 'must be a URI reference (RFC 3986): at most one #'],
    ['source starting with a colon', { source: ':b' }, 'source', 'must be a URI reference (RFC 3986): a leading ":" needs a scheme before it'],
    ['type missing', { type: undefined }, 'type', 'is required'],
    ['type empty', { type: '' }, 'type', 'must not be empty'],
    ['type of another event', { type: 'request' }, 'type', `must be "${USAGE_EVENT_TYPE}": only usage events are taken here (got "request")`],
    ['subject empty', { subject: '' }, 'subject', 'must not be empty'],
    ['time not RFC 3339', { time: '2026-11-23 10:00:00' }, 'time', 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z'],
    ['time without a zone', { time: '2026-11-23T10:00:00' }, 'time', 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z'],
    ['datacontenttype XML', { datacontenttype: 'application/xml' }, 'datacontenttype', 'must declare JSON (application/json or a +json type): the usage event is JSON, not application/xml'],
    ['datacontenttype not a media type', { datacontenttype: 'json' }, 'datacontenttype', 'must be a media type such as application/json'],
    ['dataschema relative', { dataschema: '/schemas/usage' }, 'dataschema', 'must be an absolute URI, with a scheme (https://…, urn:…)'],
    ['dataschema empty', { dataschema: '' }, 'dataschema', 'must not be empty'],
    ['data_base64', { data: undefined, data_base64: 'eyJhIjoxfQ==' }, 'data_base64', 'is not accepted: the usage event must be JSON in data (datacontenttype application/json), not base64'],
    ['an extension with an invalid name', { Comexample_Ext: 'x' }, 'Comexample_Ext', 'is not a CloudEvents attribute name (lower-case letters a-z and digits only)'],
    ['a usage field on the envelope', { input_tokens: 5 }, 'input_tokens', 'is a usage event field: put it inside data'],
    ['an extension that is an object', { comexample: { nested: [1, { deeper: true }] } }, 'comexample', 'must be a string, an integer or a boolean (an extension attribute)'],
    ['an extension that is a fraction', { comexample: 1.5 }, 'comexample', 'must be a whole number from -2147483648 to 2147483647 (a CloudEvents Integer)'],
    ['an extension beyond 32 bits', { comexample: 2 ** 31 }, 'comexample', 'must be a whole number from -2147483648 to 2147483647 (a CloudEvents Integer)'],
    ['an extension with a newline', { comexample: 'a\nb' }, 'comexample', 'must not contain control characters'],
  ])('rejects %s, naming the attribute', (_what, overrides, path, message) => {
    const parsed = one(raw(overrides));
    expect(parsed).toMatchObject({ ok: true, accepted: [], results: [{ index: 0, status: 'rejected' }] });
    expect(errorsOf(parsed)).toEqual([{ path, message }]);
  });

  it.each([
    ['application/json; charset=utf-8'],
    ['application/vnd.spendline.usage+json'],
    ['text/json'],
  ])('accepts datacontenttype %s', (datacontenttype) => {
    expect(accepted(one(raw({ datacontenttype })))).toHaveLength(1);
  });

  it.each([['/gateways/eu-1'], ['https://gateway.example.com/eu-1'], ['urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'], ['1-555-123-4567'], ['mailto:finops@example.com'], ['/a%20b?x=1#frag']])(
    'accepts the URI reference %s as source',
    (source) => {
      expect(accepted(one(raw({ source })))).toHaveLength(1);
    },
  );

  it('reports every envelope problem at once', () => {
    expect(errorsOf(one(raw({ specversion: '0.3', id: '', type: 'request', bad_name: 1 })))).toEqual([
      { path: 'specversion', message: 'must be "1.0"' },
      { path: 'id', message: 'must not be empty' },
      { path: 'type', message: `must be "${USAGE_EVENT_TYPE}": only usage events are taken here (got "request")` },
      { path: 'bad_name', message: 'is not a CloudEvents attribute name (lower-case letters a-z and digits only)' },
    ]);
  });

  it('judges each event of a batch on its own, naming index and attribute', () => {
    const events = [raw({ id: 'a' }), raw({ id: 'b' }), raw({ id: 'c', specversion: '0.3' }), raw({ id: 'd', data: usage({ output_tokens: 'lots' }) })];
    const parsed = batch(events);
    expect(parsed).toMatchObject({
      ok: true,
      results: [
        { index: 0, status: 'accepted', event_id: cloudEventEventId(SOURCE, 'a') },
        { index: 1, status: 'accepted', event_id: cloudEventEventId(SOURCE, 'b') },
        { index: 2, status: 'rejected', event_id: cloudEventEventId(SOURCE, 'c'), errors: [{ path: 'specversion', message: 'must be "1.0"' }] },
        { index: 3, status: 'rejected', event_id: cloudEventEventId(SOURCE, 'd'), errors: [{ path: 'data.output_tokens', message: 'must be a number, got string' }] },
      ],
    });
    expect(accepted(parsed)).toHaveLength(2);
  });
});

describe('hostile and malformed bodies', () => {
  it.each([
    ['an object', raw(), `the body of ${CLOUDEVENTS_MEDIA_TYPES.batch} must be a JSON array of CloudEvents; send a single event as ${CLOUDEVENTS_MEDIA_TYPES.structured}`],
    ['a string', 'events', `the body of ${CLOUDEVENTS_MEDIA_TYPES.batch} must be a JSON array of CloudEvents`],
    ['null', null, `the body of ${CLOUDEVENTS_MEDIA_TYPES.batch} must be a JSON array of CloudEvents`],
    ['{"events": [...]}', { events: [raw()] }, `the body of ${CLOUDEVENTS_MEDIA_TYPES.batch} must be a JSON array of CloudEvents; send a single event as ${CLOUDEVENTS_MEDIA_TYPES.structured}`],
  ])('answers 400 for a batch body that is %s', (_what, body, message) => {
    expect(batch(body)).toEqual({ ok: false, status: 400, code: 'invalid_request', message });
  });

  it.each([
    ['an array', [raw()], `the body of ${CLOUDEVENTS_MEDIA_TYPES.structured} must be one CloudEvent (a JSON object); send an array as ${CLOUDEVENTS_MEDIA_TYPES.batch}`],
    ['a number', 7, `the body of ${CLOUDEVENTS_MEDIA_TYPES.structured} must be one CloudEvent (a JSON object)`],
  ])('answers 400 for a structured body that is %s', (_what, body, message) => {
    expect(one(body)).toEqual({ ok: false, status: 400, code: 'invalid_request', message });
  });

  it('rejects junk inside a batch, each element on its own', () => {
    const parsed = batch([raw({ id: 'ok' }), 'junk', [[[raw()]]], null, 42]);
    expect(parsed).toMatchObject({ ok: true, accepted: [expect.objectContaining({ event_id: cloudEventEventId(SOURCE, 'ok') })] });
    for (const index of [1, 2, 3, 4]) expect(errorsOf(parsed, index)).toEqual([{ path: '', message: 'must be a CloudEvent (a JSON object)' }]);
  });

  it('answers 413 for more events than a request may carry, before judging any', () => {
    const six = Array.from({ length: 6 }, (_, i) => raw({ id: `e${i}` }));
    expect(batch(six)).toEqual({ ok: false, status: 413, code: 'batch_too_large', message: 'the batch holds 6 events; at most 5 per request' });
    expect(accepted(batch(six.slice(0, 5)))).toHaveLength(5);
  });

  it('accepts an empty batch, which CloudEvents allows, as nothing', () => {
    expect(batch([])).toEqual({ ok: true, accepted: [], results: [] });
  });

  it('refuses "__proto__" members by name, in the envelope and in data, and pollutes nothing', () => {
    const envelope = JSON.parse(`{"specversion":"1.0","type":"${USAGE_EVENT_TYPE}","source":"/x","id":"p1","time":"2026-11-23T09:59:00Z","__proto__":{"polluted":true},"data":${JSON.stringify(usage())}}`);
    expect(errorsOf(one(envelope))).toEqual([{ path: '__proto__', message: 'is not a CloudEvents attribute name (lower-case letters a-z and digits only)' }]);
    const inData = JSON.parse(`{"specversion":"1.0","type":"${USAGE_EVENT_TYPE}","source":"/x","id":"p2","time":"2026-11-23T09:59:00Z","data":{"provider":"openai","model":"m","__proto__":{"polluted":true}}}`);
    expect(errorsOf(one(inData))).toEqual([{ path: 'data', message: 'unknown field: __proto__' }]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('binary mode', () => {
  const binary = (headers: Record<string, string>, body: unknown = usage()) =>
    judge({ mode: 'binary', headers: { 'ce-specversion': '1.0', 'ce-type': USAGE_EVENT_TYPE, 'ce-source': SOURCE, 'ce-id': 'b1', 'ce-time': '2026-11-23T09:59:00Z', 'content-type': 'application/json', ...headers }, body });

  it('percent-decodes header values and accepts the old quoted form', () => {
    expect(accepted(binary({ 'ce-subject': 'Euro%20%E2%82%AC%20%F0%9F%98%80' }))[0]).toMatchObject({ tenant_id: 'Euro € 😀' });
    expect(accepted(binary({ 'ce-subject': '"ac\\"me co"' }))[0]).toMatchObject({ tenant_id: 'ac"me co' });
  });

  it('names headers, not attributes, and data fields without a prefix', () => {
    expect(errorsOf(binary({ 'ce-specversion': '0.3' }))).toEqual([{ path: 'ce-specversion', message: 'must be "1.0"' }]);
    expect(errorsOf(binary({ 'ce-subject': '%C0%A0' }))).toEqual([{ path: 'ce-subject', message: 'must be percent-encoded UTF-8 (HTTP binding 3.1.3.2)' }]);
    expect(errorsOf(binary({ 'ce-datacontenttype': 'application/json' }))).toEqual([{ path: 'ce-datacontenttype', message: 'must not be sent in binary mode: Content-Type is the media type of the data' }]);
    expect(errorsOf(binary({ 'content-type': 'application/xml' }))).toEqual([{ path: 'content-type', message: 'must declare JSON (application/json or a +json type): the usage event is JSON, not application/xml' }]);
    expect(errorsOf(binary({}, usage({ input_tokens: -1 })))).toEqual([{ path: 'input_tokens', message: 'must not be negative' }]);
    expect(errorsOf(binary({ 'ce-time': '2026-11-23T11:00:00Z' }))).toEqual([{ path: 'ce-time', message: 'is more than 15 minutes after the event was received' }]);
    const { 'ce-time': _time, ...withoutTime } = { 'ce-specversion': '1.0', 'ce-type': USAGE_EVENT_TYPE, 'ce-source': SOURCE, 'ce-id': 'b1', 'ce-time': '', 'content-type': 'application/json' };
    expect(errorsOf(judge({ mode: 'binary', headers: withoutTime, body: usage() }))).toEqual([{ path: 'occurred_at', message: "is required: in data, or as the CloudEvent's ce-time" }]);
  });

  it('asks for the missing required header', () => {
    const { 'ce-specversion': _specversion, ...rest } = { 'ce-specversion': '1.0', 'ce-type': USAGE_EVENT_TYPE, 'ce-source': SOURCE, 'ce-id': 'b1', 'content-type': 'application/json' };
    expect(errorsOf(judge({ mode: 'binary', headers: rest, body: usage({ occurred_at: '2026-11-23T09:59:00Z' }) }))).toEqual([{ path: 'ce-specversion', message: 'is required' }]);
  });
});
