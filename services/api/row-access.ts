import type { DataScope } from '../config/config.ts';
import type { ScopeCondition } from './environment-scope.ts';

/**
 * The rows a caller may see, as SQL: a team- or tenant-scoped reader token
 * sees only its owners' rows, in every report, export and event lookup. The
 * condition is added to the report's scope, so no query builder can leave it out.
 */
export function accessCondition(scope: DataScope | null): { readonly sql: string; readonly params: Record<string, unknown> } {
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};
  if (scope?.teams) {
    conditions.push('team IN {access_teams:Array(String)}');
    params['access_teams'] = scope.teams;
  }
  if (scope?.tenants) {
    conditions.push('tenant_id IN {access_tenants:Array(String)}');
    params['access_tenants'] = scope.tenants;
  }
  return { sql: conditions.length > 0 ? conditions.join(' AND ') : '1', params };
}

/** A report's environment scope narrowed to what the caller may see. */
export function withAccess(scope: ScopeCondition, access: DataScope | null): ScopeCondition {
  const condition = accessCondition(access);
  if (condition.sql === '1') return scope;
  return { sql: scope.sql === '1' ? condition.sql : `${scope.sql} AND ${condition.sql}`, params: { ...scope.params, ...condition.params }, description: scope.description };
}
