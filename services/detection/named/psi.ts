/**
 * Population stability index: how far a distribution (model shares of spend,
 * tokens-per-request bins) has moved from its baseline,
 * PSI = Σ (current − baseline) × ln(current / baseline) over the buckets.
 * The usual reading: below 0.1 stable, 0.1–0.2 a moderate shift, above 0.2 a
 * significant one. It is symmetric in the two sides and grows with both the
 * size of a move and how rare the bucket was. It measures how large a shift
 * is, not whether it is chance: small samples need homogeneity.ts as well.
 */

/** Share that stands in for an empty bucket, so ln stays finite; small enough that a bucket appearing from nothing still scores high. */
export const PSI_EPSILON = 1e-4;

/** PSI above which a shift is significant (the industry rule of thumb). */
export const PSI_SIGNIFICANT = 0.2;

/**
 * Each bucket's share of the total, empty buckets set to `epsilon` and all
 * re-normalised to sum to 1. With no total at all every bucket gets an equal
 * share (nothing is known; callers guard against judging empty sides).
 */
export function smoothedShares(counts: readonly number[], epsilon: number = PSI_EPSILON): number[] {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (!(total > 0)) return counts.map(() => 1 / counts.length);
  const raw = counts.map((count) => (count > 0 ? count / total : epsilon));
  const norm = raw.reduce((sum, share) => sum + share, 0);
  return raw.map((share) => share / norm);
}

/** PSI between two distributions over the same buckets, given as counts (or amounts) per bucket in the same order. */
export function populationStabilityIndex(baseline: readonly number[], current: readonly number[], epsilon: number = PSI_EPSILON): number {
  if (baseline.length !== current.length) throw new RangeError(`PSI needs the same buckets on both sides, got ${baseline.length} and ${current.length}`);
  const base = smoothedShares(baseline, epsilon);
  const cur = smoothedShares(current, epsilon);
  let psi = 0;
  for (let i = 0; i < base.length; i += 1) psi += (cur[i]! - base[i]!) * Math.log(cur[i]! / base[i]!);
  return psi;
}

