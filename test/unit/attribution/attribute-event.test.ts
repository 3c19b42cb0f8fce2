import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { describe, expect, it } from 'vitest';
import { attributeEvent, receivedAttribution, type Attributed } from '../../../services/attribution/attribute-event.ts';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import type { AttributionChange } from '../../../services/events/enriched-usage-event.ts';
import { FULL_USAGE_EVENT_RECORD, minimalUsageEventRecord } from '../../fixtures/usage-event-examples.ts';

function policy(file: Record<string, unknown>): AttributionPolicy {
  return AttributionPolicy.fromText(JSON.stringify({ version: 'test-1', ...file }));
}

const event = (overrides: Partial<UsageEventRecord> = {}) => minimalUsageEventRecord(overrides);
const attribute = (applied: AttributionPolicy, overrides: Partial<UsageEventRecord> = {}): Attributed => attributeEvent(applied, event(overrides));

describe('attributeEvent: normalization', () => {
  it('normalizes what arrived and records one lineage entry per changed field, in field order', () => {
    const attributed = attribute(AttributionPolicy.builtIn, { environment: ' Production', team: 'Search ', user_id: ' U-1 ' });
    expect(attributed.event).toEqual(event({ environment: 'prod', team: 'search', user_id: 'U-1' }));
    expect(attributed.attribution).toEqual({
      status: 'complete',
      missing: [],
      requirement: null,
      lineage: [
        { rule: 'normalize', dimension: 'team', from: 'Search ', to: 'search' },
        { rule: 'normalize', dimension: 'environment', from: ' Production', to: 'prod' },
        { rule: 'normalize', dimension: 'user_id', from: ' U-1 ', to: 'U-1' },
      ],
      policy_version: 'builtin-1',
    });
    expect(attributed.rejection).toBeNull();
  });

  it('records nothing for an event that is already normalized', () => {
    const attributed = attributeEvent(AttributionPolicy.builtIn, FULL_USAGE_EVENT_RECORD);
    expect(attributed.event).toEqual(FULL_USAGE_EVENT_RECORD);
    expect(attributed.attribution.lineage).toEqual([]);
  });

  it('trims tag values and drops blank tags, recording both', () => {
    const attributed = attribute(AttributionPolicy.builtIn, { tags: { region: ' eu ', empty: '  ', tier: 'Gold' } });
    expect(attributed.event.tags).toEqual({ region: 'eu', tier: 'Gold' });
    expect(attributed.attribution.lineage).toEqual([
      { rule: 'normalize', dimension: 'tags.region', from: ' eu ', to: 'eu' },
      { rule: 'normalize', dimension: 'tags.empty', from: '  ', to: null },
    ]);
  });

  it('turns a blank dimension into an absent one', () => {
    const attributed = attribute(AttributionPolicy.builtIn, { team: '   ' });
    expect(attributed.event.team).toBeNull();
    expect(attributed.attribution.lineage).toEqual([{ rule: 'normalize', dimension: 'team', from: '   ', to: null }]);
  });

  it('reports the version of the policy that resolved the event', () => {
    expect(attribute(policy({ version: '2026-11-23.1' })).attribution.policy_version).toBe('2026-11-23.1');
  });
});

