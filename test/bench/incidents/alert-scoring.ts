import type { AlertEvent } from '../../../services/alerts/alert-event.ts';
import type { InjectedIncident } from './injected-incidents.ts';

/**
 * Which published alerts are an injected incident's doing, and how soon each
 * incident was caught. An alert is attributed to an incident when it was
 * published between the incident's start and two hours after its end (the
 * hourly detectors judge the hour after), one of its scope pairs, its
 * contributors or its related series names the incident's subject or a scope
 * the incident moves, and the clean timeline (same traffic, no incident) did
 * not raise it too (same source series within half an hour): that one is
 * background noise. Everything else is a false alert.
 */

export interface PublishedAlert {
  readonly alert: AlertEvent;
  /** The simulated `now` of the run that published it. */
  readonly publishedAt: number;
  readonly schedule: 'minute' | 'hour';
  /** Set on a page that fired again later at a higher severity. */
  readonly escalatedTo?: string;
}

const GRACE_MS = 2 * 3_600_000;
const MINUTE = 60_000;
/** How far apart the clean and the injected timeline may raise the same series' alert and still be the same background alert. */
const SAME_ALERT_MS = 30 * MINUTE;
const SEVERITY_ORDER = ['info', 'warning', 'critical'];

/**
 * The pages: the first firing publication of each alert id, each with the
 * highest severity it was published with later (an incident that grows fires
 * again under its id at the higher severity), and how many such re-fires there were.
 */
export function pages(alerts: readonly PublishedAlert[]): { pages: PublishedAlert[]; escalations: number } {
  const first = new Map<string, PublishedAlert>();
  let escalations = 0;
  for (const published of alerts) {
    if (published.alert.state !== 'firing') continue;
    const seen = first.get(published.alert.alert_id);
    if (!seen) {
      first.set(published.alert.alert_id, published);
      continue;
    }
    escalations += 1;
    if (SEVERITY_ORDER.indexOf(published.alert.severity) > SEVERITY_ORDER.indexOf(seen.escalatedTo ?? seen.alert.severity)) {
      first.set(published.alert.alert_id, { ...seen, escalatedTo: published.alert.severity });
    }
  }
  return { pages: [...first.values()], escalations };
}

/** "dimension=value" pairs an alert is about: scope, contributors and related series (user normalised to user_id). */
export function alertPairs(alert: AlertEvent): Set<string> {
  const pairs = new Set<string>();
  const add = (dimension: string, value: string) => pairs.add(`${dimension === 'user' ? 'user_id' : dimension}=${value}`);
  for (const [dimension, value] of Object.entries(alert.scope)) add(dimension, value);
  for (const contributor of alert.contributors) add(contributor.dimension, contributor.value);
  // Related series keys read kind/dimension=value,.../metric.
  for (const key of alert.related) {
    const scope = key.split('/')[1] ?? '';
    for (const pair of scope.split(',')) {
      const split = pair.indexOf('=');
      if (split > 0) add(pair.slice(0, split), pair.slice(split + 1));
    }
  }
  return pairs;
}

/** A test of whether the clean timeline raised the same alert (same source series, about the same time). */
export function alsoIn(clean: readonly PublishedAlert[]): (published: PublishedAlert) => boolean {
  const bySource = new Map<string, number[]>();
  for (const published of clean) bySource.set(published.alert.source_id, [...(bySource.get(published.alert.source_id) ?? []), published.publishedAt]);
  return (published) => (bySource.get(published.alert.source_id) ?? []).some((at) => Math.abs(at - published.publishedAt) <= SAME_ALERT_MS);
}

/**
 * The incident each page is attributed to (null: a false alert): the one whose
 * subject its own scope names first, then the latest started. Pages the clean
 * timeline raised as well are never attributed.
 */
export function attribute(alerts: readonly PublishedAlert[], incidents: readonly InjectedIncident[], background: (published: PublishedAlert) => boolean): Map<PublishedAlert, InjectedIncident | null> {
  const out = new Map<PublishedAlert, InjectedIncident | null>();
  for (const published of alerts) {
    if (background(published)) {
      out.set(published, null);
      continue;
    }
    const pairs = alertPairs(published.alert);
    const scope = new Set(Object.entries(published.alert.scope).map(([dimension, value]) => `${dimension}=${value}`));
    let best: { incident: InjectedIncident; strength: number } | null = null;
    for (const incident of incidents) {
      if (published.publishedAt < incident.start || published.publishedAt > incident.end + GRACE_MS) continue;
      const strength = incident.subject.some((pair) => scope.has(pair)) ? 3 : incident.subject.some((pair) => pairs.has(pair)) ? 2 : incident.affected.some((pair) => pairs.has(pair)) ? 1 : 0;
      if (strength === 0) continue;
      if (!best || strength > best.strength || (strength === best.strength && incident.start > best.incident.start)) best = { incident, strength };
    }
    out.set(published, best?.incident ?? null);
  }
  return out;
}

