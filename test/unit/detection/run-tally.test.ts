import { describe, expect, it } from 'vitest';
import { RUNAWAY_DEFAULTS, detectRunaways } from '../../../services/detection/named/runaway.ts';
import { RunTally, type TalliedCall } from '../../../services/detection/run-tally.ts';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 24, 10, 0);
const call = (at: number, over: Partial<TalliedCall> = {}): TalliedCall => ({ agentRunId: 'run-1', sessionId: null, feature: 'agent', team: 'search', user: 'u1', occurredAt: at, costUnits: 1_000_000_000n, ...over });

describe('RunTally', () => {
  it('counts calls and spend per run and minute, for agent runs and sessions alike', () => {
    const tally = new RunTally();
    for (let i = 0; i < 5; i += 1) tally.add(call(T0 + i * 10_000, { sessionId: 's-1' }));
    tally.add(call(T0 + MINUTE + 1));
    const runs = tally.touched(T0 + MINUTE + 2);
    expect(runs.map((run) => [run.dimension, run.run, run.minutes.map((m) => [m.at - T0, m.calls, m.costUnits])])).toEqual([
      ['agent_run_id', 'run-1', [[0, 5, 5_000_000_000n], [MINUTE, 1, 1_000_000_000n]]],
      ['session_id', 's-1', [[0, 5, 5_000_000_000n]]],
    ]);
    expect(tally.touched(T0 + MINUTE + 3)).toEqual([]);
  });

  it('hands a loop to the runaway detector while its first busy minute is still going on', () => {
    const tally = new RunTally();
    for (let m = 0; m < 10; m += 1) for (let i = 0; i < 4; i += 1) tally.add(call(T0 + m * MINUTE + i * 1000));
    tally.touched(T0 + 10 * MINUTE);
    const loop = T0 + 10 * MINUTE;
    for (let i = 0; i < RUNAWAY_DEFAULTS.minCalls; i += 1) tally.add(call(loop + i * 500));
    const [run] = tally.touched(loop + 20_000);
    const findings = detectRunaways([run!], new Map(), { start: loop - 59 * MINUTE, end: loop + MINUTE, baselineStart: 0, baselineEnd: 0 });
    expect(findings.map((f) => [f.kind, f.scope, f.since - T0])).toEqual([['runaway', { agent_run_id: 'run-1' }, 10 * MINUTE]]);
  });

  it('forgets a run idle for five minutes', () => {
    const tally = new RunTally();
    tally.add(call(T0));
    tally.touched(T0);
    expect(tally.size).toBe(1);
    tally.add(call(T0 + 6 * MINUTE, { agentRunId: 'run-2' }));
    tally.touched(T0 + 6 * MINUTE);
    expect(tally.size).toBe(1);
  });
});
