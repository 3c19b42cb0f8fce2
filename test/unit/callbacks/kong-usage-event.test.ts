import { describe, expect, it } from 'vitest';
import type { ItemMapping } from '../../../services/callbacks/event-draft.ts';
import { kongUsageEvent } from '../../../services/callbacks/kong-usage-event.ts';
import { callbackFixture } from '../../fixtures/callbacks/callback-fixtures.ts';

const DEFAULTS = { gatewayId: 'kong' };
const map = (item: unknown) => kongUsageEvent(item, DEFAULTS);
function mapped(item: unknown): Record<string, unknown> {
  const mapping: ItemMapping = map(item);
  if (mapping.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(mapping)}`);
  return { ...mapping.event };
}

describe('Kong log entry (http-log, AI Proxy statistics) → usage event', () => {
  it('a chat call: request id, AI Proxy usage and cost, the operator\'s spendline fields, the client\'s headers, the trace', () => {
    expect(mapped(callbackFixture('kong-openai-chat'))).toEqual({
      event_id: '9ec9264afbbbad5fe5c64877d92eeb04',
      occurred_at: '2026-11-20T09:35:00.719Z',
      latency_ms: 1283,
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      operation: 'chat',
      status: 'ok',
      input_tokens: 1200,
      output_tokens: 300,
      cache_read_tokens: 0,
      reasoning_tokens: 0,
      input_audio_tokens: 0,
      output_audio_tokens: 0,
      reported_cost: '0.00036',
      team: 'support',
      environment: 'prod',
      feature: 'support-bot',
      api_key_id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
      gateway_id: 'kong',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      tags: { channel: 'web', 'kong.consumer': 'support-bot', 'kong.route': 'openai-chat', 'kong.service': 'openai-service', 'kong.workspace': 'default' },
    });
  });

  it('keeps the trace but not the span of traceparent: that span is the caller\'s, not this call\'s', () => {
    const event = mapped(callbackFixture('kong-openai-chat'));
    expect(event).not.toHaveProperty('span_id');
  });

  it('an Anthropic call through Kong without configured prices: no reported cost (Kong writes 0), team from the header', () => {
    const event = mapped(callbackFixture('kong-anthropic-chat'));
    expect(event).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 5000, output_tokens: 400, team: 'research', feature: 'summaries', latency_ms: 8112 });
    expect(event).not.toHaveProperty('reported_cost');
  });

  it('an embedding (read from the upstream path) with the operator\'s tags and an exponent-notation cost', () => {
    expect(mapped(callbackFixture('kong-embedding'))).toMatchObject({ operation: 'embedding', input_tokens: 12, output_tokens: 0, reported_cost: '0.00000024', tags: { index: 'kb-articles' } });
  });

  it('a provider error (429): status error with the HTTP status as code', () => {
    expect(mapped(callbackFixture('kong-rate-limited'))).toMatchObject({ status: 'error', error_code: '429', input_tokens: 0, output_tokens: 0, latency_ms: 138 });
  });

  it('Kong 3.6: statistics under ai["ai-proxy"] with the singular token names, latency from latencies.proxy, Azure\'s served model', () => {
    expect(mapped(callbackFixture('kong-3.6-legacy'))).toMatchObject({
      event_id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
      provider: 'azure',
      model: 'gpt-4o-2024-08-06',
      input_tokens: 89,
      output_tokens: 56,
      latency_ms: 4927,
      gateway_id: 'kong',
    });
  });

  it('an AI Semantic Cache hit is a call without provider tokens', () => {
    const entry = callbackFixture('kong-openai-chat');
    entry['ai']['proxy']['cache'] = { cache_status: 'Hit', fetch_latency: 3 };
    expect(mapped(entry)).toMatchObject({ input_tokens: 0, output_tokens: 0, tags: { 'kong.cache_status': 'Hit' } });
  });

  it('Kong 3.11 breakdowns: cached and reasoning tokens; an Anthropic prompt count without its cache reads gets them added', () => {
    const entry = callbackFixture('kong-openai-chat');
    entry['ai']['proxy']['usage'] = { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1024 }, completion_tokens_details: { reasoning_tokens: 120 } };
    expect(mapped(entry)).toMatchObject({ input_tokens: 1200, cache_read_tokens: 1024, output_tokens: 300, reasoning_tokens: 120 });
    entry['ai']['proxy']['usage'] = { prompt_tokens: 10, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 4000 } };
    expect(mapped(entry)).toMatchObject({ input_tokens: 4010, cache_read_tokens: 4000 });
  });

  it('the operator\'s spendline fields win over the client\'s headers; gateway_id can be set per Kong too', () => {
    const entry = callbackFixture('kong-openai-chat');
    entry['request']['headers']['x-spendline-team'] = 'claimed';
    entry['spendline'] = { team: 'support', gateway_id: 'kong-eu-1' };
    expect(mapped(entry)).toMatchObject({ team: 'support', gateway_id: 'kong-eu-1' });
  });

  it('keeps a call whose dimension it cannot store, the dimension absent and noted in a tag', () => {
    const entry = callbackFixture('kong-openai-chat');
    entry['spendline'] = { team: 'x'.repeat(300) };
    entry['request']['headers']['x-spendline-team'] = 'claimed';
    const event = mapped(entry);
    expect(event).not.toHaveProperty('team');
    expect(event['tags']).toMatchObject({ 'spendline.dropped.team': 'spendline.team: must be at most 256 characters' });
  });

  it('ignores entries of routes without AI Proxy statistics, whatever else they hold', () => {
    expect(map(callbackFixture('kong-plain-route'))).toEqual({ kind: 'ignored', reason: 'no ai block: the request was not proxied to a model by AI Proxy with log_statistics' });
    expect(map({ ...callbackFixture('kong-plain-route'), ai: { 'ai-prompt-guard': { status: 'allowed' } } })).toEqual({ kind: 'ignored', reason: 'no ai.proxy usage or meta: no model call statistics in this entry' });
  });

  it('refuses entries it cannot read, at the field', () => {
    const invalid = (item: unknown) => {
      const mapping = map(item);
      return mapping.kind === 'invalid' ? mapping.issues : mapping;
    };
    expect(invalid('log line')).toEqual([{ path: '', message: 'must be a Kong log entry (a JSON object)' }]);
    const noId = callbackFixture('kong-openai-chat');
    delete noId['request']['id'];
    expect(invalid(noId)).toEqual([{ path: 'request.id', message: 'is required (Kong 3.5 and later log it): it identifies the call, so a batch sent again counts once' }]);
    const seconds = { ...callbackFixture('kong-openai-chat'), started_at: 1_795_167_300.719 };
    expect(invalid(seconds)).toEqual([{ path: 'started_at', message: 'must be milliseconds since the epoch between 2015 and 2100 (got 1795167300.719)' }]);
    const broken = callbackFixture('kong-openai-chat');
    broken['ai']['proxy']['usage']['prompt_tokens'] = -1;
    broken['ai']['proxy']['usage']['cost'] = 'free';
    broken['ai']['proxy']['meta']['llm_latency'] = '1283';
    broken['request']['headers']['x-spendline-feature'] = 42;
    expect(invalid(broken)).toEqual([
      { path: 'request.headers.x-spendline-feature', message: 'must be a string or a list of strings (a repeated header)' },
      { path: 'ai.proxy.usage.prompt_tokens', message: 'must not be negative' },
      { path: 'ai.proxy.usage.cost', message: 'must be a number, got string' },
      { path: 'ai.proxy.meta.llm_latency', message: 'must be a number, got string' },
    ]);
  });
});