describe('attributeEvent: API key mapping', () => {
  const keyed = policy({
    api_keys: { key_search: { team: 'Search', cost_center: 'CC-1' } },
    rules: [{ id: 'search-feature', when: { team: 'search' }, set: { feature: 'answers' } }],
  });

  it('overrides the team the event claims and records the change as api_key:<id>', () => {
    const attributed = attribute(keyed, { api_key_id: 'key_search', team: 'payments' });
    expect([attributed.event.team, attributed.event.cost_center, attributed.event.api_key_id]).toEqual(['search', 'cc-1', 'key_search']);
    expect(attributed.attribution.lineage).toEqual([
      { rule: 'api_key:key_search', dimension: 'team', from: 'payments', to: 'search' },
      { rule: 'api_key:key_search', dimension: 'cost_center', from: null, to: 'cc-1' },
      { rule: 'rule:search-feature', dimension: 'feature', from: null, to: 'answers' },
    ]);
  });

  it('looks the key up after normalization (trimmed) and before the rules', () => {
    const attributed = attribute(keyed, { api_key_id: ' key_search ' });
    expect(attributed.event.api_key_id).toBe('key_search');
    expect(attributed.attribution.lineage.map((change) => [change.rule, change.dimension])).toEqual([
      ['normalize', 'api_key_id'],
      ['api_key:key_search', 'team'],
      ['api_key:key_search', 'cost_center'],
      ['rule:search-feature', 'feature'],
    ]);
  });

  it('records nothing when the key already agrees with the event', () => {
    const attributed = attribute(keyed, { api_key_id: 'key_search', team: 'search', cost_center: 'cc-1', feature: 'answers' });
    expect(attributed.attribution.lineage).toEqual([]);
  });

  it.each<[string, string | null]>([
    ['an unmapped key', 'key_other'],
    ['no key', null],
    ['a key that differs in case', 'KEY_SEARCH'],
  ])('leaves the event alone for %s', (_what, apiKeyId) => {
    const attributed = attribute(keyed, { api_key_id: apiKeyId, team: 'payments' });
    expect(attributed.event.team).toBe('payments');
    expect(attributed.attribution.lineage).toEqual([]);
  });
});

