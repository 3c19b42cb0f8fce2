import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { validate, type FieldIssue } from '@spendline/emitter/field-issues';
import { usageEventJsonFields, type UsageEventRecord } from '@spendline/emitter/usage-event';
import { z } from 'zod';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import { batchSizeProblem, judgeEvents, type BatchLimits, type EventResult, type ParsedBatch } from './ingest-batch.ts';

/**
 * Usage events wrapped as CloudEvents 1.0 (spec, JSON event format and HTTP
 * binding, v1.0.2), so producers built for OpenMeter-style metering can post to
 * POST /v1/events. Each CloudEvent's `data` is a usage event in its JSON form;
 * the envelope fills what data leaves out, and then the event goes through the
 * one validation every ingest path shares (judgeEvents):
 *
 * - `type` must be USAGE_EVENT_TYPE: anything else is not a usage event, and
 *   saying so beats a list of missing token fields.
 * - `data.event_id` absent: derived from `source` and `id` together
 *   (cloudEventEventId). The spec makes only source + id unique, and OpenMeter
 *   deduplicates on both; two producers counting ids from 1 must not swallow
 *   each other's calls.
 * - `data.occurred_at` absent: `time`.
 * - `data.tenant_id` absent: `subject` (OpenMeter's customer the usage is
 *   attributed to, which is what tenant_id means). data wins when it has one.
 *
 * Extension attributes are checked against the spec's naming and type rules
 * and then ignored. Errors name the attribute (`specversion`, `ce-id` in binary
 * mode) or the field inside data (`data.input_tokens`), never a field the
 * sender did not write.
 */

export const CLOUDEVENTS_MEDIA_TYPES = {
  structured: 'application/cloudevents+json',
  batch: 'application/cloudevents-batch+json',
} as const;

/** The CloudEvent type of a Spendline usage event; the version follows the schema (usage-event-v1.avsc). */
export const USAGE_EVENT_TYPE = 'dev.spendline.usage.v1';

/** How the events arrived: the body is one event, an array of them, or (binary mode) the data alone with the attributes in ce-* headers. */
export type CloudEventsRequest =
  | { readonly mode: 'structured' | 'batch'; readonly body: unknown }
  | { readonly mode: 'binary'; readonly headers: IncomingHttpHeaders; readonly body: unknown };

/** Headers whose presence marks an application/json request as a binary-mode CloudEvent (the spec's required attributes). */
const BINARY_MODE_HEADERS = ['ce-specversion', 'ce-id', 'ce-source', 'ce-type'] as const;

export function isBinaryCloudEvent(headers: IncomingHttpHeaders): boolean {
  return BINARY_MODE_HEADERS.some((name) => headers[name] !== undefined);
}

/**
 * The ingest verdict on a CloudEvents request, in the shape parseIngestBatch
 * gives for the plain JSON form: the same limits, per-event results and codes.
 * An empty batch is valid CloudEvents (JSON format §4) and accepts nothing.
 */
export function parseCloudEvents(request: CloudEventsRequest, limits: BatchLimits, now: number, policy: AttributionPolicy): ParsedBatch {
  if (request.mode === 'binary') {
    const fromHeaders = cloudEventFromHeaders(request.headers, request.body);
    if (!fromHeaders.ok) return { ok: true, accepted: [], results: [{ index: 0, event_id: null, status: 'rejected', errors: fromHeaders.issues }] };
    return { ok: true, ...judgeCloudEvents([{ event: fromHeaders.event, at: BINARY }], limits, now, policy) };
  }
  const { body } = request;
  if (request.mode === 'structured') {
    if (!isObject(body)) {
      return invalidRequest(`the body of ${CLOUDEVENTS_MEDIA_TYPES.structured} must be one CloudEvent (a JSON object)${Array.isArray(body) ? `; send an array as ${CLOUDEVENTS_MEDIA_TYPES.batch}` : ''}`);
    }
    return { ok: true, ...judgeCloudEvents([{ event: body, at: STRUCTURED }], limits, now, policy) };
  }
  if (!Array.isArray(body)) {
    return invalidRequest(`the body of ${CLOUDEVENTS_MEDIA_TYPES.batch} must be a JSON array of CloudEvents${isObject(body) ? `; send a single event as ${CLOUDEVENTS_MEDIA_TYPES.structured}` : ''}`);
  }
  return batchSizeProblem(body.length, limits) ?? { ok: true, ...judgeCloudEvents(body.map((event) => ({ event, at: STRUCTURED })), limits, now, policy) };
}

