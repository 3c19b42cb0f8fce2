import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FieldIssue } from '@spendline/emitter/field-issues';
import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { PROJECT_ROOT } from '../../../services/project-paths.ts';

/** The issues of a policy that must not validate. */
function issues(value: unknown): FieldIssue[] {
  const checked = AttributionPolicy.check(value, 'fallback-version');
  if (checked.ok) throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
  return checked.issues;
}

function policy(value: unknown): AttributionPolicy {
  return AttributionPolicy.fromText(JSON.stringify(value));
}

const rule = (overrides: Record<string, unknown> = {}) => ({ id: 'r1', when: { team: 'search' }, set: { feature: 'answers' }, ...overrides });
const requirement = (overrides: Record<string, unknown> = {}) => ({ id: 'q1', dimensions: ['team'], on_missing: 'reject', ...overrides });
const sha12 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

const DEFAULT_RULE_MESSAGE = 'is required: on_missing "default" needs a value for every dimension';

describe('attribution policy file: a valid policy', () => {
  it('parses the shipped example policy and compiles every section of it', () => {
    const text = readFileSync(join(PROJECT_ROOT, 'deploy/attribution-policy.example.json'), 'utf8');
    const parsed = AttributionPolicy.fromText(text);
    expect(parsed.version).toBe('2026-11-23.1');
    expect(parsed.rules.map((compiled) => [compiled.name, compiled.override, compiled.set])).toEqual([
      ['rule:search-features', false, [['team', 'search']]],
      ['rule:search-cost-center', false, [['cost_center', 'cc-1200']]],
      ['rule:legacy-gateway-is-staging', true, [['environment', 'staging']]],
      ['rule:experiment-tag', false, [['tags.experiment', 'reasoning-eval']]],
    ]);
    expect(parsed.requirements.map((compiled) => [compiled.id, compiled.dimensions, compiled.onMissing, compiled.defaults])).toEqual([
      ['prod-owner', ['team', 'feature'], 'reject', {}],
      ['batch-gateway', ['team'], 'default', { team: 'data-platform' }],
      ['everything-else', ['team', 'environment'], 'unattributed', {}],
    ]);
    expect(parsed.nonProductionEnvironments).toEqual(['dev', 'staging', 'test']);
    const key = parsed.apiKey('key_search_prod');
    expect(key?.name).toBe('api_key:key_search_prod');
    expect(key?.override).toBe(true);
    expect(key?.set).toEqual([
      ['team', 'search'],
      ['cost_center', 'cc-1200'],
    ]);
    expect(parsed.apiKey('key_unknown')).toBeNull();
    expect(parsed.apiKey(null)).toBeNull();
    // Its own alias for team came on top of the lower-casing.
    expect(parsed.normalize('team', ' SearchTeam ')).toBe('search');
  });

  it('fills in defaults: rules fill (override false), an absent `when` of a requirement covers every event', () => {
    const parsed = policy({ rules: [rule()], requirements: [requirement()] });
    expect(parsed.rules[0]?.override).toBe(false);
    expect(parsed.source.requirements[0]?.when).toEqual({});
    expect(parsed.requirements[0]?.matches(() => null)).toBe(true);
    expect(parsed.source.non_production_environments).toEqual(['dev', 'staging', 'test']);
    expect(parsed.source.normalize.lowercase).toEqual(['tenant_id', 'cost_center', 'team', 'feature', 'environment']);
  });

  it('stores rule, API key and default values normalized, so they compare like event values', () => {
    const parsed = policy({
      api_keys: { 'Key-A': { team: ' Payments ', user_id: 'Svc-Bot' } },
      rules: [rule({ set: { team: 'Search', environment: 'Production', 'tags.Owner': ' Ops ' } })],
      requirements: [requirement({ on_missing: 'default', defaults: { team: 'Data-Platform' } })],
      non_production_environments: ['Development', 'dev', 'QA', 'sandbox'],
    });
    expect(parsed.apiKey('Key-A')?.set).toEqual([
      ['team', 'payments'],
      ['user_id', 'Svc-Bot'],
    ]);
    expect(parsed.apiKey('key-a')).toBeNull();
    expect(parsed.rules[0]?.set).toEqual([
      ['team', 'search'],
      ['environment', 'prod'],
      ['tags.Owner', 'Ops'],
    ]);
    expect(parsed.requirements[0]?.defaults).toEqual({ team: 'data-platform' });
    expect(parsed.nonProductionEnvironments).toEqual(['dev', 'test', 'sandbox']);
  });

  it('accepts every matcher form, tags.<key> conditions and tags.<key> targets', () => {
    const parsed = policy({
      rules: [
        rule({
          when: {
            provider: 'openai',
            model: { regex: '^gpt-4o' },
            team: { in: ['a', 'b'] },
            feature: { prefix: 'search-' },
            'tags.tier': { equals: 'gold' },
            gateway_id: { absent: true },
            api_key_id: { absent: false },
          },
          set: { 'tags.billing:unit': 'x', tenant_id: 'acme' },
        }),
      ],
    });
    expect(parsed.rules).toHaveLength(1);
  });
});