describe('attributeEvent: rules', () => {
  const chainRuleA = { id: 'search-features', when: { feature: { prefix: 'search-' } }, set: { team: 'search' } };
  const chainRuleB = { id: 'search-cost-center', when: { team: 'search' }, set: { cost_center: 'cc-1200' } };

  it('applies rules in file order, each seeing what the earlier ones did', () => {
    const attributed = attribute(policy({ rules: [chainRuleA, chainRuleB] }), { feature: 'Search-Answers' });
    expect([attributed.event.team, attributed.event.cost_center]).toEqual(['search', 'cc-1200']);
    expect(attributed.attribution.lineage).toEqual([
      { rule: 'normalize', dimension: 'feature', from: 'Search-Answers', to: 'search-answers' },
      { rule: 'rule:search-features', dimension: 'team', from: null, to: 'search' },
      { rule: 'rule:search-cost-center', dimension: 'cost_center', from: null, to: 'cc-1200' },
    ]);
  });

  it('does not let an earlier rule see what a later one does', () => {
    const attributed = attribute(policy({ rules: [chainRuleB, chainRuleA] }), { feature: 'search-answers' });
    expect([attributed.event.team, attributed.event.cost_center]).toEqual(['search', null]);
  });

  it.each<[string, boolean, string | null, string, AttributionChange[]]>([
    ['fill: absent value is set', false, null, 'search', [{ rule: 'rule:r', dimension: 'team', from: null, to: 'search' }]],
    ['fill: present value is kept, nothing recorded', false, 'payments', 'payments', []],
    ['override: absent value is set', true, null, 'search', [{ rule: 'rule:r', dimension: 'team', from: null, to: 'search' }]],
    ['override: present value is replaced', true, 'payments', 'search', [{ rule: 'rule:r', dimension: 'team', from: 'payments', to: 'search' }]],
    ['override: equal value, nothing recorded', true, 'search', 'search', []],
  ])('%s', (_what, override, team, expectedTeam, lineage) => {
    const attributed = attribute(policy({ rules: [{ id: 'r', when: { provider: 'openai' }, set: { team: 'Search' }, override }] }), { team });
    expect(attributed.event.team).toBe(expectedTeam);
    expect(attributed.attribution.lineage).toEqual(lineage);
  });

  it('applies fill per dimension: the absent ones of a rule are set, the present ones kept', () => {
    const attributed = attribute(policy({ rules: [{ id: 'r', when: { provider: 'openai' }, set: { team: 'search', feature: 'answers' } }] }), { team: 'payments' });
    expect([attributed.event.team, attributed.event.feature]).toEqual(['payments', 'answers']);
    expect(attributed.attribution.lineage).toEqual([{ rule: 'rule:r', dimension: 'feature', from: null, to: 'answers' }]);
  });

  it('can override what an API key mapping set, since rules come after it', () => {
    const attributed = attribute(
      policy({ api_keys: { k: { team: 'search' } }, rules: [{ id: 'batch', when: { gateway_id: 'gw-batch' }, set: { team: 'data' }, override: true }] }),
      { api_key_id: 'k', gateway_id: 'gw-batch' },
    );
    expect(attributed.event.team).toBe('data');
    expect(attributed.attribution.lineage.map((change) => `${change.rule}:${change.from}->${change.to}`)).toEqual(['api_key:k:null->search', 'rule:batch:search->data']);
  });

  // Each matcher tested on one field; the rule marks a match by setting feature.
  type Case = [string, Record<string, unknown>, Partial<UsageEventRecord>, boolean];
  it.each<Case>([
    ['a bare string (equals), after normalization of both sides', { team: 'Search' }, { team: ' SEARCH ' }, true],
    ['a bare string that differs', { team: 'search' }, { team: 'searching' }, false],
    ['equals on an absent field', { team: { equals: 'search' } }, { team: null }, false],
    ['equals through aliases (production vs prd)', { environment: 'production' }, { environment: 'PRD' }, true],
    ['equals on a non-dimension field, as is', { provider: 'openai' }, { provider: 'openai' }, true],
    ['equals on a non-dimension field, case kept', { model: 'GPT-4o' }, { model: 'gpt-4o' }, false],
    ['in: a listed value', { team: { in: ['payments', 'Search'] } }, { team: 'search' }, true],
    ['in: an unlisted value', { team: { in: ['payments', 'search'] } }, { team: 'ads' }, false],
    ['in: absent', { team: { in: ['payments'] } }, { team: null }, false],
    ['prefix: matching', { feature: { prefix: 'Search-' } }, { feature: 'search-answers' }, true],
    ['prefix: only inside the value', { feature: { prefix: 'search-' } }, { feature: 'x-search-answers' }, false],
    ['prefix: absent', { feature: { prefix: 'search-' } }, { feature: null }, false],
    ['regex: matching', { model: { regex: '^gpt-4o(-mini)?$' } }, { model: 'gpt-4o-mini' }, true],
    ['regex: not matching', { model: { regex: '^gpt-4o(-mini)?$' } }, { model: 'gpt-4o-2024-08-06' }, false],
    ['regex: tested on the normalized value', { team: { regex: '^search$' } }, { team: ' Search ' }, true],
    ['regex: absent', { team: { regex: '.*' } }, { team: null }, false],
    ['absent true: absent', { team: { absent: true } }, { team: null }, true],
    ['absent true: blank counts as absent', { team: { absent: true } }, { team: '  ' }, true],
    ['absent true: present', { team: { absent: true } }, { team: 'search' }, false],
    ['absent false: present', { team: { absent: false } }, { team: 'search' }, true],
    ['absent false: absent', { team: { absent: false } }, { team: null }, false],
    ['tags.<key> equals', { 'tags.tier': 'gold' }, { tags: { tier: 'gold' } }, true],
    ['tags.<key> equals another value', { 'tags.tier': 'gold' }, { tags: { tier: 'silver' } }, false],
    ['tags.<key> is case-sensitive (tags are not lower-cased)', { 'tags.tier': 'gold' }, { tags: { tier: 'Gold' } }, false],
    ['tags.<key> equals on a missing tag', { 'tags.tier': 'gold' }, { tags: { region: 'gold' } }, false],
    ['tags.<key> absent', { 'tags.tier': { absent: true } }, { tags: { region: 'eu' } }, true],
    ['tags.<key> absent, present', { 'tags.tier': { absent: true } }, { tags: { tier: 'gold' } }, false],
    ['tags.<key> prefix', { 'tags.project': { prefix: 'ml-' } }, { tags: { project: 'ml-ranker' } }, true],
    ['all conditions must hold: both do', { provider: 'openai', team: 'search' }, { team: 'search' }, true],
    ['all conditions must hold: one does not', { provider: 'anthropic', team: 'search' }, { team: 'search' }, false],
  ])('%s', (_what, when, overrides, matches) => {
    const attributed = attribute(policy({ rules: [{ id: 'm', when, set: { feature: 'matched' }, override: true }] }), overrides);
    expect(attributed.event.feature).toBe(matches ? 'matched' : (overrides.feature ?? null));
    expect(attributed.attribution.lineage.some((change) => change.rule === 'rule:m')).toBe(matches);
  });

  it('sets a tag as a target: adds it when absent, keeps it when present (fill)', () => {
    const tagging = policy({ rules: [{ id: 'exp', when: { model: { regex: '^o3' } }, set: { 'tags.experiment': 'reasoning-eval' } }] });
    const added = attribute(tagging, { model: 'o3-mini', tags: { region: 'eu' } });
    expect(added.event.tags).toEqual({ region: 'eu', experiment: 'reasoning-eval' });
    expect(added.attribution.lineage).toEqual([{ rule: 'rule:exp', dimension: 'tags.experiment', from: null, to: 'reasoning-eval' }]);
    const kept = attribute(tagging, { model: 'o3-mini', tags: { experiment: 'mine' } });
    expect(kept.event.tags).toEqual({ experiment: 'mine' });
    expect(kept.attribution.lineage).toEqual([]);
  });

  it('replaces a tag with override, and a later rule can test the tag it set', () => {
    const tagging = policy({
      rules: [
        { id: 'tier', when: { team: 'search' }, set: { 'tags.tier': 'gold' }, override: true },
        { id: 'gold-cc', when: { 'tags.tier': 'gold' }, set: { cost_center: 'cc-gold' } },
      ],
    });
    const attributed = attribute(tagging, { team: 'search', tags: { tier: 'bronze' } });
    expect(attributed.event.tags).toEqual({ tier: 'gold' });
    expect(attributed.event.cost_center).toBe('cc-gold');
    expect(attributed.attribution.lineage).toEqual([
      { rule: 'rule:tier', dimension: 'tags.tier', from: 'bronze', to: 'gold' },
      { rule: 'rule:gold-cc', dimension: 'cost_center', from: null, to: 'cc-gold' },
    ]);
  });
});