/** Where a problem is reported: the attribute's name as the sender wrote it, and the path of a field inside data. */
interface Placement {
  attribute(name: string): string;
  data(path: string): string;
}
const STRUCTURED: Placement = { attribute: (name) => name, data: (path) => (path === '' ? 'data' : `data.${path}`) };
const BINARY: Placement = { attribute: (name) => (name === 'datacontenttype' ? 'content-type' : `ce-${name}`), data: (path) => path };

/**
 * Maps each CloudEvent to the JSON form of a usage event and judges them all
 * with judgeEvents; results keep request order. A broken envelope rejects its
 * event alone, naming the attribute.
 */
function judgeCloudEvents(events: readonly { event: unknown; at: Placement }[], limits: Pick<BatchLimits, 'maxFutureSkewMs'>, now: number, policy: AttributionPolicy): { accepted: UsageEventRecord[]; results: EventResult[] } {
  const mapped = events.map(({ event, at }) => usageEventFromCloudEvent(event, at));
  const judged = judgeEvents(mapped.flatMap((one) => (one.ok ? [one.event] : [])), limits, now, policy);
  let next = 0;
  const results = mapped.map((one, index): EventResult => {
    if (!one.ok) return { index, event_id: one.eventId, status: 'rejected', errors: one.issues };
    const result = judged.results[next++]!;
    if (result.status === 'accepted') return { ...result, index };
    return { ...result, index, errors: result.errors.map((issue) => relocate(issue, one)) };
  });
  return { accepted: judged.accepted, results };
}

/** A CloudEvents String: no control characters, no noncharacters, no unpaired surrogates (spec, Type System). */
function stringProblem(text: string): string | null {
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text)) return 'must not contain unpaired surrogates';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return 'must not contain control characters';
    if ((code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe) return 'must not contain Unicode noncharacters';
  }
  return null;
}

