/**
 * An alert's scope is dimension → comma-separated values ({ team: 'search' },
 * { team: 'search,ads', environment: 'prod' }). Silences, API filters and
 * row access all ask the same question of it: does it name this value?
 */

/** Dimensions an alert scope may carry; free tags are `tag:<key>`. */
export const ALERT_SCOPE_DIMENSIONS = ['team', 'feature', 'environment', 'tenant_id', 'cost_center', 'model', 'provider', 'user_id', 'api_key_id', 'gateway_id', 'agent_run_id', 'session_id'] as const;

export function isScopeDimension(key: string): boolean {
  return (ALERT_SCOPE_DIMENSIONS as readonly string[]).includes(key) || /^tag:[A-Za-z0-9_.:-]{1,64}$/.test(key);
}

/** The values of one scope entry ('search,ads' → ['search', 'ads']); none when the scope lacks the dimension. */
export function scopeValues(scope: Readonly<Record<string, string>>, dimension: string): string[] {
  const text = scope[dimension];
  if (text === undefined || text === '') return [];
  return text.split(',').map((value) => value.trim());
}

/** True when the scope's entry for the dimension is the value itself or lists it among its comma-separated values. */
export function scopeNames(scope: Readonly<Record<string, string>>, dimension: string, value: string): boolean {
  return scope[dimension] === value || scopeValues(scope, dimension).includes(value);
}

/**
 * True when the scope lies within a scoped reader's teams and tenants: every
 * team (tenant) it names is one of theirs. A scope that does not name a team
 * is outside a team-scoped reader's rows (it may be about other teams).
 */
export function scopeWithin(scope: Readonly<Record<string, string>>, access: { readonly teams?: readonly string[] | undefined; readonly tenants?: readonly string[] | undefined } | null): boolean {
  const within = (dimension: string, allowed: readonly string[] | undefined) => {
    if (!allowed) return true;
    const values = scopeValues(scope, dimension);
    return values.length > 0 && values.every((value) => allowed.includes(value));
  };
  return within('team', access?.teams) && within('tenant_id', access?.tenants);
}
