import { z } from 'zod';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import { decimalUnits } from '../money/decimal.ts';
import type { SeriesDimension } from './detection-config.ts';
import * as queries from './detection-queries.ts';
import type { FeatureRunBaseline, ModelMixRow, ModelPriceHour, RunActivity, TokenDistribution, UnpricedRow } from './named/inputs.ts';
import type { Resolution, SeriesBucket } from './series-watch.ts';

/**
 * Runs the detection queries against ClickHouse and hands back the typed
 * inputs the detectors read (services/detection/named/inputs.ts, SeriesBucket).
 */

const count = z.coerce.number();
const units = z.string().transform((text) => decimalUnits(text));
const bucketRow = z.object({ value: z.string(), at: count, requests: count, errors: count, cost: units, input_tokens: count, output_tokens: count, latency_p95: count });
const contributorRow = z.object({ dimension: z.string(), value: z.string(), current_cost: units, baseline_cost: units, current_requests: count, baseline_requests: count });
const runRow = z.object({ dimension: z.enum(['agent_run_id', 'session_id']), run: z.string(), at: count, feature: z.string(), team: z.string(), user: z.string(), calls: count, cost: units });
const featureBaselineRow = z.object({ feature: z.string(), run_minutes: count, calls_p99: count, cost_p99: units });
const mixRow = z.object({ dimension: z.string(), value: z.string(), model: z.string(), baseline_requests: count, baseline_cost: units, current_requests: count, current_cost: units });
const binRow = z.object({ dimension: z.string(), value: z.string(), direction: z.enum(['input', 'output']), bin: count, baseline: count, current: count, baseline_tokens: count, current_tokens: count, current_cost: units });
const priceRow = z.object({
  model: z.string(),
  hour: count,
  input_sum: count,
  output_sum: count,
  cost_sum: units,
  reported_rows: count,
  reported_sum: units,
  reported_input_sum: count,
  reported_output_sum: count,
  price_versions: z.array(z.string()),
});
const unpricedRow = z.object({ provider: z.string(), model: z.string(), gateway: z.string(), baseline_events: count, baseline_unpriced: count, current_events: count, current_unpriced: count, reasons: z.array(z.string()) });
const usualRow = z.object({ dimension: z.string(), value: z.string(), events_by_hour: z.array(count).length(24), cost_by_hour: z.array(units).length(24) });

/** How busy a gateway or scope value usually is, per UTC hour of the day. */
export interface UsualActivity {
  readonly dimension: string;
  readonly value: string;
  readonly eventsPerMinuteByHour: readonly number[];
  readonly costPerHourUnitsByHour: readonly bigint[];
}

export interface ContributorFigures {
  readonly dimension: string;
  readonly value: string;
  readonly currentCostUnits: bigint;
  readonly baselineCostUnits: bigint;
  readonly currentRequests: number;
  readonly baselineRequests: number;
}

