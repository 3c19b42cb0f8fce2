import { z } from 'zod';

/** An RFC 3339 timestamp with its zone, as request parameters take it, read as epoch milliseconds. */
export const rfc3339Timestamp = z.iso
  .datetime({ offset: true, message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-01T00:00:00Z' })
  .transform((text) => Date.parse(text));

/**
 * For a refine on a [from, to) range: true when `to` is after `from`, and also
 * when either failed its own check (zod still runs the refine; that field's
 * error is the one to report).
 */
export function rangeIsOrdered(range: { from: unknown; to: unknown }): boolean {
  return typeof range.from !== 'number' || typeof range.to !== 'number' || range.from < range.to;
}