describe('attributeEvent: requirements', () => {
  const requiring = (onMissing: string, extra: Record<string, unknown> = {}) =>
    policy({ requirements: [{ id: 'owner', dimensions: ['team'], on_missing: onMissing, ...extra }] });

  it('reject: one issue per missing dimension, status unattributed', () => {
    const attributed = attribute(requiring('reject'), { feature: 'answers' });
    expect(attributed.rejection).toEqual([{ path: 'team', message: 'is required by the attribution policy (requirement "owner")' }]);
    expect(attributed.attribution).toEqual({ status: 'unattributed', missing: ['team'], requirement: 'owner', lineage: [], policy_version: 'test-1' });
  });

  it('reject: lists every missing dimension, in the requirement\'s order', () => {
    const attributed = attribute(policy({ requirements: [{ id: 'prod-owner', dimensions: ['team', 'tags.project', 'feature'], on_missing: 'reject' }] }), { feature: 'answers' });
    expect(attributed.rejection).toEqual([
      { path: 'team', message: 'is required by the attribution policy (requirement "prod-owner")' },
      { path: 'tags.project', message: 'is required by the attribution policy (requirement "prod-owner")' },
    ]);
    expect(attributed.attribution.missing).toEqual(['team', 'tags.project']);
  });

  it('unattributed: no rejection, status unattributed, missing named', () => {
    const attributed = attribute(requiring('unattributed'));
    expect(attributed.rejection).toBeNull();
    expect(attributed.event.team).toBeNull();
    expect(attributed.attribution).toEqual({ status: 'unattributed', missing: ['team'], requirement: 'owner', lineage: [], policy_version: 'test-1' });
  });

  it('default: fills the value (normalized), records default:<id>, status defaulted, missing still named', () => {
    const attributed = attribute(requiring('default', { defaults: { team: 'Data-Platform' } }), { team: '  ' });
    expect(attributed.rejection).toBeNull();
    expect(attributed.event.team).toBe('data-platform');
    expect(attributed.attribution).toEqual({
      status: 'defaulted',
      missing: ['team'],
      requirement: 'owner',
      lineage: [
        { rule: 'normalize', dimension: 'team', from: '  ', to: null },
        { rule: 'default:owner', dimension: 'team', from: null, to: 'data-platform' },
      ],
      policy_version: 'test-1',
    });
  });

  it('default: fills only the missing dimensions, tags included', () => {
    const attributed = attribute(
      policy({ requirements: [{ id: 'batch', dimensions: ['team', 'tags.project'], on_missing: 'default', defaults: { team: 'data', 'tags.project': 'misc' } }] }),
      { team: 'search' },
    );
    expect(attributed.event.team).toBe('search');
    expect(attributed.event.tags).toEqual({ project: 'misc' });
    expect(attributed.attribution.missing).toEqual(['tags.project']);
    expect(attributed.attribution.lineage).toEqual([{ rule: 'default:batch', dimension: 'tags.project', from: null, to: 'misc' }]);
  });

  it.each(['reject', 'unattributed'])('%s: complete when every mandatory dimension arrived', (onMissing) => {
    const attributed = attribute(requiring(onMissing), { team: 'Search' });
    expect(attributed.rejection).toBeNull();
    expect(attributed.attribution).toMatchObject({ status: 'complete', missing: [], requirement: 'owner' });
  });

  it.each<[string, Record<string, unknown>, Partial<UsageEventRecord>]>([
    ['a rule filled an absent dimension', { rules: [{ id: 'f', when: { feature: 'answers' }, set: { team: 'search' } }] }, { feature: 'answers' }],
    ['a rule filled a blank dimension', { rules: [{ id: 'f', when: { feature: 'answers' }, set: { team: 'search' } }] }, { feature: 'answers', team: ' ' }],
    ['an API key mapping filled it', { api_keys: { k: { team: 'search' } } }, { api_key_id: 'k' }],
  ])('fixed_by_rule when %s', (_what, file, overrides) => {
    const attributed = attribute(policy({ ...file, requirements: [{ id: 'owner', dimensions: ['team'], on_missing: 'reject' }] }), overrides);
    expect(attributed.event.team).toBe('search');
    expect(attributed.rejection).toBeNull();
    expect(attributed.attribution).toMatchObject({ status: 'fixed_by_rule', missing: [], requirement: 'owner' });
  });

  it('complete, not fixed_by_rule, when a present dimension was overridden', () => {
    const attributed = attribute(policy({ api_keys: { k: { team: 'search' } }, requirements: [{ id: 'owner', dimensions: ['team'], on_missing: 'reject' }] }), {
      api_key_id: 'k',
      team: 'payments',
    });
    expect(attributed.event.team).toBe('search');
    expect(attributed.attribution.status).toBe('complete');
  });

  it('complete with no requirement when none matches', () => {
    const attributed = attribute(policy({ requirements: [{ id: 'prod', when: { environment: 'prod' }, dimensions: ['team'], on_missing: 'reject' }] }), { environment: 'dev' });
    expect(attributed.rejection).toBeNull();
    expect(attributed.attribution).toMatchObject({ status: 'complete', missing: [], requirement: null });
  });

  describe('the first matching requirement wins', () => {
    const layered = policy({
      requirements: [
        { id: 'prod-owner', when: { environment: 'prod' }, dimensions: ['team', 'feature'], on_missing: 'reject' },
        { id: 'catch-all', dimensions: ['team'], on_missing: 'unattributed' },
      ],
    });

    it.each<[string, Partial<UsageEventRecord>, string, string, string[], boolean]>([
      ['prod, both missing', { environment: 'prod' }, 'prod-owner', 'unattributed', ['team', 'feature'], true],
      ['prod, feature missing (the catch-all alone would pass it)', { environment: 'prod', team: 'search' }, 'prod-owner', 'unattributed', ['feature'], true],
      ['prod spelt "Production"', { environment: 'Production', team: 'search' }, 'prod-owner', 'unattributed', ['feature'], true],
      ['dev, team missing', { environment: 'dev' }, 'catch-all', 'unattributed', ['team'], false],
      ['dev, team present, feature missing', { environment: 'dev', team: 'search' }, 'catch-all', 'complete', [], false],
      ['no environment, team missing', {}, 'catch-all', 'unattributed', ['team'], false],
    ])('%s', (_what, overrides, requirementId, status, missing, rejected) => {
      const attributed = attribute(layered, overrides);
      expect(attributed.attribution.requirement).toBe(requirementId);
      expect(attributed.attribution.status).toBe(status);
      expect(attributed.attribution.missing).toEqual(missing);
      expect(attributed.rejection !== null).toBe(rejected);
    });
  });

  it('matches requirement.when on resolved values: a rule can bring an event into or out of a requirement', () => {
    const resolved = policy({
      rules: [
        { id: 'legacy-is-staging', when: { gateway_id: 'gw-legacy' }, set: { environment: 'staging' }, override: true },
        { id: 'prod-gateway', when: { gateway_id: 'gw-prod' }, set: { environment: 'Live' } },
      ],
      requirements: [{ id: 'prod-owner', when: { environment: 'prod' }, dimensions: ['team'], on_missing: 'reject' }],
    });
    const intoProd = attribute(resolved, { gateway_id: 'gw-prod' });
    expect(intoProd.event.environment).toBe('prod');
    expect(intoProd.attribution.requirement).toBe('prod-owner');
    expect(intoProd.rejection).toEqual([{ path: 'team', message: 'is required by the attribution policy (requirement "prod-owner")' }]);

    const outOfProd = attribute(resolved, { gateway_id: 'gw-legacy', environment: 'prod' });
    expect(outOfProd.event.environment).toBe('staging');
    expect(outOfProd.attribution.requirement).toBeNull();
    expect(outOfProd.rejection).toBeNull();
  });

  it('matches requirement.when before defaults are applied: a default does not choose the requirement', () => {
    const attributed = attribute(
      policy({
        requirements: [
          { id: 'batch', when: { gateway_id: 'gw-batch' }, dimensions: ['team'], on_missing: 'default', defaults: { team: 'data' } },
          { id: 'data-owner', when: { team: 'data' }, dimensions: ['feature'], on_missing: 'reject' },
        ],
      }),
      { gateway_id: 'gw-batch' },
    );
    expect(attributed.attribution).toMatchObject({ requirement: 'batch', status: 'defaulted', missing: ['team'] });
    expect(attributed.rejection).toBeNull();
  });
});

