import type { AlertContributor } from '../../alerts/alert-event.ts';
import { formatDecimal } from '../../money/decimal.ts';
import { moneyEstimate, type Finding } from '../finding.ts';
import { decimalText, percentText, usdEstimateText } from './figure-text.ts';
import type { DetectionWindow, ModelPriceHour } from './inputs.ts';
import { perHourEstimate, usdOf } from './per-hour.ts';
import { MIN_CONDITIONING, expectedCost, fitTokenRates, type TokenRates } from './token-rates.ts';

/**
 * Price drift: a model costs more (or less) per token than its baseline
 * rates say, with the same price tables in force — so no catalog change
 * explains it (a cost rule misapplied, a tier or discount lost). The same test
 * on the cost the gateway reports catches a provider price change Spendline's
 * catalog has not caught up with.
 *
 * Expected cost = a·input + b·output tokens of the window, the rates fitted
 * over the baseline hours priced with the same price tables as the window
 * (token-rates.ts); drift = actual / expected − 1. A price version is a hash
 * of the whole catalog, so any catalog update starts a new one: the fit keeps
 * only the baseline hours whose set of versions equals the window's, and the
 * model is judged once `minBaselineHours` of them have passed since the
 * update. A window priced with tables no baseline hour used has no such hours:
 * the change is explained by the catalog and neither metric fires.
 */
export interface PriceDriftOptions {
  /** |drift| from which it fires, a fraction (0.2: 20% off the baseline rates either way). */
  readonly threshold: number;
  /** Tokens (input + output) in the window needed to judge; fewer and cache hits or rounding swing the rate. */
  readonly minTokens: number;
  /** Baseline hours with tokens, priced with the window's price tables, needed to fit rates. */
  readonly minBaselineHours: number;
  /** See token-rates.ts MIN_CONDITIONING. */
  readonly minConditioning: number;
}

export const PRICE_DRIFT_DEFAULTS: PriceDriftOptions = { threshold: 0.2, minTokens: 100_000, minBaselineHours: 6, minConditioning: MIN_CONDITIONING };

/** One hour's tokens and their cost as the metric reads them. */
interface Hour {
  readonly hour: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly units: bigint;
}

const PER_MILLION = 1e6;
const HOUR_MS = 3_600_000;

/** Models whose cost per token drifted from their baseline rates. Scores are the drift, actual / expected − 1 (signed). */
export function detectPriceDrift(
  baseline: readonly ModelPriceHour[],
  current: readonly ModelPriceHour[],
  window: DetectionWindow,
  options: PriceDriftOptions = PRICE_DRIFT_DEFAULTS,
): Finding[] {
  const findings: Finding[] = [];
  const models = [...new Set(current.map((row) => row.model))];
  for (const model of models) {
    const cur = current.filter((row) => row.model === model).sort((a, b) => a.hour - b.hour);
    const versions = versionSet(cur);
    // Only hours priced exactly as the window was say what its tokens should cost; judge() counts them.
    const base = baseline.filter((row) => row.model === model && versionSet([row]) === versions);
    const spent = cur.reduce((sum, row) => sum + row.costUnits, 0n);
    const catalog = (row: ModelPriceHour): Hour => ({ hour: row.hour, inputTokens: row.inputTokens, outputTokens: row.outputTokens, units: row.costUnits });
    const reported = (row: ModelPriceHour): Hour[] =>
      row.reportedCostUnits === null ? [] : [{ hour: row.hour, inputTokens: row.reportedInputTokens, outputTokens: row.reportedOutputTokens, units: row.reportedCostUnits }];
    const subject = { model, versions, spent, window, options };
    const byCatalog = judge(subject, 'cost_per_token', base.map(catalog), cur.map(catalog));
    const byGateway = judge(subject, 'reported_cost_per_token', base.flatMap(reported), cur.flatMap(reported));
    for (const found of [byCatalog, byGateway]) if (found) findings.push(found);
  }
  return findings;
}

interface Subject {
  readonly model: string;
  readonly versions: string;
  readonly spent: bigint;
  readonly window: DetectionWindow;
  readonly options: PriceDriftOptions;
}

