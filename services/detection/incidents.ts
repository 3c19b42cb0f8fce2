import { decimalUnits } from '../money/decimal.ts';
import { findingKey, type Finding } from './finding.ts';

/**
 * One incident, one page. Findings arrive every run of the detectors; the
 * book turns them into incident openings (firing) and closings (resolved):
 *  - a finding of a series already in an open incident updates it (its
 *    latest window; the incident keeps the earliest `since`);
 *  - a finding that shares a scope value with an incident that started within
 *    the grouping window — its own value, or an owner (team, feature, agent
 *    run, session, API key, tenant) among its top contributors — joins it as
 *    related: a runaway agent that also lifts its team's cost and its model's
 *    requests is one incident, not three pages; a named failure joining takes
 *    the lead from a series anomaly;
 *  - anything else opens an incident, whose alert id is fixed from then on;
 *    a finding that may only keep an incident going (`opens: false`: under the
 *    volume or money guard, or from a bucket replayed after a restart) opens
 *    nothing;
 *  - an incident whose members have all gone quiet for their stale time (a few
 *    runs of their detector) closes.
 * Deterministic for the same findings, so two replicas (or a replay after a
 * restart) open the same alert ids, and the notifier tells people once.
 */

export interface Incident {
  readonly alertId: string;
  /** The finding that opened it, updated with the latest figures of the same series. */
  readonly lead: Finding;
  /** Member series keys → the end of the last window they were reported in. */
  readonly members: Readonly<Record<string, number>>;
  /** Member series keys → how long after its last report a member counts as gone. */
  readonly staleAfter: Readonly<Record<string, number>>;
  readonly openedAt: number;
  /** Scope values of every finding that joined it (what later findings are grouped on). */
  readonly pairs?: readonly string[];
}

export interface IncidentChange {
  readonly state: 'firing' | 'resolved';
  readonly incident: Incident;
}

/** Contributors that say who owns a change; a model or a user is shared by too many unrelated incidents to group on. */
const OWNERS = new Set(['team', 'feature', 'agent_run_id', 'session_id', 'api_key_id', 'tenant_id', 'cost_center']);

/** Scope values a finding is about or driven by: what incidents are grouped on. Empty values group nothing. */
function scopePairs(finding: Finding): Set<string> {
  const pairs = new Set(Object.entries(finding.scope).filter(([, value]) => value !== '').map(([key, value]) => `${key}=${value}`));
  for (const contributor of finding.contributors.slice(0, 3)) if (OWNERS.has(contributor.dimension) && contributor.value !== '') pairs.add(`${contributor.dimension}=${contributor.value}`);
  return pairs;
}

/** Which finding leads an incident: a named failure says more than the series it moved (the runaway run, not its team's cost), then the most money at stake. */
const PRIORITY: Readonly<Record<Finding['kind'], number>> = { runaway: 0, silence: 1, unpriced_usage: 1, price_drift: 1, model_mix_drift: 1, token_drift: 1, anomaly: 2 };
function leadFirst(a: Finding, b: Finding): number {
  return PRIORITY[a.kind] - PRIORITY[b.kind] || a.since - b.since || compareMoney(b.atStakePerHour, a.atStakePerHour) || findingKey(a).localeCompare(findingKey(b));
}
const compareMoney = (a: string, b: string) => {
  const difference = decimalUnits(a) - decimalUnits(b);
  return difference > 0n ? 1 : difference < 0n ? -1 : 0;
};

const pairsOf = (incident: Incident): readonly string[] => incident.pairs ?? [...scopePairs(incident.lead)];

/**
 * The lead after a finding joins: the same series' latest window (the
 * incident's start kept), or a named failure in place of a series anomaly.
 */
function nextLead(lead: Finding, finding: Finding): Finding {
  if (findingKey(lead) === findingKey(finding)) return finding.windowEnd >= lead.windowEnd ? { ...finding, since: Math.min(lead.since, finding.since) } : lead;
  return PRIORITY[finding.kind] < PRIORITY[lead.kind] ? finding : lead;
}

export function incidentAlertId(finding: Finding): string {
  return `${findingKey(finding)}/${new Date(finding.since).toISOString()}`;
}

export class IncidentBook {
  readonly #open = new Map<string, Incident>();
  readonly #groupWindowMs: number;

  constructor(groupWindowMs: number, open: readonly Incident[] = []) {
    this.#groupWindowMs = groupWindowMs;
    for (const incident of open) this.#open.set(incident.alertId, incident);
  }

  get open(): Incident[] {
    return [...this.#open.values()];
  }

  /**
   * Applies one run's findings at `now`; `staleAfter` is how long a member of
   * this run's detectors may go unreported before it counts as gone. Returns
   * incidents opened (with their lead updated by later findings of this run)
   * and incidents closed. An incident whose alert id is in `closed` (closed
   * before: a replay after a restart sees it again) is not opened again.
   */
  apply(findings: readonly Finding[], now: number, staleAfter: number, closed: ReadonlySet<string> = new Set()): IncidentChange[] {
    const opened: Incident[] = [];
    for (const finding of [...findings].sort(leadFirst)) {
      const key = findingKey(finding);
      const home = this.memberOf(key) ?? (finding.opens === false ? undefined : this.#groupFor(finding));
      if (home) {
        this.#open.set(home.alertId, {
          ...home,
          lead: nextLead(home.lead, finding),
          // A catch-up run reports several buckets of a series, in no particular order: the latest counts.
          members: { ...home.members, [key]: Math.max(home.members[key] ?? -Infinity, finding.windowEnd) },
          staleAfter: { ...home.staleAfter, [key]: staleAfter },
          pairs: [...new Set([...pairsOf(home), ...scopePairs(finding)])].sort(),
        });
        continue;
      }
      if (finding.opens === false || closed.has(incidentAlertId(finding))) continue;
      const incident: Incident = { alertId: incidentAlertId(finding), lead: finding, members: { [key]: finding.windowEnd }, staleAfter: { [key]: staleAfter }, openedAt: finding.windowEnd, pairs: [...scopePairs(finding)].sort() };
      this.#open.set(incident.alertId, incident);
      opened.push(incident);
    }
    const changes: IncidentChange[] = opened.map((incident) => ({ state: 'firing', incident: this.#open.get(incident.alertId)! }));
    for (const incident of this.#open.values()) {
      const live = Object.entries(incident.members).some(([key, end]) => now - end < (incident.staleAfter[key] ?? staleAfter));
      if (live) continue;
      this.#open.delete(incident.alertId);
      changes.push({ state: 'resolved', incident });
    }
    return changes;
  }

  /** The open incident a series (finding key) is part of. */
  memberOf(key: string): Incident | undefined {
    for (const incident of this.#open.values()) if (key in incident.members) return incident;
    return undefined;
  }

  #groupFor(finding: Finding): Incident | undefined {
    const pairs = scopePairs(finding);
    let best: Incident | undefined;
    for (const incident of this.#open.values()) {
      if (Math.abs(finding.since - incident.lead.since) > this.#groupWindowMs) continue;
      const shared = pairsOf(incident).some((pair) => pairs.has(pair));
      if (shared && (!best || incident.openedAt < best.openedAt)) best = incident;
    }
    return best;
  }
}