describe('receivedAttribution: the lineage undone is the event as it arrived', () => {
  const fullPolicy = policy({
    normalize: {
      aliases: {
        environment: { prod: ['production', 'prd', 'live'], staging: ['stage'], dev: ['development', 'local'] },
        team: { search: ['search-team'] },
      },
    },
    api_keys: { key_search: { team: 'search', cost_center: 'cc-1' }, key_acme: { tenant_id: 'acme', team: 'integrations' } },
    rules: [
      { id: 'features', when: { feature: { prefix: 'search-' } }, set: { team: 'search' } },
      { id: 'cc', when: { team: 'search' }, set: { cost_center: 'cc-1200' } },
      { id: 'legacy', when: { gateway_id: 'gw-legacy' }, set: { environment: 'staging' }, override: true },
      { id: 'experiment', when: { model: { regex: '^o3' }, 'tags.experiment': { absent: true } }, set: { 'tags.experiment': 'eval' } },
      { id: 'retag', when: { 'tags.tier': 'bronze' }, set: { 'tags.tier': 'silver', user_id: 'svc' }, override: true },
    ],
    requirements: [
      { id: 'prod', when: { environment: 'prod' }, dimensions: ['team', 'feature'], on_missing: 'reject' },
      { id: 'batch', when: { gateway_id: 'gw-batch' }, dimensions: ['team', 'tags.project'], on_missing: 'default', defaults: { team: 'data', 'tags.project': 'misc' } },
      { id: 'rest', dimensions: ['team'], on_missing: 'unattributed' },
    ],
  });

  const examples: [string, UsageEventRecord, number][] = [
    ['nothing to change', event({ team: 'search', cost_center: 'cc-1200', environment: 'dev' }), 0],
    ['normalization only', event({ team: ' Search-Team', environment: 'Production', feature: 'x', cost_center: 'cc-1200' }), 2],
    ['API key over a claimed team, then a rule', event({ api_key_id: 'key_search', team: 'Payments ' }), 3],
    ['rule chain from a feature prefix', event({ feature: 'search-answers' }), 2],
    ['override of a present environment', event({ gateway_id: 'gw-legacy', environment: 'PRD', team: 'x' }), 2],
    ['tag added by a rule, tag removed by normalization', event({ model: 'o3-mini', tags: { blank: ' ', keep: 'v' } }), 2],
    ['tag replaced, user set', event({ tags: { tier: 'bronze' }, team: 'x' }), 2],
    ['defaults for a dimension and a tag', event({ gateway_id: 'gw-batch', team: '' }), 3],
    ['a rejected event', event({ environment: 'live' }), 1],
    ['a dimension changed three times', event({ api_key_id: ' key_acme', team: 'Search ', feature: 'search-x', tags: { tier: 'bronze', x: ' y' } }), 7],
    ['every field set', { ...FULL_USAGE_EVENT_RECORD, team: 'SEARCH', tags: { tier: 'bronze', region: ' eu ' } }, 4],
  ];

  it.each(examples)('%s', (_what, received, changes) => {
    const attributed = attributeEvent(fullPolicy, received);
    expect(attributed.attribution.lineage).toHaveLength(changes);
    expect(receivedAttribution(attributed.event, attributed.attribution.lineage)).toEqual(received);
    // As stored: the lineage goes through JSON.
    const stored = JSON.parse(JSON.stringify(attributed.attribution.lineage)) as AttributionChange[];
    expect(receivedAttribution(attributed.event, stored)).toEqual(received);
  });

  it('holds for many generated events (seeded, deterministic)', () => {
    let seed = 0x5eed;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const teams = [null, '', '  ', 'search', ' Search', 'SEARCH-TEAM', 'payments', 'integrations'];
    const environments = [null, 'prod', 'Production', ' live ', 'stage', 'dev', 'local', 'eu-1'];
    const features = [null, 'search-answers', 'Search-Ranker', 'chat', ' '];
    const keys = [null, 'key_search', 'key_acme', ' key_acme ', 'key_none'];
    const gateways = [null, 'gw-legacy', 'gw-batch', 'gw-1'];
    const models = ['gpt-4o', 'o3-mini', 'o3'];
    const tagKeys = ['tier', 'experiment', 'project', 'region', 'x'];
    const tagValues = ['bronze', 'gold', ' eval ', '', '  ', 'misc'];
    let changed = 0;
    for (let i = 0; i < 300; i++) {
      const tags: Record<string, string> = {};
      for (const key of tagKeys) if (next() < 0.35) tags[key] = pick(tagValues);
      const received = event({
        event_id: `evt-${i}`,
        team: pick(teams),
        environment: pick(environments),
        feature: pick(features),
        api_key_id: pick(keys),
        gateway_id: pick(gateways),
        model: pick(models),
        cost_center: pick([null, 'CC-9', 'cc-1200']),
        tenant_id: pick([null, 'Acme', 'acme']),
        tags,
      });
      const attributed = attributeEvent(fullPolicy, received);
      if (attributed.attribution.lineage.length > 0) changed++;
      expect(receivedAttribution(attributed.event, attributed.attribution.lineage), `event ${i}`).toEqual(received);
    }
    // The property is only worth something if most events were changed.
    expect(changed).toBeGreaterThan(250);
  });

  it('undoes the changes only: fields the lineage does not mention keep their resolved value', () => {
    const resolved = event({ team: 'search', feature: 'answers', tags: { a: 'b' } });
    expect(receivedAttribution(resolved, [{ rule: 'rule:x', dimension: 'team', from: 'payments', to: 'search' }])).toEqual({ ...resolved, team: 'payments' });
    expect(receivedAttribution(resolved, [])).toEqual(resolved);
  });
});

