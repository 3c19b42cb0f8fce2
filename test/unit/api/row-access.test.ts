import { describe, expect, it } from 'vitest';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';
import { accessCondition, withAccess } from '../../../services/api/row-access.ts';

const DEFAULT_SCOPE: ScopeCondition = { sql: 'environment NOT IN {scope_excluded:Array(String)}', params: { scope_excluded: ['dev'] }, description: { scope: 'default', excluded: ['dev'] } };

describe('row access', () => {
  it('restricts nothing for an unscoped token', () => {
    expect(accessCondition(null)).toEqual({ sql: '1', params: {} });
    expect(withAccess(DEFAULT_SCOPE, null)).toBe(DEFAULT_SCOPE);
  });

  it.each([
    [{ teams: ['search'] }, 'team IN {access_teams:Array(String)}', { access_teams: ['search'] }],
    [{ tenants: ['acme', 'globex'] }, 'tenant_id IN {access_tenants:Array(String)}', { access_tenants: ['acme', 'globex'] }],
    [{ teams: ['search'], tenants: ['acme'] }, 'team IN {access_teams:Array(String)} AND tenant_id IN {access_tenants:Array(String)}', { access_teams: ['search'], access_tenants: ['acme'] }],
  ])('binds %j as parameters, never as SQL text', (scope, sql, params) => {
    expect(accessCondition(scope)).toEqual({ sql, params });
  });

  it('adds the restriction to a report scope, keeping its description', () => {
    expect(withAccess(DEFAULT_SCOPE, { teams: ['search'] })).toEqual({
      sql: 'environment NOT IN {scope_excluded:Array(String)} AND team IN {access_teams:Array(String)}',
      params: { scope_excluded: ['dev'], access_teams: ['search'] },
      description: DEFAULT_SCOPE.description,
    });
    expect(withAccess({ sql: '1', params: {}, description: { scope: 'all' } }, { tenants: ['acme'] }).sql).toBe('tenant_id IN {access_tenants:Array(String)}');
  });
});
