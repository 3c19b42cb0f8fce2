import { describe, expect, it } from 'vitest';
import { scopeWithin } from '../../../services/alerts/alert-scope.ts';
import { silenceActive, silenceCovers, silencedBy, type Silence } from '../../../services/alerts/silence-store.ts';
import { detectorAlert } from '../../support/detector-alerts.ts';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 24, 10);
const silence = (overrides: Partial<Silence> = {}): Silence => ({
  silence_id: 's-1',
  scope: { team: 'search' },
  kinds: [],
  starts_at: NOW - HOUR,
  ends_at: NOW + HOUR,
  reason: 'load test',
  created_by: 'ops (token abc)',
  created_at: NOW - HOUR,
  cancelled_at: null,
  cancelled_by: '',
  ...overrides,
});

describe('silencedBy', () => {
  const alert = detectorAlert({ kind: 'runaway', scope: { team: 'search,ads', environment: 'prod', 'tag:env': 'load' } });

  it.each([
    ['its scope value', { scope: { team: 'search,ads' } }, true],
    ['one of its comma-separated values', { scope: { team: 'ads' } }, true],
    ['every dimension given', { scope: { team: 'search', environment: 'prod', 'tag:env': 'load' } }, true],
    ['another value', { scope: { team: 'billing' } }, false],
    ['a part of a value', { scope: { team: 'sea' } }, false],
    ['a dimension the alert lacks', { scope: { team: 'search', feature: 'answers' } }, false],
    ['one dimension of two wrong', { scope: { team: 'search', environment: 'staging' } }, false],
    ['its kind', { kinds: ['anomaly', 'runaway'] }, true],
    ['other kinds only', { kinds: ['budget', 'anomaly'] }, false],
  ])('matches %s: %s', (_what, overrides, matches) => {
    expect(silencedBy(alert, [silence(overrides)], NOW)?.silence_id ?? null).toBe(matches ? 's-1' : null);
  });

  it('holds from starts_at until just before ends_at, unless lifted', () => {
    expect(silencedBy(alert, [silence({ starts_at: NOW })], NOW)).not.toBeNull();
    expect(silencedBy(alert, [silence({ starts_at: NOW + 1 })], NOW)).toBeNull();
    expect(silencedBy(alert, [silence({ ends_at: NOW + 1 })], NOW)).not.toBeNull();
    expect(silencedBy(alert, [silence({ ends_at: NOW })], NOW)).toBeNull();
    expect(silencedBy(alert, [silence({ cancelled_at: NOW - 1, cancelled_by: 'ops' })], NOW)).toBeNull();
    expect(silenceActive(silence({ cancelled_at: NOW - 1 }), NOW)).toBe(false);
    expect(silenceCovers(silence({ ends_at: NOW - 1 }), alert)).toBe(true);
  });

  it('names the silence ending last when several hold', () => {
    const found = silencedBy(alert, [silence({ silence_id: 'short' }), silence({ silence_id: 'long', ends_at: NOW + 5 * HOUR }), silence({ silence_id: 'other', scope: { team: 'billing' }, ends_at: NOW + 9 * HOUR })], NOW);
    expect(found?.silence_id).toBe('long');
    expect(silencedBy(alert, [], NOW)).toBeNull();
  });
});

describe('scopeWithin', () => {
  it("keeps a scoped reader to alerts whose teams and tenants are all the reader's", () => {
    expect(scopeWithin({ team: 'search' }, null)).toBe(true);
    expect(scopeWithin({ model: 'gpt-4o' }, {})).toBe(true);
    expect(scopeWithin({ team: 'search' }, { teams: ['search', 'ads'] })).toBe(true);
    expect(scopeWithin({ team: 'search,billing' }, { teams: ['search', 'ads'] })).toBe(false);
    expect(scopeWithin({ model: 'gpt-4o' }, { teams: ['search'] })).toBe(false);
    expect(scopeWithin({ team: 'search', tenant_id: 't-2' }, { teams: ['search'], tenants: ['t-1'] })).toBe(false);
  });
});
