import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { TRACE_KINDS, type KindTrace, type TraceKind, type Traces } from './azure-traces.ts';
import {
  AGENT_RUN_CALLS,
  ENGINEERS,
  ERROR_CODES,
  ERROR_RATE,
  FEATURES,
  GATEWAYS,
  CALL_SPACING_S,
  MIN_SESSIONS_OPEN,
  MODELS,
  PROD_USERS,
  SESSION_CALLS,
  TENANTS,
  type Feature,
  type ModelSpec,
} from './owners.ts';
import { SeededRandom, cumulativeOf, zipf } from './seeded-random.ts';

/**
 * The benchmark's normal traffic, event by event in time order:
 *  - arrivals: per kind (coding features on the code trace, the others on the
 *    conversation trace), the trace's arrivals replayed in their own time, each
 *    simulated hour from a random point of the trace, each arrival kept with
 *    the share the hour's intensity needs. The intensity is a UTC business-day
 *    curve (peak ~14:30 UTC, Europe and America overlapping; weekends at 45 %)
 *    scaled so the week averages `eventsPerSecond`. So the bursts are the
 *    traces' own and last as long as there; the traces span an hour, so the
 *    daily and weekly shape is an assumption. (reports-bench instead stretches
 *    the merged gaps onto its intensity; at a night's rate that turns a
 *    ten-second burst of the 8 requests/s traces into minutes of 5-10× traffic
 *    on every team at once, which is not what a company's usage looks like.)
 *  - owners: each call goes to one of the open sessions of its kind (one user,
 *    feature, model and gateway; agent features run agent runs of about
 *    AGENT_RUN_CALLS calls), each calling at its own pace (CALL_SPACING_S:
 *    chat, code, agent); as many are open as the kind's recent call rate needs
 *    at those paces, so a burst opens sessions rather than making a few call
 *    faster;
 *  - token sizes: drawn from the kind's trace rows.
 */

const HOUR_MS = 3_600_000;
/** Time constant of the recent call rate that sizes the session pools. */
const RATE_MEMORY_MS = 20_000;

/** Relative intensity of the hour starting at `hourStart` (UTC). */
export function hourWeight(hourStart: number): number {
  const at = new Date(hourStart);
  const day = at.getUTCDay();
  const hour = at.getUTCHours() + 0.5;
  return (0.25 + Math.exp(-(((hour - 14.5) / 4.5) ** 2))) * (day === 0 || day === 6 ? 0.45 : 1);
}

/** Mean hourWeight over a week. */
const WEEK_MEAN_WEIGHT = Array.from({ length: 168 }, (_, h) => hourWeight(Date.UTC(2026, 10, 16) + h * HOUR_MS)).reduce((sum, w) => sum + w, 0) / 168;

const meanCalls = (feature: Feature) => (feature.agent ? AGENT_RUN_CALLS : SESSION_CALLS);
/** Share of all calls made by features of each kind. */
const CALL_SHARE: Readonly<Record<TraceKind, number>> = (() => {
  const calls = (kind: TraceKind) => FEATURES.filter((f) => f.kind === kind).reduce((sum, f) => sum + f.weight * meanCalls(f), 0);
  const total = calls('code') + calls('conv');
  return { code: calls('code') / total, conv: calls('conv') / total };
})();

/** Who a call is made for: the attribution of a session. */
export interface CallOwner {
  readonly feature: Feature;
  readonly environment: string;
  readonly user: string;
  readonly tenant: string | null;
  readonly gateway: string;
  readonly session: string;
  readonly agentRun: string | null;
}

interface Session extends CallOwner {
  readonly model: ModelSpec;
  /** Calls per second while open. */
  readonly pace: number;
  calls: number;
  left: number;
}

/** The open sessions of a kind, their summed pace (calls/s), and the kind's recent call rate (calls/s, decayed over RATE_MEMORY_MS). */
interface SessionPool {
  readonly sessions: Session[];
  pace: number;
  rate: number;
  last: number;
}

