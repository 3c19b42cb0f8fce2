/** Percentiles of measured latencies, in microseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Exact nearest-rank percentiles of the first `count` values (µs), rounded
 * to 0.1 µs. Sorts those values in place.
 */
export function summarize(values: Float64Array, count: number): LatencySummary {
  if (count === 0) return { count: 0, p50: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = values.subarray(0, count).sort();
  const at = (quantile: number) => round(sorted[Math.min(count, Math.max(1, Math.ceil(quantile * count))) - 1]!);
  let sum = 0;
  for (const value of sorted) sum += value;
  return { count, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: round(sorted[count - 1]!), mean: round(sum / count) };
}

const round = (micros: number) => Math.round(micros * 10) / 10;
