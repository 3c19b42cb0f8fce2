import { describe, expect, it } from 'vitest';
import type { ScopeCondition } from '../../../services/api/environment-scope.ts';
import { buildEventPageQuery, EVENT_COLUMNS } from '../../../services/exports/event-export-query.ts';
import { exportedEvent, type StoredEvent } from '../../../services/exports/event-export.ts';

const FROM = Date.UTC(2026, 10, 2, 10);
const TO = Date.UTC(2026, 10, 2, 12);
const SCOPE: ScopeCondition = { sql: 'team IN {access_teams:Array(String)}', params: { access_teams: ['alpha'] }, description: { scope: 'all' } };

const SELECT =
  'SELECT event_id, occurred_at, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, toString(cost) AS cost_text, toString(list_cost) AS list_cost_text, currency, cost_status, tenant_id, cost_center, team, feature, environment, user_id, api_key_id, gateway_id, tags';

describe('buildEventPageQuery', () => {
  it('picks the latest +1 row of each event in the slice, then applies the scope, in a stable order', () => {
    const built = buildEventPageQuery({ from: FROM, to: TO, scope: SCOPE, after: null, limit: 5000 });
    expect(built.sql).toBe(
      [
        SELECT,
        'FROM (',
        '  SELECT event_id, occurred_at, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, input_audio_tokens, cache_audio_read_tokens, output_audio_tokens, cost, list_cost, currency, cost_status, tenant_id, cost_center, team, feature, environment, user_id, api_key_id, gateway_id, tags, pricing_run FROM {db:Identifier}.usage_costs_v1',
        "  WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')} AND sign = 1",
        '  ORDER BY event_id, pricing_run DESC',
        '  LIMIT 1 BY event_id',
        ')',
        'WHERE team IN {access_teams:Array(String)}',
        'ORDER BY occurred_at, event_id',
        'LIMIT {limit:UInt32}',
      ].join('\n'),
    );
    expect(built.params).toEqual({ from: '2026-11-02 10:00:00.000', to: '2026-11-02 12:00:00.000', limit: 5000, access_teams: ['alpha'] });
  });

  it('continues after the last event of the previous page, bound, never written into the SQL', () => {
    const after = { occurredAt: '2026-11-02 10:59:59.123', eventId: "x' OR 1 --" };
    const built = buildEventPageQuery({ from: FROM, to: TO, scope: SCOPE, after, limit: 100 });
    expect(built.sql).toContain("  WHERE occurred_at >= {from:DateTime64(3, 'UTC')} AND occurred_at < {to:DateTime64(3, 'UTC')} AND sign = 1\n    AND occurred_at >= {after_at:DateTime64(3, 'UTC')}\n");
    expect(built.sql).toContain("WHERE team IN {access_teams:Array(String)}\n  AND (occurred_at, event_id) > ({after_at:DateTime64(3, 'UTC')}, {after_id:String})\nORDER BY");
    expect(built.sql).not.toContain(after.eventId);
    expect(built.params).toMatchObject({ after_at: after.occurredAt, after_id: after.eventId, limit: 100 });
  });

  it('selects every exported column once', () => {
    expect(new Set(EVENT_COLUMNS).size).toBe(EVENT_COLUMNS.length);
  });
});

describe('exportedEvent', () => {
  const stored: StoredEvent = {
    event_id: 'e1',
    occurred_at: '2026-11-02 10:15:00.250',
    provider: 'openai',
    model: 'gpt-4o-mini',
    input_tokens: 1000,
    output_tokens: 200,
    cache_read_tokens: 400,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    input_audio_tokens: 0,
    cache_audio_read_tokens: 0,
    output_audio_tokens: 0,
    cost_text: '0.00024',
    list_cost_text: '0.00024',
    currency: 'USD',
    cost_status: 'priced',
    tenant_id: '',
    cost_center: 'cc-1',
    team: 'search',
    feature: '',
    environment: 'prod',
    user_id: 'u1',
    api_key_id: '',
    gateway_id: 'gw',
    tags: { ticket: 'A-1' },
  };

  it('writes the time in RFC 3339 UTC, money as stored text and unattributed dimensions as null', () => {
    expect(exportedEvent(stored)).toEqual({
      event_id: 'e1',
      occurred_at: '2026-11-02T10:15:00.250Z',
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 1000,
      output_tokens: 200,
      cache_read_tokens: 400,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      input_audio_tokens: 0,
      cache_audio_read_tokens: 0,
      output_audio_tokens: 0,
      cost: '0.00024',
      list_cost: '0.00024',
      currency: 'USD',
      cost_status: 'priced',
      tenant_id: null,
      cost_center: 'cc-1',
      team: 'search',
      feature: null,
      environment: 'prod',
      user_id: 'u1',
      api_key_id: null,
      gateway_id: 'gw',
      tags: { ticket: 'A-1' },
    });
    expect(Object.keys(exportedEvent(stored))).toEqual([...EVENT_COLUMNS]);
  });
});
