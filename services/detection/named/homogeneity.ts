/**
 * Whether a window's counts (requests per model, per token bin) differ from
 * the baseline's by more than sampling noise: the G-test of homogeneity,
 * G = 2 Σ O ln(O / E) over the 2 × k table of counts, E from its margins,
 * which is about χ²(k − 1) when nothing changed. Empty cells add nothing, so a
 * bucket that happens to be empty in a small window is no evidence of a
 * change — unlike the PSI, whose epsilon share turns it into a large score.
 * The drift detectors ask for both: a PSI above its line (the shift is large)
 * and a significant G (the shift is not chance).
 */

/** Normal quantile of the chance a change must be beyond: 3.09 is one in a thousand scopes and windows where nothing changed. */
export const SIGNIFICANCE_Z = 3.09;

/** G and its degrees of freedom (buckets with any count, less one) for two samples of counts over the same buckets. */
export function homogeneityG(baseline: readonly number[], current: readonly number[]): { readonly g: number; readonly df: number } {
  if (baseline.length !== current.length) throw new RangeError(`the G-test needs the same buckets on both sides, got ${baseline.length} and ${current.length}`);
  const baseTotal = baseline.reduce((sum, count) => sum + count, 0);
  const curTotal = current.reduce((sum, count) => sum + count, 0);
  const total = baseTotal + curTotal;
  if (!(baseTotal > 0) || !(curTotal > 0)) return { g: 0, df: 0 };
  let g = 0;
  let buckets = 0;
  for (let j = 0; j < baseline.length; j += 1) {
    const base = baseline[j]!;
    const cur = current[j]!;
    if (base + cur <= 0) continue;
    buckets += 1;
    if (base > 0) g += base * Math.log((base * total) / ((base + cur) * baseTotal));
    if (cur > 0) g += cur * Math.log((cur * total) / ((base + cur) * curTotal));
  }
  return { g: 2 * g, df: buckets - 1 };
}

/** The χ²(df) quantile at normal quantile z, by the Wilson–Hilferty approximation (high by 3% at df = 1, 2.3% at df = 2 and about 1% from df = 5: a slightly stricter test). */
export function chiSquareQuantile(df: number, z: number): number {
  if (df < 1) return Infinity;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Whether the current counts differ from the baseline's beyond chance at normal quantile z. */
export function significantChange(baseline: readonly number[], current: readonly number[], z: number = SIGNIFICANCE_Z): boolean {
  const { g, df } = homogeneityG(baseline, current);
  return g > chiSquareQuantile(df, z);
}