describe('attributeEvent is pure', () => {
  const busy = policy({
    api_keys: { k: { team: 'search' } },
    rules: [
      { id: 'tag', when: { team: 'search' }, set: { 'tags.owner': 'search' }, override: true },
      { id: 'env', when: { gateway_id: 'gw-legacy' }, set: { environment: 'staging' }, override: true },
    ],
    requirements: [{ id: 'd', dimensions: ['feature'], on_missing: 'default', defaults: { feature: 'misc' } }],
  });

  it('gives equal results for the same policy and event', () => {
    const received = event({ api_key_id: 'k', team: 'Payments', gateway_id: 'gw-legacy', environment: 'prod', tags: { owner: 'x', blank: ' ' } });
    const first = attributeEvent(busy, received);
    const second = attributeEvent(busy, received);
    expect(second).toEqual(first);
    expect(first.attribution.lineage.length).toBe(6);
  });

  it('never mutates the event it is given (frozen input, deep-equal afterwards)', () => {
    const tags = Object.freeze({ owner: 'x', blank: ' ' });
    const received = Object.freeze(event({ api_key_id: 'k', team: 'Payments', gateway_id: 'gw-legacy', tags }));
    const copy = structuredClone(received);
    const attributed = attributeEvent(busy, received);
    expect(received).toEqual(copy);
    expect(attributed.event.tags).not.toBe(received.tags);
    expect(attributed.event.tags).toEqual({ owner: 'search' });
    expect(received.tags).toEqual({ owner: 'x', blank: ' ' });
  });

  it('does not share state between events (a tag set for one is not seen by the next)', () => {
    const first = attributeEvent(busy, event({ api_key_id: 'k' }));
    const second = attributeEvent(busy, event());
    expect(first.event.tags).toEqual({ owner: 'search' });
    expect(second.event.tags).toEqual({});
    expect(second.event.team).toBeNull();
  });
});

