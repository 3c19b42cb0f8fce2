import { z } from 'zod';

/**
 * zod pieces the gateway payload schemas share. The payloads are loose objects
 * (gateways add fields with every release; what Spendline does not read is
 * ignored), but each field Spendline reads is checked for exactly what it uses.
 */

/** A token count as the gateways write it; null or absent means "not reported". */
export const tokenCount = z.number().int('must be a whole number').nonnegative('must not be negative').max(Number.MAX_SAFE_INTEGER).nullish();

/** A text field; null or absent means "not set". */
export const optionalText = z.string().nullish();

/** Seconds or milliseconds of wall time, as a JSON number. */
export const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');

/** A non-empty text or nothing: gateways write "" for unknown values as often as null. */
export function present(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The first count that is reported (null and absent are not), else undefined. */
export function firstCount(...counts: (number | null | undefined)[]): number | undefined {
  for (const count of counts) if (typeof count === 'number') return count;
  return undefined;
}
