import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import type { DetectorKind } from '../../../services/detection/finding.ts';
import type { UsageRow } from '../../../services/sink/usage-row.ts';
import type { Traces } from './azure-traces.ts';
import { MODELS, featureNamed, type ModelSpec } from './owners.ts';
import { SeededRandom } from './seeded-random.ts';
import { callRecord, traceSize, type CallOwner, type SyntheticTraffic } from './synthetic-traffic.ts';
import { scaledCost } from './usage-rows.ts';

/**
 * The named failures the benchmark injects into the simulated period, each
 * at its own time of the first simulated day and on its own subject. An
 * incident rewrites the base events of a time slice (adds, changes or drops
 * calls) and may change stored rows after pricing; it draws from its own
 * random stream, so the base traffic stays the same event for event.
 */
export interface InjectedIncident {
  readonly name: string;
  readonly description: string;
  /** The detectors meant to catch it. */
  readonly expectedKinds: readonly DetectorKind[];
  readonly start: number;
  /** When the injection stops (the end of the period for a lasting drift). */
  readonly end: number;
  /** Scope pairs ("dimension=value") the incident is about: an alert on them is a detection of it. */
  readonly subject: readonly string[];
  /** Scope pairs it moves as well (its feature's team, models, API key): alerts on them in its time are its doing, not false. */
  readonly affected: readonly string[];
  /** Rewrites the events of one slice [from, to) (order free). */
  events(records: UsageEventRecord[], from: number, to: number): UsageEventRecord[];
  /** Changes a stored row (of the event it stores) after pricing. */
  row?(row: UsageRow, record: UsageEventRecord): UsageRow;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The instant hh:mm of the day starting at `day` (UTC). */
const at = (day: number, hh: number, mm: number) => day + hh * HOUR + mm * MINUTE;

export interface IncidentPlan {
  /** Start of the first simulated day (UTC midnight). */
  readonly day: number;
  /** End of the simulated period. */
  readonly periodEnd: number;
  readonly seed: number;
  readonly traces: Traces;
  readonly traffic: SyntheticTraffic;
}

/** Added calls of an incident falling in [from, to). */
const within = (added: readonly UsageEventRecord[], from: number, to: number) => added.filter((record) => record.occurred_at >= from && record.occurred_at < to);
const pairsOfFeature = (name: string) => {
  const feature = featureNamed(name);
  return [`team=${feature.team}`, ...Object.keys(feature.models).map((model) => `model=${model}`), `api_key_id=key-${feature.team}-prod`];
};

export function plannedIncidents(plan: IncidentPlan): InjectedIncident[] {
  const { day, periodEnd, seed, traces, traffic } = plan;
  return [
    unpricedModel(at(day, 2, 10), seed + 1, traces, traffic),
    runawayLoop(at(day, 4, 30), seed + 2, traces, traffic),
    priceDrift(at(day, 7, 20), periodEnd),
    retryStorm(at(day, 9, 20), seed + 4),
    modelMixDrift(at(day, 11, 40), periodEnd, seed + 5),
    tokenDrift(at(day, 15, 30), periodEnd),
    // Last: it drops what the others added through its gateway too.
    silence(at(day, 13, 10)),
  ];
}

/** One agent run of platform-agent calls its model 60-120 times a minute for 20 min (after 4 normal minutes) until someone kills it. */
function runawayLoop(start: number, seed: number, traces: Traces, traffic: SyntheticTraffic): InjectedIncident {
  const random = new SeededRandom(seed);
  const end = start + 20 * MINUTE;
  const feature = featureNamed('platform-agent');
  const model = MODELS['gpt-4.1-mini']!;
  const [person] = traffic.usersOf('gw-us-east-1', 12).slice(-1);
  const owner: CallOwner = { feature, environment: 'prod', user: person!.user, tenant: person!.tenant, gateway: person!.gateway, session: 'sess-loop-1', agentRun: 'run-loop-1' };
  const added: UsageEventRecord[] = [];
  let calls = 0;
  for (let minute = start - 4 * MINUTE; minute < end; minute += MINUTE) {
    const count = minute < start ? random.between(3, 5) : random.between(60, 120);
    for (let i = 0; i < count; i += 1) {
      calls += 1;
      added.push(callRecord(random, { id: `ev-loop-${calls}`, at: minute + random.below(MINUTE), owner, model, ...traceSize(random, traces, feature.kind), callNumber: calls }));
    }
  }
  return {
    name: 'runaway_loop',
    description: `agent run ${owner.agentRun} of ${feature.name} (${model.model}, user ${owner.user}) makes 60-120 calls/min for 20 min`,
    expectedKinds: ['runaway'],
    start,
    end,
    subject: [`agent_run_id=${owner.agentRun}`, `session_id=${owner.session}`],
    affected: [`feature=${feature.name}`, `team=${feature.team}`, `model=${model.model}`, `user_id=${owner.user}`, `tenant_id=${owner.tenant}`, `api_key_id=key-${feature.team}-prod`],
    events: (records, from, to) => [...records, ...within(added, from, to)],
  };
}

/** support-assistant's calls are retried 4 times each (70 % of the retries rate-limited) for 30 min: requests ×5. */
function retryStorm(start: number, seed: number): InjectedIncident {
  const random = new SeededRandom(seed);
  const end = start + 30 * MINUTE;
  const name = 'support-assistant';
  return {
    name: 'retry_storm',
    description: `every call of ${name} is retried 4 times (70 % of retries fail rate_limited) for 30 min: requests ×5`,
    // No named detector for it: the series anomalies, or the runaway detector on the sessions that retry.
    expectedKinds: ['anomaly', 'runaway'],
    start,
    end,
    subject: [`feature=${name}`],
    affected: pairsOfFeature(name),
    events(records) {
      const retries: UsageEventRecord[] = [];
      for (const record of records) {
        if (record.feature !== name || record.occurred_at < start || record.occurred_at >= end) continue;
        let delay = 0;
        for (let k = 1; k <= 4; k += 1) {
          delay += 300 + random.below(2_700);
          const failed = random.next() < 0.7;
          retries.push({
            ...record,
            event_id: `${record.event_id}-retry-${k}`,
            occurred_at: record.occurred_at + delay,
            status: failed ? 'error' : 'ok',
            error_code: failed ? 'rate_limited' : null,
            output_tokens: failed ? 0 : record.output_tokens,
            reasoning_tokens: failed ? 0 : record.reasoning_tokens,
            latency_ms: failed ? 40 + random.below(200) : record.latency_ms,
            ttft_ms: failed ? null : record.ttft_ms,
          });
        }
      }
      return [...records, ...retries];
    },
  };
}

/** From 11:40 on, growth-classify sends 60 % of its calls to gpt-4o instead of gpt-4o-mini (a fallback stuck on): ~17× the price per token. */
function modelMixDrift(start: number, periodEnd: number, seed: number): InjectedIncident {
  const random = new SeededRandom(seed);
  const name = 'growth-classify';
  const to: ModelSpec = MODELS['gpt-4o']!;
  return {
    name: 'model_mix_drift',
    description: `${name} moves 60 % of its calls from gpt-4o-mini to ${to.model} (~17× the price) from then on`,
    expectedKinds: ['model_mix_drift'],
    start,
    end: periodEnd,
    subject: [`feature=${name}`],
    // Not gpt-4o-mini: it loses traffic, and a drop raises no alert.
    affected: [`team=${featureNamed(name).team}`, `api_key_id=key-${featureNamed(name).team}-prod`, `model=${to.model}`],
    events: (records) => records.map((record) => (record.feature === name && record.occurred_at >= start && random.next() < 0.6 ? { ...record, provider: to.provider, model: to.model } : record)),
  };
}

/** From 15:30 on, analytics-sql stuffs its prompts: input tokens per request ×3. */
function tokenDrift(start: number, periodEnd: number): InjectedIncident {
  const name = 'analytics-sql';
  return {
    name: 'token_drift',
    description: `${name}'s input tokens per request ×3 (context stuffing) from then on`,
    expectedKinds: ['token_drift'],
    start,
    end: periodEnd,
    subject: [`feature=${name}`],
    affected: pairsOfFeature(name),
    events: (records) =>
      records.map((record) =>
        record.feature === name && record.occurred_at >= start
          ? { ...record, input_tokens: record.input_tokens * 3, cache_read_tokens: record.cache_read_tokens * 3, cache_write_tokens: record.cache_write_tokens * 3 }
          : record,
      ),
  };
}

/** From 07:20 on, gemini-2.5-flash rows cost 40 % more per token under the same price_version (a cost rule misapplied). */
function priceDrift(start: number, periodEnd: number): InjectedIncident {
  const model = 'gemini-2.5-flash';
  return {
    name: 'price_drift',
    description: `${model} costs +40 % per token with price_version unchanged from then on`,
    expectedKinds: ['price_drift'],
    start,
    end: periodEnd,
    subject: [`model=${model}`],
    // +40 % on one model barely moves the features using it: an alert on them is not this incident's doing.
    affected: [],
    events: (records) => records,
    row: (row, record) => (record.model === model && record.occurred_at >= start ? scaledCost(row, 7n, 5n) : row),
  };
}

/** From 02:10 for an hour, gw-ap-south-1 sends 2-5 calls a minute of openai/gpt-6-preview, a model the catalog does not know (stored unpriced). */
function unpricedModel(start: number, seed: number, traces: Traces, traffic: SyntheticTraffic): InjectedIncident {
  const random = new SeededRandom(seed);
  const end = start + HOUR;
  const gateway = 'gw-ap-south-1';
  const feature = featureNamed('devex-copilot');
  const model: ModelSpec = { provider: 'openai', model: 'gpt-6-preview', operation: 'chat', caching: 'auto', msPerToken: 10 };
  const people = traffic.usersOf(gateway, 30);
  const added: UsageEventRecord[] = [];
  let calls = 0;
  for (let minute = start; minute < end; minute += MINUTE) {
    const count = random.between(2, 5);
    for (let i = 0; i < count; i += 1) {
      calls += 1;
      const person = random.pick(people);
      const owner: CallOwner = { feature, environment: 'prod', user: person.user, tenant: person.tenant, gateway, session: `sess-preview-${calls}`, agentRun: null };
      added.push(callRecord(random, { id: `ev-preview-${calls}`, at: minute + random.below(MINUTE), owner, model, ...traceSize(random, traces, feature.kind), callNumber: 1 }));
    }
  }
  return {
    name: 'unpriced_usage',
    description: `${gateway} sends ${calls} calls of ${model.provider}/${model.model} (not in the catalog: unpriced) over an hour, for ${feature.name}`,
    expectedKinds: ['unpriced_usage'],
    start,
    end,
    // The model alone: no other traffic names it (its gateway's would).
    subject: [`model=${model.model}`, `model=${model.provider}/${model.model}`],
    affected: [`feature=${feature.name}`],
    events: (records, from, to) => [...records, ...within(added, from, to)],
  };
}

/** From 13:10, gw-eu-west-1 sends nothing for 45 min (an exporter down in the busy afternoon). */
function silence(start: number): InjectedIncident {
  const end = start + 45 * MINUTE;
  const gateway = 'gw-eu-west-1';
  return {
    name: 'silence',
    description: `${gateway} stops sending events for 45 min`,
    expectedKinds: ['silence'],
    start,
    end,
    subject: [`gateway_id=${gateway}`],
    affected: [],
    events: (records) => records.filter((record) => record.gateway_id !== gateway || record.occurred_at < start || record.occurred_at >= end),
  };
}