// Tags are plain objects: a tag key that names an Object.prototype member (constructor,
// toString, valueOf, ...; all allowed by TAG_KEY_PATTERN) must read as absent when the event
// does not carry it, never as the inherited function.
describe('tag keys named like Object.prototype members', () => {
  it('{absent: true} matches an event without tags.constructor', () => {
    const attributed = attribute(policy({ rules: [{ id: 'c', when: { 'tags.constructor': { absent: true } }, set: { team: 'hit' } }] }));
    expect(attributed.event.team).toBe('hit');
  });

  it('a prefix matcher on an absent tags.toString does not throw', () => {
    const tagPolicy = policy({ rules: [{ id: 'c', when: { 'tags.toString': { prefix: 'a' } }, set: { team: 'hit' } }] });
    expect(() => attribute(tagPolicy)).not.toThrow();
  });

  it('a fill rule sets an absent tags.toString', () => {
    const attributed = attribute(policy({ rules: [{ id: 'c', when: { provider: 'openai' }, set: { 'tags.toString': 'v' } }] }));
    expect(attributed.event.tags).toEqual({ toString: 'v' });
  });

  it('a requirement on tags.constructor sees it missing', () => {
    const attributed = attribute(policy({ requirements: [{ id: 'r', dimensions: ['tags.constructor'], on_missing: 'reject' }] }));
    expect(attributed.attribution.missing).toEqual(['tags.constructor']);
  });

  it('lineage of an override of an absent tags.valueOf starts from null', () => {
    const attributed = attribute(policy({ rules: [{ id: 'c', when: { provider: 'openai' }, set: { 'tags.valueOf': 'v' }, override: true }] }));
    expect(attributed.attribution.lineage).toEqual([{ rule: 'rule:c', dimension: 'tags.valueOf', from: null, to: 'v' }]);
  });

  it('works for such a key when the event carries it', () => {
    const attributed = attribute(policy({ rules: [{ id: 'c', when: { 'tags.constructor': 'x' }, set: { team: 'hit' } }] }), { tags: { constructor: 'x' } });
    expect(attributed.event.team).toBe('hit');
  });
});
