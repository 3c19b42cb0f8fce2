import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rangeIsOrdered, rfc3339Timestamp } from '../../../services/validation/timestamp.ts';

const range = z.object({ from: rfc3339Timestamp, to: rfc3339Timestamp }).refine(rangeIsOrdered, { path: ['to'], message: 'must be after from' });

describe('a [from, to) range parameter', () => {
  it('reads both ends as epoch milliseconds', () => {
    expect(validate(range, { from: '2026-11-01T00:00:00Z', to: '2026-11-01T01:00:00+01:00' })).toEqual({ ok: false, issues: [{ path: 'to', message: 'must be after from' }] });
    expect(validate(range, { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' })).toEqual({ ok: true, value: { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 10, 2) } });
  });

  it('reports a malformed end once, not also as an unordered range', () => {
    const result = validate(range, { from: 'yesterday', to: '2026-01-01T00:00:00Z' });
    expect(result).toEqual({ ok: false, issues: [{ path: 'from', message: 'must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-01T00:00:00Z' }] });
  });
});
