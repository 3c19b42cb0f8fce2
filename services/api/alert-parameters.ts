import { validate, type FieldIssue, type Validated } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { SEVERITIES, type AlertSeverity } from '../alerts/alert-event.ts';
import { ALERT_SCOPE_DIMENSIONS, isScopeDimension } from '../alerts/alert-scope.ts';
import type { AlertListFilter } from '../alerts/alert-list-query.ts';
import { DETECTOR_KINDS } from '../detection/finding.ts';
import { rangeIsOrdered, rfc3339Timestamp } from '../validation/timestamp.ts';

/**
 * What the alert and silence endpoints accept. The schemas are the ones the
 * handlers validate with and the ones /docs describes.
 */

export const ALERT_KINDS: readonly string[] = ['budget', ...DETECTOR_KINDS];
const DAY_MS = 24 * 60 * 60 * 1000;
/** A silence longer than this is a switched-off alert; remove the channel or change the detector instead. */
export const MAX_SILENCE_MS = 90 * DAY_MS;

const kind = z.string().refine((value) => ALERT_KINDS.includes(value), `must be one of ${ALERT_KINDS.join(', ')}`);
const severity = z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(', ')}` });
const commaSeparated = z.string().transform((text) => text.split(',').map((value) => value.trim()).filter((value) => value !== ''));
const kindList = commaSeparated.pipe(z.array(kind).min(1, 'must name at least one kind'));
const severityList = commaSeparated.pipe(z.array(severity).min(1, 'must name at least one severity'));

const FIXED_LIST_PARAMETERS = ['state', 'kind', 'severity', 'min_severity', 'from', 'to', 'limit'];
const scopeParameters = Object.fromEntries(ALERT_SCOPE_DIMENSIONS.map((dimension) => [dimension, z.string().min(1, 'must not be empty').optional().describe(`Only alerts whose scope names this ${dimension}`)]));

/** GET /v1/alerts: filters, each narrowing; any scope dimension (team=search) or tag:<key> is a filter too. */
export const alertListQuery = z
  .object({
    state: z.enum(['firing', 'resolved'], { message: 'must be firing or resolved' }).optional().describe('The alert state now'),
    kind: kindList.optional().describe(`Comma-separated kinds: ${ALERT_KINDS.join(', ')}`),
    severity: severityList.optional().describe('Comma-separated severities the alert fired with (info, warning, critical)'),
    min_severity: severity.optional().describe('The least severity the alert fired with'),
    from: rfc3339Timestamp.optional().describe('Alerts whose latest state occurred at or after this time'),
    to: rfc3339Timestamp.optional().describe('Alerts whose latest state occurred before this time'),
    limit: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(100),
    ...scopeParameters,
  })
  // tag:<key> filters; parseAlertListQuery refuses any other parameter.
  .catchall(z.unknown())
  .refine((query) => rangeIsOrdered({ from: query.from, to: query.to }), { path: ['to'], message: 'must be after from' })
  // Filters only narrow: a pair that leaves no severity is a mistake to name, not a reason to list every alert (or none).
  .refine((query) => query.severity === undefined || query.min_severity === undefined || severitiesOf(query).length > 0, {
    path: ['min_severity'],
    error: (issue) => {
      const { severity = [], min_severity: least } = issue.input as { severity?: readonly AlertSeverity[]; min_severity?: AlertSeverity };
      return `excludes every severity given in severity (${severity.join(', ')}), so no alert could match: name one at or above ${least} in severity, or drop one of the two`;
    },
  });

/** Severities the list asks for: those named in severity (all when absent) at or above min_severity. */
function severitiesOf(query: { readonly severity?: readonly AlertSeverity[] | undefined; readonly min_severity?: AlertSeverity | undefined }): AlertSeverity[] {
  const atLeast = query.min_severity ? SEVERITIES.slice(SEVERITIES.indexOf(query.min_severity)) : SEVERITIES;
  return (query.severity ?? SEVERITIES).filter((level) => atLeast.includes(level));
}

/**
 * The list query, validated: every issue of the schema, and every unknown
 * parameter (refused rather than ignored: a typo would list every alert).
 */
export function parseAlertListQuery(input: unknown): Validated<z.output<typeof alertListQuery>> {
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries((input ?? {}) as Record<string, unknown>)) {
    if (FIXED_LIST_PARAMETERS.includes(key) || (ALERT_SCOPE_DIMENSIONS as readonly string[]).includes(key)) continue;
    if (!isScopeDimension(key)) issues.push({ path: key, message: `unknown parameter: filter by ${FIXED_LIST_PARAMETERS.join(', ')}, a scope dimension (${ALERT_SCOPE_DIMENSIONS.join(', ')}) or tag:<key>` });
    else if (typeof value !== 'string' || value === '') issues.push({ path: key, message: 'must be one non-empty value' });
  }
  const checked = validate(alertListQuery, input);
  if (!checked.ok) return { ok: false, issues: [...checked.issues, ...issues] };
  return issues.length > 0 ? { ok: false, issues } : checked;
}

/** The store's filter from a validated list query. */
export function alertListFilter(query: z.output<typeof alertListQuery>): AlertListFilter {
  const scope = Object.fromEntries(Object.entries(query).filter((entry): entry is [string, string] => isScopeDimension(entry[0]) && typeof entry[1] === 'string'));
  return {
    ...(query.state ? { states: [query.state] } : {}),
    ...(query.kind ? { kinds: query.kind } : {}),
    ...(query.severity || query.min_severity ? { severities: severitiesOf(query) } : {}),
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
    ...(query.from !== undefined ? { from: query.from } : {}),
    ...(query.to !== undefined ? { to: query.to } : {}),
    limit: query.limit,
  };
}

export const acknowledgeBody = z
  .strictObject({ note: z.string().max(1000, 'must be at most 1000 characters').optional().describe('What you are doing about it') })
  .optional()
  .transform((body) => ({ note: body?.note ?? '' }));

/** An ISO 8601 duration in weeks, days, hours, minutes and seconds (PT2H, P1D, P1DT12H, P2W), in ms. */
export const isoDuration = z
  .string()
  .regex(/^P(?:\d+W|(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$/, 'must be an ISO 8601 duration in weeks, days, hours, minutes or seconds, e.g. PT2H, P1D, P1DT12H')
  .transform((text) => {
    const [date = '', time = ''] = text.slice(1).split('T');
    const of = (section: string, unit: string) => Number(new RegExp(`(\\d+)${unit}`).exec(section)?.[1] ?? 0);
    return ((of(date, 'W') * 7 + of(date, 'D')) * 24 * 3600 + of(time, 'H') * 3600 + of(time, 'M') * 60 + of(time, 'S')) * 1000;
  });

const scopeKey = z.string().refine(isScopeDimension, `must be a known dimension (${ALERT_SCOPE_DIMENSIONS.join(', ')}) or tag:<key>`);
const scopeValue = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .refine((value) => !value.includes(','), 'must be one value (no commas): make one silence per value');

/** POST /v1/admin/silences. */
export const silenceBody = z.strictObject({
  scope: z
    .record(scopeKey, scopeValue)
    .refine((scope) => Object.keys(scope).length > 0, 'must name at least one dimension, e.g. {"team": "search"}')
    .describe('Dimension → value an alert scope must name to be silenced; every entry must match'),
  kinds: z.array(kind).max(ALERT_KINDS.length).optional().describe('Alert kinds to silence; absent or empty: every kind'),
  starts_at: rfc3339Timestamp.optional().describe('From (default now)'),
  ends_at: rfc3339Timestamp.optional().describe('Until (exclusive); give this or duration'),
  duration: isoDuration.optional().describe('How long from starts_at, ISO 8601 (PT2H, P1D); give this or ends_at'),
  reason: z.string({ message: 'is required: say why, for whoever wonders where the alerts went' }).trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
});

/** The silence's [starts_at, ends_at) from a validated body: exactly one of ends_at and duration, ending after it starts and after now, at most 90 days long. */
export function silenceWindow(body: z.output<typeof silenceBody>, now: number): Validated<{ startsAt: number; endsAt: number }> {
  const issues: FieldIssue[] = [];
  const startsAt = body.starts_at ?? now;
  if ((body.ends_at === undefined) === (body.duration === undefined)) {
    issues.push({ path: body.ends_at === undefined ? 'ends_at' : 'duration', message: body.ends_at === undefined ? 'is required, or give duration (e.g. PT2H)' : 'give either ends_at or duration, not both' });
    return { ok: false, issues };
  }
  const field = body.ends_at !== undefined ? 'ends_at' : 'duration';
  const endsAt = body.ends_at ?? startsAt + body.duration!;
  if (endsAt <= startsAt) issues.push({ path: field, message: field === 'duration' ? 'must be longer than zero' : 'must be after starts_at' });
  else if (endsAt <= now) issues.push({ path: field, message: 'must end in the future: this silence would never be in force' });
  else if (endsAt - startsAt > MAX_SILENCE_MS) issues.push({ path: field, message: 'must make a silence of at most 90 days' });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: { startsAt, endsAt } };
}

export const silenceListQuery = z.object({
  include_expired: z.enum(['true', 'false'], { message: 'must be true or false' }).default('false').transform((flag) => flag === 'true').describe('Also list ended and lifted silences'),
});