describe('attribution policy file: every problem is reported with its path', () => {
  it.each<[string, unknown, FieldIssue[]]>([
    ['an unknown top-level key', { version: 'v1', rulez: [] }, [{ path: '', message: 'unknown field: rulez' }]],
    ['an unknown key in a rule', { rules: [rule({ priority: 1 })] }, [{ path: 'rules[0]', message: 'unknown field: priority' }]],
    ['a rule with an empty `when`', { rules: [rule({ when: {} })] }, [{ path: 'rules[0].when', message: 'must test at least one field' }]],
    ['a rule with an empty `set`', { rules: [rule({ set: {} })] }, [{ path: 'rules[0].set', message: 'must set at least one dimension' }]],
    ['a rule setting a blank value', { rules: [rule({ set: { team: '   ' } })] }, [{ path: 'rules[0].set.team', message: 'must not be empty' }]],
    ['a bad rule id', { rules: [rule({ id: 'has space' })] }, [{ path: 'rules[0].id', message: 'must be 1-64 letters, digits, ".", "_" or "-"' }]],
    ['a matcher of no known form', { rules: [rule({ when: { team: { contains: 'x' } } })] }, [{ path: 'rules[0].when.team', message: 'must be a string, or one of {"equals"}, {"in"}, {"prefix"}, {"regex"}, {"absent"}' }]],
    ['a regex over 512 characters', { rules: [rule({ when: { model: { regex: 'a'.repeat(513) } } })] }, [{ path: 'rules[0].when.model.regex', message: 'must be at most 512 characters' }]],
    ['duplicate rule ids', { rules: [rule(), rule({ id: 'r2' }), rule({ when: { team: 'other' } })] }, [{ path: 'rules[2].id', message: 'repeats id r1' }]],
    ['duplicate requirement ids', { requirements: [requirement(), requirement({ dimensions: ['feature'] })] }, [{ path: 'requirements[1].id', message: 'repeats id q1' }]],
    ['on_missing "default" without a default for one dimension', { requirements: [requirement({ dimensions: ['team', 'feature'], on_missing: 'default', defaults: { team: 'x' } })] }, [{ path: 'requirements[0].defaults.feature', message: DEFAULT_RULE_MESSAGE }]],
    [
      'on_missing "default" without any defaults',
      { requirements: [requirement({ dimensions: ['team', 'tags.project'], on_missing: 'default' })] },
      [
        { path: 'requirements[0].defaults.team', message: DEFAULT_RULE_MESSAGE },
        { path: 'requirements[0].defaults.tags.project', message: DEFAULT_RULE_MESSAGE },
      ],
    ],
    ['defaults with on_missing "reject"', { requirements: [requirement({ defaults: { team: 'x' } })] }, [{ path: 'requirements[0].defaults', message: 'is only used when on_missing is "default"' }]],
    ['defaults with on_missing "unattributed"', { requirements: [requirement({ on_missing: 'unattributed', defaults: { team: 'x' } })] }, [{ path: 'requirements[0].defaults', message: 'is only used when on_missing is "default"' }]],
    ['an unknown on_missing', { requirements: [requirement({ on_missing: 'drop' })] }, [{ path: 'requirements[0].on_missing', message: 'must be one of reject, unattributed, default' }]],
    ['a requirement naming no dimension', { requirements: [requirement({ dimensions: [] })] }, [{ path: 'requirements[0].dimensions', message: 'must name at least one dimension' }]],
    ['an API key assigning nothing', { api_keys: { k1: {} } }, [{ path: 'api_keys.k1', message: 'must assign at least one dimension' }]],
    ['a malformed version', { version: 'v 1' }, [{ path: 'version', message: 'must be 1-64 letters, digits or . _ : + -' }]],
    ['rules that are not an array', { rules: 'all' }, [{ path: 'rules', message: 'must be an array, got string' }]],
  ])('rejects %s', (_what, value, expected) => {
    expect(issues(value)).toEqual(expected);
  });

  it('reports an invalid regular expression with the engine\'s reason', () => {
    const found = issues({ rules: [rule({ when: { model: { regex: '(gpt' } } })] });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('rules[0].when.model.regex');
    expect(found[0]?.message).toMatch(/^is not a valid regular expression: /);
    expect(found[0]?.message).toContain('/(gpt/');
  });

  it('compiles regular expressions with the u flag, so a pattern only valid without it is rejected', () => {
    // \- outside a class is a syntax error under /u.
    expect(issues({ rules: [rule({ when: { model: { regex: 'gpt\\-4' } } })] })[0]?.message).toMatch(/^is not a valid regular expression/);
  });

  // Field references are record keys: the path names the offending key.
  it.each<[string, unknown, string]>([
    ['a rule setting api_key_id (evidence, never rewritten)', { rules: [rule({ set: { api_key_id: 'k' } })] }, 'rules[0].set.api_key_id'],
    ['an API key mapping assigning api_key_id', { api_keys: { k1: { api_key_id: 'k2' } } }, 'api_keys.k1.api_key_id'],
    ['a rule setting a non-dimension field', { rules: [rule({ set: { model: 'gpt-4o' } })] }, 'rules[0].set.model'],
    ['a condition on tags.1bad', { rules: [rule({ when: { 'tags.1bad': 'x' } })] }, 'rules[0].when.tags.1bad'],
    ['a condition on a field that does not exist', { rules: [rule({ when: { nonsense: 'x' } })] }, 'rules[0].when.nonsense'],
    ['a condition on tags. with no key', { rules: [rule({ when: { 'tags.': 'x' } })] }, 'rules[0].when.tags.'],
    ['a condition on a tag key over 64 characters', { rules: [rule({ when: { [`tags.${'k'.repeat(65)}`]: 'x' } })] }, `rules[0].when.tags.${'k'.repeat(65)}`],
    ['a requirement on a non-dimension', { requirements: [requirement({ dimensions: ['team', 'model'] })] }, 'requirements[0].dimensions[1]'],
    ['lower-casing a non-dimension', { normalize: { lowercase: ['provider'] } }, 'normalize.lowercase[0]'],
  ])('rejects %s at its path', (_what, value, path) => {
    expect(issues(value).map((issue) => issue.path)).toEqual([path]);
  });

  it('accepts a tag key of exactly 64 characters as a reference', () => {
    expect(AttributionPolicy.check({ rules: [rule({ when: { [`tags.${'k'.repeat(64)}`]: 'x' } })] }, 'v').ok).toBe(true);
  });

  it('names a bad field reference in an array (not a record key) with the schema\'s own message', () => {
    expect(issues({ requirements: [requirement({ dimensions: ['model'] })] })).toEqual([
      { path: 'requirements[0].dimensions[0]', message: 'must be an attribution dimension (tenant_id, cost_center, team, feature, environment, user_id, session_id, agent_run_id, api_key_id) or tags.<key>' },
    ]);
  });

  // A field reference used as a record key (rule `when`/`set`, api_keys, defaults) fails as zod's
  // `invalid_key` ("Invalid key in record"); the schema's own message must reach the author.
  it('says why a rule may not set api_key_id', () => {
    expect(issues({ rules: [rule({ set: { api_key_id: 'k' } })] })).toEqual([
      { path: 'rules[0].set.api_key_id', message: 'must be a dimension a rule may set (tenant_id, cost_center, team, feature, environment, user_id, session_id, agent_run_id) or tags.<key>' },
    ]);
  });

  it('says why tags.1bad is not a field reference', () => {
    expect(issues({ rules: [rule({ when: { 'tags.1bad': 'x' } })] })[0]?.message).toMatch(/^must be an event field \(/);
  });

  it('reports every problem at once, not just the first', () => {
    expect(issues({ version: 'v 1', rules: [rule({ when: {} })], requirements: [requirement({ on_missing: 'drop' })] })).toEqual([
      { path: 'version', message: 'must be 1-64 letters, digits or . _ : + -' },
      { path: 'rules[0].when', message: 'must test at least one field' },
      { path: 'requirements[0].on_missing', message: 'must be one of reject, unattributed, default' },
    ]);
  });
});

describe('AttributionPolicy.fromText', () => {
  it.each(['', '{', 'rules: []', "{'version': 'v1'}"])('throws for text that is not JSON: %j', (text) => {
    expect(() => AttributionPolicy.fromText(text)).toThrow(/^attribution policy is not JSON: /);
  });

  it('throws with every issue, path first, "policy" naming the whole file', () => {
    expect(() => AttributionPolicy.fromText('{"bogus": 1, "rules": [{"id": "a", "when": {}, "set": {"team": "x"}}]}')).toThrow(
      new Error('invalid attribution policy: rules[0].when: must test at least one field; policy: unknown field: bogus'),
    );
    expect(() => AttributionPolicy.fromText('[]')).toThrow(new Error('invalid attribution policy: policy: must be an object, got array'));
  });
});

describe('policy version', () => {
  it('uses an explicit version as is', () => {
    expect(AttributionPolicy.fromText('{"version": "2026-11-23.1"}').version).toBe('2026-11-23.1');
    const checked = AttributionPolicy.check({ version: 'v:2+b' }, 'fallback');
    expect(checked.ok && checked.policy.version).toBe('v:2+b');
  });

  it('derives policy-<12 hex of sha256> from the text when there is none', () => {
    const text = '{"rules": []}';
    expect(AttributionPolicy.fromText(text).version).toBe(`policy-${sha12(text)}`);
    expect(AttributionPolicy.fromText(text).version).toMatch(/^policy-[0-9a-f]{12}$/);
  });

  it('is stable for identical text and differs for different text, even text that means the same', () => {
    const a = AttributionPolicy.fromText('{"non_production_environments": ["dev"]}');
    const b = AttributionPolicy.fromText('{"non_production_environments": ["dev"]}');
    const c = AttributionPolicy.fromText('{"non_production_environments": ["test"]}');
    const d = AttributionPolicy.fromText('{"non_production_environments":["dev"]}');
    expect(a.version).toBe(b.version);
    expect(c.version).not.toBe(a.version);
    expect(d.version).not.toBe(a.version);
  });

  it('uses the fallback version given to check() when the value has none', () => {
    const checked = AttributionPolicy.check({}, 'policy-from-caller');
    expect(checked.ok && checked.policy.version).toBe('policy-from-caller');
  });

  it('builtIn is builtin-1: normalization only, nothing mandatory', () => {
    expect(AttributionPolicy.builtIn.version).toBe('builtin-1');
    expect(AttributionPolicy.builtIn.rules).toEqual([]);
    expect(AttributionPolicy.builtIn.requirements).toEqual([]);
    expect(AttributionPolicy.builtIn.nonProductionEnvironments).toEqual(['dev', 'staging', 'test']);
    expect(AttributionPolicy.builtIn.apiKey('any')).toBeNull();
  });
});

describe('normalize', () => {
  const builtIn = AttributionPolicy.builtIn;

  it.each<[string, string | null, string | null]>([
    ['team', '  Search ', 'search'],
    ['tenant_id', 'ACME', 'acme'],
    ['cost_center', 'CC-1200', 'cc-1200'],
    ['feature', 'Answers', 'answers'],
    ['environment', ' Production', 'prod'],
    ['environment', 'production', 'prod'],
    ['environment', 'PRD', 'prod'],
    ['environment', 'live', 'prod'],
    ['environment', 'prod', 'prod'],
    ['environment', 'Stage', 'staging'],
    ['environment', 'stg', 'staging'],
    ['environment', 'preprod', 'staging'],
    ['environment', 'development', 'dev'],
    ['environment', 'Local', 'dev'],
    ['environment', 'testing', 'test'],
    ['environment', 'QA', 'test'],
    ['environment', 'ci', 'test'],
    ['environment', 'eu-West', 'eu-west'],
    ['environment', '   ', null],
    ['team', '', null],
    ['team', null, null],
    ['user_id', ' Alice ', 'Alice'],
    ['session_id', 'S-7', 'S-7'],
    ['api_key_id', ' Key-A', 'Key-A'],
    ['tags.Region', ' EU ', 'EU'],
    ['tags.blank', ' \t ', null],
  ])('builtIn: %s %j → %j', (ref, raw, expected) => {
    expect(builtIn.normalize(ref, raw)).toBe(expected);
  });

  it('lower-cases only the configured dimensions; aliases still match whatever the case', () => {
    const parsed = policy({ normalize: { lowercase: ['team', 'tags.env'] } });
    expect(parsed.normalize('team', 'Search')).toBe('search');
    expect(parsed.normalize('tags.env', 'Blue')).toBe('blue');
    expect(parsed.normalize('feature', 'Answers')).toBe('Answers');
    expect(parsed.normalize('environment', 'EU')).toBe('EU');
    expect(parsed.normalize('environment', 'Production')).toBe('prod');
  });

  it('resolves a policy\'s own aliases to their canonical value', () => {
    const parsed = policy({ normalize: { aliases: { team: { search: ['search-team', 'SearchTeam'] }, 'tags.region': { eu: ['europe'] } } } });
    expect(parsed.normalize('team', ' Search-Team ')).toBe('search');
    expect(parsed.normalize('team', 'searchteam')).toBe('search');
    expect(parsed.normalize('tags.region', 'Europe')).toBe('eu');
    expect(parsed.normalize('team', 'payments')).toBe('payments');
  });

  // README: the built-in aliases apply "plus your own"; a policy's aliases add to them.
  it('keeps the default environment aliases when a policy adds aliases of its own', () => {
    const parsed = policy({ normalize: { aliases: { team: { search: ['search-team'] } } } });
    expect(parsed.normalize('environment', 'production')).toBe('prod');
  });
});

describe('built-in aliases and prefixes', () => {
  it('drops the built-in aliases when builtin_aliases is false', () => {
    const parsed = policy({ normalize: { builtin_aliases: false } });
    expect(parsed.normalize('environment', 'Production')).toBe('production');
  });

  it('lets a policy alias win over a built-in one for the same spelling', () => {
    const parsed = policy({ normalize: { aliases: { environment: { live: ['live'] } } } });
    expect([parsed.normalize('environment', 'LIVE'), parsed.normalize('environment', 'prd')]).toEqual(['live', 'prod']);
  });

  it('matches a prefix that is also an alias spelling as a prefix, not as the alias', () => {
    const parsed = policy({ rules: [{ id: 'eu-staging', when: { environment: { prefix: 'Stage' } }, set: { team: 'eu' } }] });
    const read = (environment: string) => (ref: string) => (ref === 'environment' ? environment : null);
    expect([parsed.rules[0]!.matches(read('stage-eu')), parsed.rules[0]!.matches(read('staging'))]).toEqual([true, false]);
  });
});
