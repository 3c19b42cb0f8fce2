import { z } from 'zod';

/** An RFC 3339 timestamp with its zone, as request parameters take it, read as epoch milliseconds. */
export const rfc3339Timestamp = z.iso
  .datetime({ offset: true, message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-01T00:00:00Z' })
  .transform((text) => Date.parse(text));
