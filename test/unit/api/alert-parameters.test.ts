import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { buildAlertListQuery } from '../../../services/alerts/alert-list-query.ts';
import { alertListFilter, isoDuration, parseAlertListQuery, silenceBody, silenceWindow } from '../../../services/api/alert-parameters.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 24, 10);
const paths = (result: { ok: boolean; issues?: { path: string }[] }) => (result.ok ? [] : result.issues!.map((issue) => issue.path));

describe('alert list parameters', () => {
  it('turns the query into the store filter', () => {
    const query = parseAlertListQuery({ state: 'firing', kind: 'runaway, anomaly', min_severity: 'warning', team: 'search', 'tag:env': 'prod', from: '2026-11-24T00:00:00Z', limit: '5' });
    expect(query.ok).toBe(true);
    expect(alertListFilter(query.ok ? query.value : (undefined as never))).toEqual({
      states: ['firing'],
      kinds: ['runaway', 'anomaly'],
      severities: ['warning', 'critical'],
      scope: { team: 'search', 'tag:env': 'prod' },
      from: Date.UTC(2026, 10, 24),
      limit: 5,
    });
    const both = parseAlertListQuery({ severity: 'info,critical', min_severity: 'warning' });
    expect(both.ok && alertListFilter(both.value)).toEqual({ severities: ['critical'], limit: 100 });
    const none = parseAlertListQuery({});
    expect(none.ok && alertListFilter(none.value)).toEqual({ limit: 100 });
  });

  it('names every bad parameter, unknown ones included', () => {
    const query = parseAlertListQuery({ state: 'open', kind: 'runway', severity: 'high', limit: '5000', tem: 'search', from: '2026-11-24T10:00:00Z', to: '2026-11-24T09:00:00Z' });
    expect(query).toMatchObject({ ok: false });
    expect(query.ok ? null : Object.fromEntries(query.issues.map((issue) => [issue.path, issue.message]))).toEqual({
      state: 'must be firing or resolved',
      'kind[0]': expect.stringContaining('must be one of budget, anomaly, runaway'),
      'severity[0]': 'must be one of info, warning, critical',
      limit: 'must be at most 1000',
      tem: expect.stringContaining('unknown parameter'),
    });
    expect(paths(parseAlertListQuery({ from: '2026-11-24T10:00:00Z', to: '2026-11-24T09:00:00Z' }))).toEqual(['to']);
    expect(paths(parseAlertListQuery({ 'tag:env': ['a', 'b'] }))).toEqual(['tag:env']);
  });

  it('refuses a severity and min_severity that leave no severity, naming both, rather than listing every alert', () => {
    expect(parseAlertListQuery({ severity: 'info', min_severity: 'critical' })).toEqual({
      ok: false,
      issues: [{ path: 'min_severity', message: 'excludes every severity given in severity (info), so no alert could match: name one at or above critical in severity, or drop one of the two' }],
    });
    expect(paths(parseAlertListQuery({ severity: 'info,warning', min_severity: 'critical', limit: '5000' }))).toEqual(['limit', 'min_severity']);
    const overlapping = parseAlertListQuery({ severity: 'info,warning', min_severity: 'warning' });
    expect(overlapping.ok && alertListFilter(overlapping.value)).toEqual({ severities: ['warning'], limit: 100 });
  });

  it('builds SQL that lists nothing for a filter list given empty, never everything', () => {
    const empty = buildAlertListQuery({ severities: [], states: [], kinds: [], limit: 10 });
    expect(empty.sql).toContain('WHERE 0\n');
    expect(empty.sql).toContain('HAVING 0\n  AND 0\n');
    expect(empty.params).toEqual({ limit: 10 });
    expect(buildAlertListQuery({ severities: [], limit: 10 }).sql).toMatch(/\nHAVING 0\nORDER BY/);
  });

  it('builds SQL that filters each alert’s latest state with bound values only', () => {
    const { sql, params } = buildAlertListQuery({ states: ['firing'], kinds: ['runaway'], severities: ['critical'], scope: { team: "search'; DROP" }, access: { teams: ['search'] }, from: 1, to: 2, limit: 10 });
    expect(sql).not.toContain('DROP');
    expect(sql).toContain('WHERE kind IN {kinds:Array(String)}');
    expect(sql).toContain('latest_state IN {states:Array(String)}');
    expect(sql).toContain("has(arrayMap(v -> trimBoth(v), splitByChar(',', JSONExtractString(last, 'scope', {scope_key_0:String}))), {scope_value_0:String})");
    expect(sql).toContain('hasAll({access_team:Array(String)}');
    expect(sql).toMatch(/ORDER BY occurred_at DESC, alert_id\nLIMIT \{limit:UInt32\}$/);
    expect(params).toMatchObject({ kinds: ['runaway'], states: ['firing'], severities: ['critical'], scope_key_0: 'team', scope_value_0: "search'; DROP", access_team: ['search'], from: 1, to: 2, limit: 10 });
    expect(buildAlertListQuery({ limit: 1 }).sql).not.toMatch(/WHERE|HAVING/);
  });
});