export interface TrafficOptions {
  readonly seed: number;
  /** Mean events per second over a week. */
  readonly eventsPerSecond: number;
  /** First instant of the traffic (epoch ms, on an hour). */
  readonly from: number;
  readonly traces: Traces;
}

/** One kind's trace replayed: each hour a random slice of trace time, thinned to the hour's share of arrivals. */
class ThinnedArrivals {
  readonly #random: SeededRandom;
  readonly #trace: KindTrace;
  /** Events per ms wanted in the hour starting at the argument. */
  readonly #rateAt: (hourStart: number) => number;
  #hourStart: number;
  #keep = 0;
  #traceFrom = 0;
  #index = 0;
  #lap = 0;

  constructor(random: SeededRandom, trace: KindTrace, rateAt: (hourStart: number) => number, from: number) {
    this.#random = random;
    this.#trace = trace;
    this.#rateAt = rateAt;
    this.#hourStart = from;
    this.#startHour(from);
  }

  /** The share of trace arrivals an hour keeps. */
  keepAt(hourStart: number): number {
    return this.#rateAt(hourStart) * (this.#trace.spanMs / this.#trace.arrivals.length);
  }

  /** The next kept arrival, epoch ms. */
  next(): number {
    const { arrivals, spanMs } = this.#trace;
    for (;;) {
      if (this.#index >= arrivals.length) {
        this.#index = 0;
        this.#lap += 1;
      }
      const offset = arrivals[this.#index++]! + this.#lap * spanMs - this.#traceFrom;
      if (offset >= HOUR_MS) this.#startHour(this.#hourStart + HOUR_MS);
      else if (this.#random.next() < this.#keep) return this.#hourStart + Math.floor(offset);
    }
  }

  #startHour(hourStart: number): void {
    const { arrivals, spanMs } = this.#trace;
    this.#hourStart = hourStart;
    this.#keep = this.keepAt(hourStart);
    this.#traceFrom = this.#random.next() * spanMs;
    let index = 0;
    while (index < arrivals.length && arrivals[index]! < this.#traceFrom) index += 1;
    this.#index = index;
    this.#lap = 0;
  }
}

export class SyntheticTraffic {
  readonly #random: SeededRandom;
  readonly #options: TrafficOptions;
  readonly #features: Readonly<Record<TraceKind, { list: Feature[]; shares: Float64Array }>>;
  readonly #userActivity = cumulativeOf(zipf(PROD_USERS, 1.0));
  readonly #userTenant: Uint16Array;
  readonly #userGateway: Uint8Array;
  readonly #arrivals: Record<TraceKind, ThinnedArrivals>;
  readonly #next: Record<TraceKind, number>;
  readonly #pools: Record<TraceKind, SessionPool>;
  #sessionCount = 0;
  #eventCount = 0;
  #pending: UsageEventRecord | null = null;

  constructor(options: TrafficOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed);
    const tenants = cumulativeOf(zipf(TENANTS, 1.0));
    const gateways = cumulativeOf(GATEWAYS.map((g) => g.share));
    this.#userTenant = Uint16Array.from({ length: PROD_USERS }, () => this.#random.weighted(tenants));
    this.#userGateway = Uint8Array.from({ length: PROD_USERS + ENGINEERS }, () => this.#random.weighted(gateways));
    const ofKind = (kind: TraceKind) => {
      const list = FEATURES.filter((f) => f.kind === kind);
      return { list, shares: cumulativeOf(list.map((f) => f.weight)) };
    };
    this.#features = { code: ofKind('code'), conv: ofKind('conv') };
    const streams = TRACE_KINDS.map((kind) => {
      const rateAt = (hourStart: number) => (options.eventsPerSecond * CALL_SHARE[kind] * hourWeight(hourStart)) / WEEK_MEAN_WEIGHT / 1000;
      const stream = new ThinnedArrivals(this.#random, options.traces.kinds[kind], rateAt, options.from);
      const busiest = Math.max(...Array.from({ length: 168 }, (_, h) => stream.keepAt(options.from + h * HOUR_MS)));
      if (busiest > 1) throw new Error(`the ${kind} trace has too few arrivals for ${options.eventsPerSecond} events/s: its busiest hour would keep ${busiest.toFixed(2)} of them (at most 1); lower the rate`);
      return [kind, stream] as const;
    });
    this.#arrivals = Object.fromEntries(streams) as Record<TraceKind, ThinnedArrivals>;
    this.#next = { code: this.#arrivals.code.next(), conv: this.#arrivals.conv.next() };
    const pool = (kind: TraceKind): SessionPool => {
      const rate = this.#arrivals[kind].keepAt(options.from) * (options.traces.kinds[kind].arrivals.length / options.traces.kinds[kind].spanMs) * 1000;
      const opened: SessionPool = { sessions: [], pace: 0, rate, last: options.from };
      this.#fill(opened, kind);
      return opened;
    };
    this.#pools = { code: pool('code'), conv: pool('conv') };
  }

  /** The most active production users whose calls go through a gateway (for incidents that add calls there). */
  usersOf(gateway: string, count: number): { user: string; tenant: string; gateway: string }[] {
    const users: { user: string; tenant: string; gateway: string }[] = [];
    for (let user = 0; user < PROD_USERS && users.length < count; user += 1) {
      if (GATEWAYS[this.#userGateway[user]!]!.id === gateway) users.push({ user: `user-${user}`, tenant: this.#tenantOf(user), gateway });
    }
    return users;
  }

  /** The next events before `until` (epoch ms), in time order. */
  until(until: number): UsageEventRecord[] {
    const out: UsageEventRecord[] = [];
    for (;;) {
      this.#pending ??= this.#nextEvent();
      if (this.#pending.occurred_at >= until) return out;
      out.push(this.#pending);
      this.#pending = null;
    }
  }

  #tenantOf(user: number): string {
    return `tenant-${String(this.#userTenant[user]! + 1).padStart(2, '0')}`;
  }

  /** Opens sessions until their paces add up to the kind's recent call rate. */
  #fill(pool: SessionPool, kind: TraceKind): void {
    while (pool.pace < pool.rate || pool.sessions.length < MIN_SESSIONS_OPEN) {
      const session = this.#openSession(kind);
      pool.sessions.push(session);
      pool.pace += session.pace;
    }
  }

  #openSession(kind: TraceKind): Session {
    const random = this.#random;
    const n = (this.#sessionCount += 1);
    const { list, shares } = this.#features[kind];
    const feature = list[random.weighted(shares)]!;
    const names = Object.keys(feature.models);
    const model = MODELS[names[random.weighted(cumulativeOf(names.map((name) => feature.models[name]!)))]!]!;
    const roll = random.next();
    const environment = roll < 0.92 ? 'prod' : roll < 0.98 ? 'staging' : 'dev';
    const production = environment === 'prod';
    const user = production ? random.weighted(this.#userActivity) : PROD_USERS + random.below(ENGINEERS);
    return {
      feature,
      model,
      environment,
      user: production ? `user-${user}` : `eng-${user - PROD_USERS}`,
      tenant: production ? this.#tenantOf(user) : null,
      gateway: GATEWAYS[this.#userGateway[user]!]!.id,
      session: `sess-${n}`,
      agentRun: feature.agent ? `run-${n}` : null,
      pace: 1 / CALL_SPACING_S[feature.agent ? 'agent' : kind === 'code' ? 'code' : 'chat'],
      calls: 0,
      left: random.geometric(meanCalls(feature)),
    };
  }

  #nextEvent(): UsageEventRecord {
    const kind: TraceKind = this.#next.code <= this.#next.conv ? 'code' : 'conv';
    const occurredAt = this.#next[kind];
    this.#next[kind] = this.#arrivals[kind].next();
    const pool = this.#pools[kind];
    pool.rate = pool.rate * Math.exp(-(occurredAt - pool.last) / RATE_MEMORY_MS) + 1000 / RATE_MEMORY_MS;
    pool.last = occurredAt;
    this.#fill(pool, kind);
    // The call goes to a session in proportion to its pace; a finished one leaves (the next call tops the pool up).
    let slot = 0;
    for (let x = this.#random.next() * pool.pace - pool.sessions[0]!.pace; x > 0 && slot < pool.sessions.length - 1; x -= pool.sessions[slot]!.pace) slot += 1;
    const session = pool.sessions[slot]!;
    session.calls += 1;
    session.left -= 1;
    if (session.left <= 0) {
      pool.sessions.splice(slot, 1);
      pool.pace -= session.pace;
    }
    const index = (this.#eventCount += 1);
    return callRecord(this.#random, { id: `ev-${index}`, at: occurredAt, owner: session, model: session.model, ...traceSize(this.#random, this.#options.traces, kind), callNumber: session.calls });
  }
}

export interface CallSpec {
  readonly id: string;
  readonly at: number;
  readonly owner: CallOwner;
  readonly model: ModelSpec;
  /** Prompt and completion sizes (a trace row's ContextTokens and GeneratedTokens). */
  readonly context: number;
  readonly generated: number;
  /** 1 for the first call of its session. */
  readonly callNumber: number;
}

/** One model call as a gateway reports it; it fails at ERROR_RATE. */
export function callRecord(random: SeededRandom, spec: CallSpec): UsageEventRecord {
  const { model, owner, context, generated } = spec;
  const error = random.next() < ERROR_RATE ? random.pick(ERROR_CODES) : null;
  const failed = error !== null;
  const embedding = model.operation === 'embedding';
  const reasoning = model.reasoning && !failed ? generated * 2 : 0;
  const output = embedding || failed ? 0 : generated + reasoning;
  // Later calls of a conversation re-send its start: read from the prompt cache; Anthropic's explicit caching writes it on the first call.
  const conversation = owner.feature.kind === 'conv';
  const cacheable = Math.floor(context * 0.6);
  const cacheRead = model.caching && spec.callNumber > 1 && conversation ? cacheable : 0;
  const cacheWrite = model.caching === 'explicit' && spec.callNumber === 1 && conversation && context >= 1024 ? cacheable : 0;
  const ttft = embedding ? 0 : 120 + Math.floor(context / 40) + random.below(300);
  const latency = failed ? 50 + random.below(20_000) : ttft + output * model.msPerToken + random.below(40);
  return {
    event_id: spec.id,
    occurred_at: spec.at,
    provider: model.provider,
    model: model.model,
    api_flavor: null,
    operation: model.operation,
    input_tokens: context,
    output_tokens: output,
    cache_read_tokens: cacheRead,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: reasoning,
    input_audio_tokens: 0,
    cache_audio_read_tokens: 0,
    output_audio_tokens: 0,
    provider_usage: null,
    latency_ms: latency,
    ttft_ms: embedding || failed ? null : ttft,
    status: failed ? 'error' : 'ok',
    error_code: error,
    tenant_id: owner.tenant,
    cost_center: `cc-${owner.feature.team}`,
    team: owner.feature.team,
    feature: owner.feature.name,
    environment: owner.environment,
    user_id: owner.user,
    session_id: owner.session,
    agent_run_id: owner.agentRun,
    api_key_id: `key-${owner.feature.team}-${owner.environment}`,
    tags: {},
    gateway_id: owner.gateway,
    reported_cost: null,
    trace_id: null,
    span_id: null,
  };
}

/** A prompt and completion size drawn from a kind's trace rows. */
export function traceSize(random: SeededRandom, traces: Traces, kind: TraceKind): { context: number; generated: number } {
  const trace = traces.kinds[kind];
  const at = random.below(trace.context.length);
  return { context: trace.context[at]!, generated: trace.generated[at]! };
}
