/**
 * Deterministic traffic for the named detectors' tests: a seeded generator
 * (mulberry32) so every run sees the same "noise", and a diurnal shape so
 * clean traffic rises and falls through the day like real traffic does.
 */

export { seededRandom } from '../../../support/seeded-random.ts';

/** Traffic level by UTC hour of day: 0.2 at 04:00, 1 at 16:00. */
export function diurnal(hourOfDay: number): number {
  return 0.6 - 0.4 * Math.cos((2 * Math.PI * (hourOfDay - 4)) / 24);
}

/** A Poisson count with mean `mean` (Knuth's method below 30, a rounded normal above). */
export function poisson(random: () => number, mean: number): number {
  if (mean >= 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let count = 0;
  for (let product = random(); product > limit; product *= random()) count += 1;
  return count;
}

/** A standard normal draw (Box–Muller). */
export function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