describe('silence parameters', () => {
  it.each([
    ['PT2H', 2 * HOUR],
    ['P1D', 24 * HOUR],
    ['P1DT12H', 36 * HOUR],
    ['PT90M', 1.5 * HOUR],
    ['PT30S', 30_000],
    ['P2W', 14 * 24 * HOUR],
  ])('reads the duration %s', (text, ms) => {
    expect(isoDuration.parse(text)).toBe(ms);
  });

  it.each(['P', 'PT', '2h', 'P1M', 'P1Y', 'PT1.5H', 'P1DT'])('refuses the duration %s', (text) => {
    expect(isoDuration.safeParse(text).success).toBe(false);
  });

  it('names each bad field of a silence', () => {
    const body = validate(silenceBody, { scope: { tema: 'search', team: 'a,b', feature: '' }, kinds: ['runway'], duration: '2 hours', reason: '', extra: 1 });
    expect(body.ok ? null : body.issues).toEqual([
      { path: 'scope.tema', message: expect.stringContaining('must be a known dimension (team, feature') },
      { path: 'scope.team', message: 'must be one value (no commas): make one silence per value' },
      { path: 'scope.feature', message: 'must not be empty' },
      { path: 'kinds[0]', message: expect.stringContaining('must be one of budget') },
      { path: 'duration', message: expect.stringContaining('ISO 8601 duration') },
      { path: 'reason', message: 'must not be empty' },
      { path: '', message: 'unknown field: extra' },
    ]);
    expect(validate(silenceBody, { scope: {}, duration: 'PT1H' })).toEqual({
      ok: false,
      issues: [
        { path: 'scope', message: 'must name at least one dimension, e.g. {"team": "search"}' },
        { path: 'reason', message: 'is required: say why, for whoever wonders where the alerts went' },
      ],
    });
  });

  it('takes exactly one of ends_at and duration, ending after it starts, in the future, within 90 days', () => {
    const window = (body: Record<string, unknown>) => {
      const checked = validate(silenceBody, { scope: { team: 'search' }, reason: 'deploy', ...body });
      if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
      return silenceWindow(checked.value, NOW);
    };
    expect(window({ duration: 'PT2H' })).toEqual({ ok: true, value: { startsAt: NOW, endsAt: NOW + 2 * HOUR } });
    expect(window({ starts_at: '2026-11-25T00:00:00Z', ends_at: '2026-11-26T00:00:00+00:00' })).toEqual({ ok: true, value: { startsAt: Date.UTC(2026, 10, 25), endsAt: Date.UTC(2026, 10, 26) } });
    expect(window({})).toEqual({ ok: false, issues: [{ path: 'ends_at', message: 'is required, or give duration (e.g. PT2H)' }] });
    expect(window({ duration: 'PT2H', ends_at: '2026-11-26T00:00:00Z' })).toEqual({ ok: false, issues: [{ path: 'duration', message: 'give either ends_at or duration, not both' }] });
    expect(window({ starts_at: '2026-11-25T00:00:00Z', ends_at: '2026-11-24T00:00:00Z' })).toMatchObject({ ok: false, issues: [{ path: 'ends_at', message: 'must be after starts_at' }] });
    expect(window({ duration: 'PT0S' })).toMatchObject({ ok: false, issues: [{ path: 'duration', message: 'must be longer than zero' }] });
    expect(window({ starts_at: '2026-11-20T00:00:00Z', duration: 'P1D' })).toMatchObject({ ok: false, issues: [{ path: 'duration', message: expect.stringContaining('future') }] });
    expect(window({ duration: 'P91D' })).toMatchObject({ ok: false, issues: [{ path: 'duration', message: 'must make a silence of at most 90 days' }] });
    expect(window({ duration: 'P90D' })).toMatchObject({ ok: true });
  });
});