export interface AlertBrief {
  readonly publishedAt: string;
  readonly kind: string;
  readonly metric: string;
  readonly severity: string;
  readonly escalatedTo: string | null;
  readonly scope: string;
  readonly since: string | null;
  readonly atStakePerHour: string | null;
  readonly title: string;
}

export function brief(published: PublishedAlert): AlertBrief {
  const { alert } = published;
  return {
    publishedAt: new Date(published.publishedAt).toISOString(),
    kind: alert.kind,
    metric: alert.metric,
    severity: alert.severity,
    escalatedTo: published.escalatedTo ?? null,
    scope: scopeText(alert.scope),
    since: alert.since === null ? null : new Date(alert.since).toISOString(),
    atStakePerHour: alert.at_stake_per_hour,
    title: alert.title.slice(0, 200),
  };
}

const scopeText = (scope: Readonly<Record<string, string>>) =>
  Object.entries(scope)
    .map(([dimension, value]) => `${dimension}=${value}`)
    .join(',');

export interface IncidentOutcome {
  readonly incident: string;
  readonly description: string;
  readonly start: string;
  readonly end: string;
  readonly expectedKinds: readonly string[];
  readonly detected: boolean;
  /** Minutes from the injection's start to the first attributed alert's publishing run. */
  readonly delayMinutes: number | null;
  readonly firstAlert: AlertBrief | null;
  readonly expectedKindDetected: boolean;
  readonly expectedKindDelayMinutes: number | null;
  /** Alerts (pages) attributed to it: 1 is one page for one incident. */
  readonly firingAlerts: number;
  readonly groupedIntoOne: boolean;
  readonly alerts: readonly AlertBrief[];
}

export function incidentOutcome(incident: InjectedIncident, attributed: readonly PublishedAlert[]): IncidentOutcome {
  const ordered = [...attributed].sort((a, b) => a.publishedAt - b.publishedAt);
  const first = ordered[0];
  const expected = ordered.find((published) => (incident.expectedKinds as readonly string[]).includes(published.alert.kind));
  const delay = (published: PublishedAlert | undefined) => (published ? Math.round(((published.publishedAt - incident.start) / MINUTE) * 10) / 10 : null);
  return {
    incident: incident.name,
    description: incident.description,
    start: new Date(incident.start).toISOString(),
    end: new Date(incident.end).toISOString(),
    expectedKinds: incident.expectedKinds,
    detected: first !== undefined,
    delayMinutes: delay(first),
    firstAlert: first ? brief(first) : null,
    expectedKindDetected: expected !== undefined,
    expectedKindDelayMinutes: delay(expected),
    firingAlerts: ordered.length,
    groupedIntoOne: ordered.length === 1,
    alerts: ordered.map(brief),
  };
}

export interface FalseAlertSummary {
  readonly total: number;
  readonly perDay: number;
  /** Per scope dimension(s) of the alert (e.g. team, feature, gateway+model+provider). */
  readonly byDimension: Record<string, number>;
  readonly byKind: Record<string, number>;
  /** kind/metric@schedule (minute or hour runs). */
  readonly byKindAndMetric: Record<string, number>;
  /** kind/metric@schedule:dimension(s). */
  readonly byDetectorAndDimension: Record<string, number>;
  readonly bySeverity: Record<string, number>;
  /** The first few alerts of each detector and dimension (byDetectorAndDimension), in time order. */
  readonly examples: readonly AlertBrief[];
}

/** Pages counted per day and broken down, with `perGroup` examples of each detector and dimension. */
export function falseAlertSummary(alerts: readonly PublishedAlert[], days: number, perGroup = 3): FalseAlertSummary {
  const group = (published: PublishedAlert) => `${published.alert.kind}/${published.alert.metric}@${published.schedule}:${Object.keys(published.alert.scope).sort().join('+')}`;
  const shown = new Map<string, number>();
  const examples = [...alerts]
    .sort((a, b) => a.publishedAt - b.publishedAt)
    .filter((published) => {
      const seen = shown.get(group(published)) ?? 0;
      shown.set(group(published), seen + 1);
      return seen < perGroup;
    });
  const count = (key: (published: PublishedAlert) => string) => {
    const counts: Record<string, number> = {};
    for (const published of alerts) counts[key(published)] = (counts[key(published)] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([, a], [, b]) => b - a));
  };
  return {
    total: alerts.length,
    perDay: Math.round((alerts.length / days) * 10) / 10,
    byDimension: count((published) => Object.keys(published.alert.scope).sort().join('+')),
    byKind: count((published) => published.alert.kind),
    byKindAndMetric: count((published) => `${published.alert.kind}/${published.alert.metric}@${published.schedule}`),
    byDetectorAndDimension: count(group),
    bySeverity: count((published) => published.alert.severity),
    examples: examples.map(brief),
  };
}
