/**
 * What each named detector reads: aggregates the detection service queries
 * from ClickHouse (services/detection/detection-queries.ts) and the incident
 * benchmark builds from synthetic traffic. Money is exact: scaled units of
 * 10⁻¹² USD (services/money/decimal.ts). Times are epoch ms.
 */

/** The window a detector judges, [start, end), and the baseline it compares with, [start, end). */
export interface DetectionWindow {
  readonly start: number;
  readonly end: number;
  readonly baselineStart: number;
  readonly baselineEnd: number;
}

/** Runaway loop: one agent run (or session) minute by minute over the last hour, oldest first; minutes without calls are absent. */
export interface RunActivity {
  readonly dimension: 'agent_run_id' | 'session_id';
  readonly run: string;
  readonly feature: string;
  readonly team: string;
  readonly user: string;
  readonly minutes: readonly { readonly at: number; readonly calls: number; readonly costUnits: bigint }[];
}

/** Runaway loop: how busy the runs of a feature usually are, per run and minute, over the baseline (a day). */
export interface FeatureRunBaseline {
  readonly feature: string;
  /** Run-minutes seen in the baseline (how much the quantiles can be trusted). */
  readonly runMinutes: number;
  readonly callsPerMinuteP99: number;
  readonly costPerMinuteP99Units: bigint;
}

/** Model-mix drift: one model within one scope value (a feature), baseline and window. */
export interface ModelMixRow {
  readonly dimension: string;
  readonly value: string;
  readonly model: string;
  readonly baselineRequests: number;
  readonly baselineCostUnits: bigint;
  readonly currentRequests: number;
  readonly currentCostUnits: bigint;
}

/** Token drift: the tokens-per-request distribution of one scope value, in log₂ bins (bin b holds 2^b − 1 ≤ tokens < 2^(b+1) − 1). */
export interface TokenDistribution {
  readonly dimension: string;
  readonly value: string;
  readonly direction: 'input' | 'output';
  /** Requests per bin, baseline and window; bins absent from both are absent. */
  readonly bins: readonly { readonly bin: number; readonly baseline: number; readonly current: number }[];
  readonly baselineMeanTokens: number;
  readonly currentMeanTokens: number;
  readonly currentRequests: number;
  readonly currentCostUnits: bigint;
}

/** Price drift: one model's usage in one hour of the baseline or the window. */
export interface ModelPriceHour {
  readonly model: string;
  readonly hour: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUnits: bigint;
  /** What the gateway reported it cost, over the events that reported it; null when none did. */
  readonly reportedCostUnits: bigint | null;
  /** Tokens of the events that reported a cost (the denominator of reportedCostUnits). */
  readonly reportedInputTokens: number;
  readonly reportedOutputTokens: number;
  /** Price tables that priced these events. */
  readonly priceVersions: readonly string[];
}

/** Unpriced usage: one model of one provider, seen through one gateway. */
export interface UnpricedRow {
  readonly provider: string;
  readonly model: string;
  readonly gateway: string;
  readonly baselineEvents: number;
  readonly baselineUnpriced: number;
  readonly currentEvents: number;
  readonly currentUnpriced: number;
  /** Why they were unpriced (distinct reasons in the window). */
  readonly reasons: readonly string[];
}

/** Silence: a gateway or a busy scope value, when it was last heard from and how busy it usually is at this hour. */
export interface ActivityRow {
  readonly dimension: string;
  readonly value: string;
  readonly lastSeen: number;
  /** Events per minute it usually sends in each hour of the day (index: UTC hour; mean over the baseline days). */
  readonly usualEventsPerMinuteByHour: readonly number[];
  /** Its usual spend per hour at this hour of the day. */
  readonly usualCostPerHourUnits: bigint;
}