const ceString = z.string().superRefine((text, ctx) => {
  const problem = stringProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const nonEmptyString = z.string().min(1, 'must not be empty').pipe(ceString);

/** RFC 3986 characters (unreserved, reserved, percent-encoded); a scheme, when there is one, is a letter then letters, digits, + - . */
const URI_CHARACTERS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$/;
function uriProblem(text: string, absolute: boolean): string | null {
  if (!URI_CHARACTERS.test(text)) return 'must be a URI reference (RFC 3986): percent-encode spaces and characters outside it';
  if (text.indexOf('#') !== text.lastIndexOf('#')) return 'must be a URI reference (RFC 3986): at most one #';
  const head = text.split(/[/?#]/, 1)[0]!;
  const colon = head.indexOf(':');
  const scheme = head.slice(0, Math.max(colon, 0));
  if (colon === 0) return 'must be a URI reference (RFC 3986): a leading ":" needs a scheme before it';
  if (colon > 0 && !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(scheme)) return `must be a URI reference (RFC 3986): "${scheme}" is not a scheme`;
  if (absolute && colon < 0) return 'must be an absolute URI, with a scheme (https://…, urn:…)';
  return null;
}
const uri = (absolute: boolean) =>
  z
    .string()
    .min(1, 'must not be empty')
    .pipe(
      z.string().superRefine((text, ctx) => {
        const problem = uriProblem(text, absolute);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    );

/** RFC 2046 type/subtype with optional parameters; JSON when the subtype is json or ends in +json (JSON format §3.1.1). */
const jsonMediaType = z.string().superRefine((text, ctx) => {
  const match = /^\s*([A-Za-z0-9!#$&^_.+-]+)\/([A-Za-z0-9!#$&^_.+-]+)\s*(?:;.*)?$/s.exec(text);
  if (!match) ctx.addIssue({ code: 'custom', message: 'must be a media type such as application/json' });
  else if (!/(?:^|\+)json$/i.test(match[2]!)) ctx.addIssue({ code: 'custom', message: `must declare JSON (application/json or a +json type): the usage event is JSON, not ${match[1]}/${match[2]}` });
});

/**
 * The context attributes of a CloudEvent carrying a usage event: the spec's
 * REQUIRED and OPTIONAL attributes with their types and constraints, plus the
 * Spendline rules (specversion 1.0, the usage event type, JSON data only).
 * Null attributes count as absent (JSON format §2.2); extension attributes are
 * checked by extensionIssues.
 */
export const cloudEventAttributes = z.object({
  specversion: z.literal('1.0', { error: (issue) => (issue.input === undefined ? 'is required' : 'must be "1.0"') }),
  id: nonEmptyString,
  source: uri(false),
  type: nonEmptyString.refine((type) => type === USAGE_EVENT_TYPE, {
    error: (issue) => `must be "${USAGE_EVENT_TYPE}": only usage events are taken here (got "${String(issue.input).slice(0, 100)}")`,
  }),
  subject: nonEmptyString.optional(),
  time: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:15:00Z' }).optional(),
  datacontenttype: jsonMediaType.optional(),
  dataschema: uri(true).optional(),
  data_base64: z
    .undefined({ error: 'is not accepted: the usage event must be JSON in data (datacontenttype application/json), not base64' })
    .optional(),
});
type CloudEventAttributes = z.output<typeof cloudEventAttributes>;

const CORE_MEMBERS = new Set([...Object.keys(cloudEventAttributes.shape), 'data']);
const USAGE_EVENT_FIELDS = new Set(Object.keys(usageEventJsonFields.shape));
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };

/**
 * Extension attributes: names of lower-case letters and digits (spec, Naming
 * Conventions), values of a CloudEvents type as JSON maps them (a string, an
 * integer in the 32-bit range or a boolean). Valid ones are ignored.
 */
function extensionIssues(members: Record<string, unknown>, at: Placement): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const name of Object.keys(members)) {
    if (CORE_MEMBERS.has(name)) continue;
    const path = at.attribute(name);
    if (!/^[a-z0-9]+$/.test(name)) {
      issues.push({ path, message: USAGE_EVENT_FIELDS.has(name) ? 'is a usage event field: put it inside data' : 'is not a CloudEvents attribute name (lower-case letters a-z and digits only)' });
      continue;
    }
    const value = members[name];
    const problem =
      typeof value === 'string'
        ? stringProblem(value)
        : typeof value === 'number'
          ? Number.isInteger(value) && value >= INT32.min && value <= INT32.max
            ? null
            : `must be a whole number from ${INT32.min} to ${INT32.max} (a CloudEvents Integer)`
          : typeof value === 'boolean'
            ? null
            : 'must be a string, an integer or a boolean (an extension attribute)';
    if (problem) issues.push({ path, message: problem });
  }
  return issues;
}

/** The fields of a usage event that an envelope attribute may fill, and from which attribute. */
const FILLED_FROM = { event_id: 'id', occurred_at: 'time', tenant_id: 'subject' } as const;
type FillableField = keyof typeof FILLED_FROM;

type MappedCloudEvent =
  | { readonly ok: true; readonly event: unknown; readonly filled: ReadonlySet<FillableField>; readonly at: Placement; readonly withoutTime: boolean }
  | { readonly ok: false; readonly eventId: string | null; readonly issues: FieldIssue[] };

/**
 * One CloudEvent (structured form) as the JSON form of a usage event, or the
 * envelope problems that keep it from being one. Pure; the raw value is never
 * written into (a "__proto__" member stays a member and is refused by name).
 */
function usageEventFromCloudEvent(raw: unknown, at: Placement): MappedCloudEvent {
  if (!isObject(raw)) return { ok: false, eventId: null, issues: [{ path: '', message: 'must be a CloudEvent (a JSON object)' }] };
  // JSON format §2.2: a null attribute is an absent one. data may be null (a null payload), and is kept.
  const members = Object.fromEntries(Object.entries(raw).filter(([name, value]) => value !== null || name === 'data'));
  const checked = validate(cloudEventAttributes, members);
  const issues = [...(checked.ok ? [] : checked.issues.map((issue) => ({ ...issue, path: at.attribute(issue.path) }))), ...extensionIssues(members, at)];
  const data = members['data'];
  const dataEventId = isObject(data) && typeof data['event_id'] === 'string' ? data['event_id'] : null;
  if (!checked.ok || issues.length > 0) {
    const derived = typeof members['id'] === 'string' && typeof members['source'] === 'string' ? cloudEventEventId(members['source'], members['id']) : null;
    return { ok: false, eventId: dataEventId ?? derived, issues };
  }
  const attributes = checked.value;
  // Neither data nor the envelope says when the call happened: the error says both places.
  const withoutTime = attributes.time === undefined && !(isObject(data) && data['occurred_at'] !== undefined && data['occurred_at'] !== null);
  if (!isObject(data)) return { ok: true, event: data, filled: new Set(), at, withoutTime };
  const { event, filled } = fillFromAttributes(data, attributes);
  return { ok: true, event, filled, at, withoutTime };
}

function fillFromAttributes(data: Record<string, unknown>, attributes: CloudEventAttributes): { event: Record<string, unknown>; filled: Set<FillableField> } {
  const filled = new Set<FillableField>();
  const fills: Partial<Record<FillableField, string>> = {};
  if (data['event_id'] === undefined || data['event_id'] === null) {
    fills.event_id = cloudEventEventId(attributes.source, attributes.id);
  }
  if ((data['occurred_at'] === undefined || data['occurred_at'] === null) && attributes.time !== undefined) {
    fills.occurred_at = attributes.time;
  }
  // The JSON form treats a blank tenant_id as absent; so does this.
  const tenant = data['tenant_id'];
  if ((tenant === undefined || tenant === null || (typeof tenant === 'string' && tenant.trim() === '')) && attributes.subject !== undefined) {
    fills.tenant_id = attributes.subject;
  }
  for (const field of Object.keys(fills) as FillableField[]) filled.add(field);
  // Spread copies own members as members (never through a setter), so a "__proto__" in data reaches the schema and is refused there.
  return { event: { ...data, ...fills }, filled };
}

/**
 * The event_id of a CloudEvent whose data has none: "ce-" and the first 32 hex
 * digits of SHA-256 over source, a newline and id. A URI reference has no
 * newline, so distinct (source, id) pairs never hash the same input; the same
 * pair resent always gives the same id, so a resend counts once.
 */
export function cloudEventEventId(source: string, id: string): string {
  return `ce-${createHash('sha256').update(`${source}\n${id}`, 'utf8').digest('hex').slice(0, 32)}`;
}

/** A usage event problem at the place the sender wrote the value: the envelope attribute that filled it, or the field inside data. */
function relocate(issue: FieldIssue, mapped: Extract<MappedCloudEvent, { ok: true }>): FieldIssue {
  const field = issue.path.split(/[.[]/, 1)[0]! as FillableField;
  if (mapped.filled.has(field)) return { path: mapped.at.attribute(FILLED_FROM[field]) + issue.path.slice(field.length), message: issue.message };
  if (issue.path === 'occurred_at' && mapped.withoutTime) {
    return { path: mapped.at.data(issue.path), message: `is required: in data, or as the CloudEvent's ${mapped.at.attribute('time')}` };
  }
  return { path: mapped.at.data(issue.path), message: issue.message };
}

/**
 * Binary mode (HTTP binding §3.1): the attributes come as ce-* headers, the
 * data as the body, its media type as Content-Type. Header values are
 * unquoted and percent-decoded once (§3.1.3.2); invalid UTF-8 is refused.
 */
function cloudEventFromHeaders(headers: IncomingHttpHeaders, body: unknown): { ok: true; event: Record<string, unknown> } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const members: [string, unknown][] = [['data', body]];
  for (const [header, value] of Object.entries(headers)) {
    if (!header.startsWith('ce-') || value === undefined) continue;
    const name = header.slice('ce-'.length);
    if (name === 'datacontenttype') {
      issues.push({ path: header, message: 'must not be sent in binary mode: Content-Type is the media type of the data' });
      continue;
    }
    if (name === 'data' || name === 'data_base64') {
      issues.push({ path: header, message: 'is not a CloudEvents attribute: in binary mode the body is the data' });
      continue;
    }
    const decoded = decodeHeaderValue(Array.isArray(value) ? value.join(', ') : value);
    if (decoded === null) issues.push({ path: header, message: 'must be percent-encoded UTF-8 (HTTP binding 3.1.3.2)' });
    else members.push([name, decoded]);
  }
  if (headers['content-type'] !== undefined) members.push(['datacontenttype', headers['content-type']]);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, event: Object.fromEntries(members) };
}

function decodeHeaderValue(value: string): string | null {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/s.exec(value.trim());
  const unquoted = quoted ? quoted[1]!.replace(/\\(.)/gs, '$1') : value.trim();
  try {
    return decodeURIComponent(unquoted);
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidRequest(message: string): ParsedBatch {
  return { ok: false, status: 400, code: 'invalid_request', message };
}