function judge({ model, versions, spent, window, options }: Subject, metric: 'cost_per_token' | 'reported_cost_per_token', base: readonly Hour[], cur: readonly Hour[]): Finding | null {
  const baseHours = base.filter((hour) => hour.inputTokens + hour.outputTokens > 0);
  const input = cur.reduce((sum, hour) => sum + hour.inputTokens, 0);
  const output = cur.reduce((sum, hour) => sum + hour.outputTokens, 0);
  if (new Set(baseHours.map((hour) => hour.hour)).size < options.minBaselineHours || input + output < options.minTokens) return null;
  const rates = fitTokenRates(baseHours.map(usage), options.minConditioning);
  if (rates === null) return null;
  const expected = expectedCost(rates, input, output);
  const actualUnits = cur.reduce((sum, hour) => sum + hour.units, 0n);
  const actual = usdOf(actualUnits);
  if (!(expected > 0)) return null;
  const drift = actual / expected - 1;
  if (Math.abs(drift) < options.threshold) return null;

  const perToken = (usd: number) => (usd / (input + output)) * PER_MILLION;
  const now = fitTokenRates(cur.map(usage), options.minConditioning);
  const contributors: AlertContributor[] = rates.split && now?.split ? rateContributors(model, rates, now) : [{ dimension: 'model', value: model, observed: formatDecimal(actualUnits), expected: moneyEstimate(expected) }];
  const source = metric === 'cost_per_token' ? 'cost per token' : 'cost per token reported by the gateway';
  return {
    kind: 'price_drift',
    metric,
    scope: { model },
    windowStart: window.start,
    windowEnd: window.end,
    since: since(cur, rates, drift, options.threshold) ?? window.start,
    unit: 'USD/1M tokens',
    observed: perToken(actual),
    expected: perToken(expected),
    low: perToken(expected) * (1 - options.threshold),
    high: perToken(expected) * (1 + options.threshold),
    score: drift,
    atStakePerHour: perHourEstimate(actual - expected, window.end - window.start),
    spent: formatDecimal(spent),
    contributors,
    headline:
      `${model} ${source} ${drift > 0 ? 'rose' : 'fell'} ${percentText(Math.abs(drift))} against its baseline rates (${ratesText(rates)}): ` +
      `${usdEstimateText(actual)} vs ${usdEstimateText(expected)} expected, price tables unchanged (${versions || 'none'})`,
  };
}

/** Input and output rates now against the baseline's, USD per 1M tokens, the one that moved most first. */
function rateContributors(model: string, baseline: TokenRates, now: TokenRates): AlertContributor[] {
  const moved = (was: number, is: number) => (was > 0 ? Math.abs(is / was - 1) : is > 0 ? Infinity : 0);
  return [
    { dimension: 'input_usd_per_1m_tokens', was: baseline.input, is: now.input },
    { dimension: 'output_usd_per_1m_tokens', was: baseline.output, is: now.output },
  ]
    .sort((a, b) => moved(b.was, b.is) - moved(a.was, a.is))
    .map(({ dimension, was, is }) => ({ dimension, value: model, observed: decimalText(is * PER_MILLION, 6), expected: decimalText(was * PER_MILLION, 6) }));
}

function usage(hour: Hour) {
  return { inputTokens: hour.inputTokens, outputTokens: hour.outputTokens, usd: usdOf(hour.units) };
}

/** Start of the latest unbroken run of window hours each drifted past the threshold the same way as the window. */
function since(hours: readonly Hour[], rates: TokenRates, drift: number, threshold: number): number | null {
  let start: number | null = null;
  for (let i = hours.length - 1; i >= 0; i -= 1) {
    const hour = hours[i]!;
    const expected = expectedCost(rates, hour.inputTokens, hour.outputTokens);
    const own = expected > 0 ? usdOf(hour.units) / expected - 1 : 0;
    const unbroken = i === hours.length - 1 || hours[i + 1]!.hour - hour.hour === HOUR_MS;
    if (!unbroken || Math.sign(own) !== Math.sign(drift) || Math.abs(own) < threshold) break;
    start = hour.hour;
  }
  return start;
}

function versionSet(rows: readonly ModelPriceHour[]): string {
  return [...new Set(rows.flatMap((row) => row.priceVersions))].sort().join(',');
}

function ratesText(rates: TokenRates): string {
  const perMillion = (rate: number) => usdEstimateText(rate * PER_MILLION);
  return rates.split ? `${perMillion(rates.input)} in, ${perMillion(rates.output)} out per 1M tokens` : `${perMillion(rates.input)} per 1M tokens`;
}