export class DetectionReader {
  readonly #clickhouse: ClickHouse;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  async topValues(dimension: SeriesDimension, from: number, to: number, limit: number): Promise<string[]> {
    const rows = await this.#run('detection_top_values', queries.topValuesQuery(dimension, from, to, limit), z.object({ value: z.string() }));
    return rows.map((row) => row.value);
  }

  async buckets(resolution: Resolution, dimension: SeriesDimension, values: readonly string[], from: number, to: number): Promise<SeriesBucket[]> {
    if (values.length === 0 || from >= to) return [];
    const rows = await this.#run('detection_series', queries.seriesBucketsQuery(resolution, dimension, values, from, to), bucketRow);
    return rows.map((row) => ({
      dimension,
      value: row.value,
      at: row.at,
      requests: row.requests,
      errors: row.errors,
      costUnits: row.cost,
      inputTokens: row.input_tokens,
      outputTokens: row.output_tokens,
      latencyP95: Number.isFinite(row.latency_p95) && row.latency_p95 >= 0 ? row.latency_p95 : null,
    }));
  }

  async contributors(dimension: string, value: string, by: readonly string[], from: number, since: number, to: number): Promise<ContributorFigures[]> {
    const rows = await this.#run('detection_contributors', queries.contributorsQuery(dimension, value, by, from, since, to), contributorRow);
    return rows.map((row) => ({ dimension: row.dimension, value: row.value, currentCostUnits: row.current_cost, baselineCostUnits: row.baseline_cost, currentRequests: row.current_requests, baselineRequests: row.baseline_requests }));
  }

  /** Runs busy in [lastMinute, to), with their minutes over [from, to), and their features' baselines over [baselineFrom, from). */
  async runs(baselineFrom: number, from: number, lastMinute: number, to: number, minCalls: number, minCost: string): Promise<{ runs: RunActivity[]; baselines: Map<string, FeatureRunBaseline> }> {
    const busy = await this.#run('detection_busy_runs', queries.busyRunsQuery(lastMinute, to, minCalls, minCost), z.object({ dimension: z.string(), run: z.string() }));
    if (busy.length === 0) return { runs: [], baselines: new Map() };
    const wanted = new Set(busy.map((row) => `${row.dimension}\u0000${row.run}`));
    const rows = await this.#run('detection_run_minutes', queries.runMinutesQuery([...new Set(busy.map((row) => row.run))], from, to), runRow);
    const runs = new Map<string, { dimension: RunActivity['dimension']; run: string; feature: string; team: string; user: string; minutes: RunActivity['minutes'][number][] }>();
    for (const row of rows) {
      const key = `${row.dimension}\u0000${row.run}`;
      if (!wanted.has(key)) continue;
      let run = runs.get(key);
      if (!run) runs.set(key, (run = { dimension: row.dimension, run: row.run, feature: row.feature, team: row.team, user: row.user, minutes: [] }));
      run.minutes.push({ at: row.at, calls: row.calls, costUnits: row.cost });
    }
    const baselines = await this.featureRunBaselines([...new Set([...runs.values()].map((run) => run.feature))], baselineFrom, from, [...new Set(busy.map((row) => row.run))]);
    return { runs: [...runs.values()], baselines };
  }

  /** How busy the runs of each feature were per run and minute over [from, to). */
  async featureRunBaselines(features: readonly string[], from: number, to: number, excludedRuns: readonly string[] = []): Promise<Map<string, FeatureRunBaseline>> {
    if (features.length === 0) return new Map();
    const rows = await this.#run('detection_run_baselines', queries.featureRunBaselineQuery(features, from, to, excludedRuns), featureBaselineRow);
    return new Map(rows.map((row) => [row.feature, { feature: row.feature, runMinutes: row.run_minutes, callsPerMinuteP99: row.calls_p99, costPerMinuteP99Units: row.cost_p99 }]));
  }

  async modelMix(from: number, since: number, to: number): Promise<ModelMixRow[]> {
    const rows = await this.#run('detection_model_mix', queries.modelMixQuery(from, since, to), mixRow);
    return rows.map((row) => ({ dimension: row.dimension, value: row.value, model: row.model, baselineRequests: row.baseline_requests, baselineCostUnits: row.baseline_cost, currentRequests: row.current_requests, currentCostUnits: row.current_cost }));
  }

  async tokenDistributions(from: number, since: number, to: number): Promise<TokenDistribution[]> {
    const rows = await this.#run('detection_token_bins', queries.tokenBinsQuery(from, since, to), binRow);
    const groups = new Map<string, { dimension: string; value: string; direction: 'input' | 'output'; bins: { bin: number; baseline: number; current: number }[]; baselineTokens: number; currentTokens: number; cost: bigint }>();
    for (const row of rows) {
      const key = `${row.value}\u0000${row.direction}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { dimension: row.dimension, value: row.value, direction: row.direction, bins: [], baselineTokens: 0, currentTokens: 0, cost: 0n }));
      group.bins.push({ bin: row.bin, baseline: row.baseline, current: row.current });
      group.baselineTokens += row.baseline_tokens;
      group.currentTokens += row.current_tokens;
      group.cost += row.current_cost;
    }
    return [...groups.values()].map((group) => {
      const baseline = group.bins.reduce((sum, bin) => sum + bin.baseline, 0);
      const current = group.bins.reduce((sum, bin) => sum + bin.current, 0);
      return {
        dimension: group.dimension,
        value: group.value,
        direction: group.direction,
        bins: group.bins,
        baselineMeanTokens: baseline > 0 ? group.baselineTokens / baseline : 0,
        currentMeanTokens: current > 0 ? group.currentTokens / current : 0,
        currentRequests: current,
        currentCostUnits: group.cost,
      };
    });
  }

  async modelPriceHours(from: number, to: number): Promise<ModelPriceHour[]> {
    const rows = await this.#run('detection_model_prices', queries.modelPriceHoursQuery(from, to), priceRow);
    return rows.map((row) => ({
      model: row.model,
      hour: row.hour,
      inputTokens: row.input_sum,
      outputTokens: row.output_sum,
      costUnits: row.cost_sum,
      reportedCostUnits: row.reported_rows > 0 ? row.reported_sum : null,
      reportedInputTokens: row.reported_input_sum,
      reportedOutputTokens: row.reported_output_sum,
      priceVersions: row.price_versions,
    }));
  }

  async unpriced(from: number, since: number, to: number): Promise<UnpricedRow[]> {
    const rows = await this.#run('detection_unpriced', queries.unpricedQuery(from, since, to), unpricedRow);
    return rows.map((row) => ({ provider: row.provider, model: row.model, gateway: row.gateway, baselineEvents: row.baseline_events, baselineUnpriced: row.baseline_unpriced, currentEvents: row.current_events, currentUnpriced: row.current_unpriced, reasons: row.reasons }));
  }

  /** When each gateway and busy-scope value was last heard from within [from, to), by "dimension\u0000value". */
  async lastSeen(dimensions: readonly SeriesDimension[], from: number, to: number): Promise<Map<string, number>> {
    const rows = await this.#run('detection_last_seen', queries.lastSeenQuery(dimensions, from, to), z.object({ dimension: z.string(), value: z.string(), last_seen: count }));
    return new Map(rows.map((row) => [`${row.dimension}\u0000${row.value}`, row.last_seen]));
  }

  /** The usual rhythm of each gateway and busy-scope value over the `days` whole days before `dayStart`: events per minute and spend per hour, per UTC hour of the day. */
  async usualActivity(dimensions: readonly SeriesDimension[], days: number, dayStart: number): Promise<UsualActivity[]> {
    const rows = await this.#run('detection_usual_activity', queries.usualActivityQuery(dimensions, dayStart - days * 86_400_000, dayStart), usualRow);
    return rows.map((row) => ({
      dimension: row.dimension,
      value: row.value,
      eventsPerMinuteByHour: row.events_by_hour.map((events) => events / (days * 60)),
      costPerHourUnitsByHour: row.cost_by_hour.map((cost) => cost / BigInt(days)),
    }));
  }

  #run<S extends z.ZodType>(name: string, built: queries.BuiltQuery, schema: S): Promise<z.output<S>[]> {
    return this.#clickhouse.query({ name, sql: built.sql, params: built.params, schema });
  }
}
