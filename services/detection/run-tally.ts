import type { RunActivity } from './named/inputs.ts';

/**
 * Calls and spend per agent run and session, minute by minute, as events
 * stream past: what the runaway detector needs to catch a loop while its
 * first busy minute is still going on, instead of after the minute closed
 * and was stored. Keeps the last hour of each run still calling (a run idle
 * for five minutes is forgotten); pure (the stream watch feeds it and asks it).
 */

const MINUTE = 60_000;
/** History kept per run: what its own usual rate is judged on. */
const KEEP = 60 * MINUTE;
/** A run with no call for this long is forgotten (most sessions last a few calls): memory stays bounded by the busy runs. */
const IDLE = 5 * MINUTE;
/** Most runs tallied at once; beyond it the longest idle go first. */
const MAX_RUNS = 200_000;

export interface TalliedCall {
  readonly agentRunId: string | null;
  readonly sessionId: string | null;
  readonly feature: string;
  readonly team: string;
  readonly user: string;
  readonly occurredAt: number;
  readonly costUnits: bigint;
}

interface Run {
  readonly dimension: RunActivity['dimension'];
  readonly run: string;
  feature: string;
  team: string;
  user: string;
  readonly minutes: Map<number, { calls: number; costUnits: bigint }>;
  latest: number;
}

export class RunTally {
  readonly #runs = new Map<string, Run>();
  /** Runs whose latest minute changed since the last `touched()`. */
  readonly #touched = new Set<string>();
  #prunedAt = -Infinity;

  add(call: TalliedCall): void {
    const minute = Math.floor(call.occurredAt / MINUTE) * MINUTE;
    for (const [dimension, run] of [
      ['agent_run_id', call.agentRunId],
      ['session_id', call.sessionId],
    ] as const) {
      if (!run) continue;
      const key = `${dimension}\u0000${run}`;
      let entry = this.#runs.get(key);
      if (!entry) this.#runs.set(key, (entry = { dimension, run, feature: call.feature, team: call.team, user: call.user, minutes: new Map(), latest: minute }));
      const bucket = entry.minutes.get(minute) ?? { calls: 0, costUnits: 0n };
      bucket.calls += 1;
      bucket.costUnits += call.costUnits;
      entry.minutes.set(minute, bucket);
      if (minute >= entry.latest) {
        entry.latest = minute;
        entry.feature = call.feature;
        entry.team = call.team;
        entry.user = call.user;
      }
      this.#touched.add(key);
    }
  }

  /**
   * The runs that got calls since the last call, with their last hour up to
   * their latest minute (still going on: its counts only grow), and forgets
   * runs idle for five minutes before `now`.
   */
  touched(now: number): RunActivity[] {
    const activity: RunActivity[] = [];
    for (const key of this.#touched) {
      const run = this.#runs.get(key);
      if (!run) continue;
      const minutes = [...run.minutes]
        .filter(([at]) => at > run.latest - KEEP)
        .sort(([a], [b]) => a - b)
        .map(([at, bucket]) => ({ at, calls: bucket.calls, costUnits: bucket.costUnits }));
      activity.push({ dimension: run.dimension, run: run.run, feature: run.feature, team: run.team, user: run.user, minutes });
    }
    this.#touched.clear();
    // Forgetting walks every run: at most every ten seconds.
    if (now - this.#prunedAt < 10_000) return activity;
    this.#prunedAt = now;
    for (const [key, run] of this.#runs) {
      for (const at of run.minutes.keys()) if (at <= run.latest - KEEP) run.minutes.delete(at);
      if (run.latest <= now - IDLE) this.#runs.delete(key);
    }
    if (this.#runs.size > MAX_RUNS) {
      const idlest = [...this.#runs].sort(([, a], [, b]) => a.latest - b.latest).slice(0, this.#runs.size - MAX_RUNS);
      for (const [key] of idlest) this.#runs.delete(key);
    }
    return activity;
  }

  get size(): number {
    return this.#runs.size;
  }
}
