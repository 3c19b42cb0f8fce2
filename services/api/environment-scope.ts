import { z } from 'zod';
import type { AttributionPolicy } from '../attribution/attribution-policy.ts';

/**
 * Which environments a report covers. By default a report leaves out the
 * policy's non-production environments (dev, staging, test), so
 * experimentation never shows up as production cost; `environment=all` takes
 * everything, and `environment=dev,staging` exactly those. Events with no
 * environment stay in the default scope: unattributed spend is shown, not hidden.
 */
export type EnvironmentScope =
  | { readonly kind: 'default' }
  | { readonly kind: 'all' }
  | { readonly kind: 'only'; readonly environments: readonly string[] };

/** The `environment` query parameter. */
export const environmentParameter = z
  .string()
  .optional()
  .transform((text): EnvironmentScope => {
    const items = (text ?? '').split(',').map((item) => item.trim()).filter(Boolean);
    if (items.length === 0) return { kind: 'default' };
    if (items.length === 1 && items[0]!.toLowerCase() === 'all') return { kind: 'all' };
    return { kind: 'only', environments: items };
  })
  .refine((scope) => scope.kind !== 'only' || !scope.environments.some((env) => env.toLowerCase() === 'all'), 'must be "all" alone, or a list of environments');

export interface ScopeCondition {
  /** A SQL condition on `environment`, with its values as bound parameters. */
  readonly sql: string;
  readonly params: Record<string, unknown>;
  /** What the report says about its scope, so a reader knows what was left out. */
  readonly description: { readonly scope: EnvironmentScope['kind']; readonly included?: readonly string[]; readonly excluded?: readonly string[] };
}

export function scopeCondition(scope: EnvironmentScope, policy: AttributionPolicy): ScopeCondition {
  if (scope.kind === 'all') return { sql: '1', params: {}, description: { scope: 'all' } };
  if (scope.kind === 'only') {
    // Spelt as the policy stores them: environment=production finds prod.
    const environments = [...new Set(scope.environments.map((env) => policy.normalize('environment', env) ?? env))];
    return { sql: 'environment IN {scope_environments:Array(String)}', params: { scope_environments: environments }, description: { scope: 'only', included: environments } };
  }
  const excluded = policy.nonProductionEnvironments;
  if (excluded.length === 0) return { sql: '1', params: {}, description: { scope: 'default', excluded: [] } };
  return { sql: 'environment NOT IN {scope_excluded:Array(String)}', params: { scope_excluded: excluded }, description: { scope: 'default', excluded } };
}
