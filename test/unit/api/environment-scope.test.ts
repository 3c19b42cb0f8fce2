import { validate } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { environmentParameter, scopeCondition, type EnvironmentScope } from '../../../services/api/environment-scope.ts';

const builtIn = AttributionPolicy.builtIn;

describe('environmentParameter', () => {
  it.each<[string | undefined, EnvironmentScope]>([
    [undefined, { kind: 'default' }],
    ['', { kind: 'default' }],
    [' , ,', { kind: 'default' }],
    ['all', { kind: 'all' }],
    [' all ', { kind: 'all' }],
    ['ALL', { kind: 'all' }],
    ['prod', { kind: 'only', environments: ['prod'] }],
    ['prod,dev', { kind: 'only', environments: ['prod', 'dev'] }],
    [' prod , dev ,', { kind: 'only', environments: ['prod', 'dev'] }],
    ['Production,staging', { kind: 'only', environments: ['Production', 'staging'] }],
  ])('parses %j', (text, scope) => {
    expect(validate(environmentParameter, text)).toEqual({ ok: true, value: scope });
  });

  it.each(['all,prod', 'prod,all', 'all,all', 'dev, all', 'ALL,dev'])('rejects %j: "all" must stand alone', (text) => {
    expect(validate(environmentParameter, text, ['environment'])).toEqual({
      ok: false,
      issues: [{ path: 'environment', message: 'must be "all" alone, or a list of environments' }],
    });
  });

  it('rejects a value that is not a string', () => {
    expect(validate(environmentParameter, ['prod', 'dev'], ['environment'])).toEqual({ ok: false, issues: [{ path: 'environment', message: 'must be a string, got array' }] });
  });
});

describe('scopeCondition', () => {
  it('default: leaves out the policy\'s non-production environments, bound as a parameter', () => {
    expect(scopeCondition({ kind: 'default' }, builtIn)).toEqual({
      sql: 'environment NOT IN {scope_excluded:Array(String)}',
      params: { scope_excluded: ['dev', 'staging', 'test'] },
      description: { scope: 'default', excluded: ['dev', 'staging', 'test'] },
    });
  });

  it('default: takes the list from the policy, normalized and without repeats', () => {
    const policy = AttributionPolicy.fromText(JSON.stringify({ non_production_environments: ['Sandbox', 'QA', 'ci', 'development'] }));
    expect(scopeCondition({ kind: 'default' }, policy)).toEqual({
      sql: 'environment NOT IN {scope_excluded:Array(String)}',
      params: { scope_excluded: ['sandbox', 'test', 'dev'] },
      description: { scope: 'default', excluded: ['sandbox', 'test', 'dev'] },
    });
  });

  it('default: with no non-production environments, covers everything', () => {
    const policy = AttributionPolicy.fromText('{"non_production_environments": []}');
    expect(scopeCondition({ kind: 'default' }, policy)).toEqual({ sql: '1', params: {}, description: { scope: 'default', excluded: [] } });
  });

  it('only: normalizes as the policy stores them (Production finds prod) and drops repeats', () => {
    const scope = validate(environmentParameter, 'Production,prd, prod ,dev,Local,eu-West');
    if (!scope.ok) throw new Error('expected a scope');
    expect(scopeCondition(scope.value, builtIn)).toEqual({
      sql: 'environment IN {scope_environments:Array(String)}',
      params: { scope_environments: ['prod', 'dev', 'eu-west'] },
      description: { scope: 'only', included: ['prod', 'dev', 'eu-west'] },
    });
  });

  it('only: never writes an environment into the SQL', () => {
    const built = scopeCondition({ kind: 'only', environments: ["prod') OR 1=1 --"] }, builtIn);
    expect(built.sql).toBe('environment IN {scope_environments:Array(String)}');
    expect(built.params).toEqual({ scope_environments: ["prod') or 1=1 --"] });
  });

  it('all: no condition at all', () => {
    expect(scopeCondition({ kind: 'all' }, builtIn)).toEqual({ sql: '1', params: {}, description: { scope: 'all' } });
  });
});
