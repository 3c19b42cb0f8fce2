import { describe, expect, it } from 'vitest';
import { liteLlmUsageEvent } from '../../../services/callbacks/litellm-usage-event.ts';
import type { ItemMapping } from '../../../services/callbacks/event-draft.ts';
import { callbackFixture } from '../../fixtures/callbacks/callback-fixtures.ts';

const DEFAULTS = { gatewayId: 'litellm' };

function eventOf(mapping: ItemMapping): Record<string, unknown> {
  if (mapping.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(mapping)}`);
  return { ...mapping.event };
}
const map = (item: unknown, defaults: { gatewayId: string; environment?: string } = DEFAULTS) => liteLlmUsageEvent(item, defaults);
const mapped = (item: unknown) => eventOf(map(item));

const NO_AUDIO = { input_audio_tokens: 0, output_audio_tokens: 0 };

describe('LiteLLM standard logging payload → usage event', () => {
  it('a chat call: served model, cached tokens inside the prompt, the key owner, spend-log dimensions and request tags', () => {
    expect(mapped(callbackFixture('litellm-openai-chat'))).toEqual({
      event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456',
      occurred_at: '2026-11-20T09:30:00.123Z',
      latency_ms: 1334,
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      operation: 'chat',
      status: 'ok',
      input_tokens: 1830,
      output_tokens: 212,
      cache_read_tokens: 1024,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      ...NO_AUDIO,
      reported_cost: '0.0003249',
      api_key_id: '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b',
      team: 'search',
      feature: 'answers',
      user_id: 'customer-4711',
      gateway_id: 'litellm',
      tags: {
        'litellm.call_id': '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a',
        'litellm.key_alias': 'search-backend-prod',
        'litellm.team_id': '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
        'litellm.org_id': 'c3a5e2b1-4d6f-4a8b-9c0d-1e2f3a4b5c6d',
        'litellm.model_group': 'gpt-4o-mini',
        'litellm.trace_id': '0f4d8e2a-9b1c-4a7e-8f3d-2c6b5a4e3d21',
        'litellm.call_type': 'acompletion',
        release: '2026.11',
        answers: 'true',
        tenant: 'acme',
      },
    });
  });

  it('a streamed call: time to first token, reasoning inside the completion, x-spendline-* headers the client sent', () => {
    expect(mapped(callbackFixture('litellm-openai-stream'))).toEqual({
      event_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b@1795167060.25',
      occurred_at: '2026-11-20T09:31:00.250Z',
      latency_ms: 9250,
      ttft_ms: 420,
      provider: 'openai',
      model: 'o4-mini-2025-04-16',
      operation: 'chat',
      status: 'ok',
      input_tokens: 2400,
      output_tokens: 900,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 640,
      ...NO_AUDIO,
      reported_cost: '0.0066',
      api_key_id: '3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea',
      team: 'agents',
      session_id: 'sess-77',
      agent_run_id: 'run-2026-11-20-0042',
      feature: 'triage-agent',
      environment: 'staging',
      gateway_id: 'litellm',
      tags: {
        experiment: 'b',
        ticket: 'OPS-12',
        'litellm.call_id': '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b',
        'litellm.key_alias': 'agents-staging',
        'litellm.team_id': '0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d',
        'litellm.model_group': 'reasoning-small',
        'litellm.trace_id': '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
        'litellm.call_type': 'acompletion',
        'User-Agent': 'OpenAI/Python 1.99.1',
      },
    });
  });

  it('an Anthropic call with cache reads and writes: LiteLLM counts both inside prompt_tokens, so nothing is added', () => {
    const event = mapped(callbackFixture('litellm-anthropic-cache'));
    expect(event).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      latency_ms: 64_870,
      input_tokens: 98_807,
      cache_read_tokens: 66_360,
      cache_write_tokens: 32_435,
      output_tokens: 5_120,
      reasoning_tokens: 1_710,
      reported_cost: '0.21837525',
      // No team alias on the key: its team id is the team.
      team: 'b56d884a-3e1e-4981-9297-1bfd159bf00e',
    });
    expect(event).not.toHaveProperty('ttft_ms');
    expect(event['tags']).not.toHaveProperty('litellm.team_id');
  });

  it("an Anthropic call from a LiteLLM release that added only the cache reads: the writes are added (they cannot be inside)", () => {
    const payload = callbackFixture('litellm-anthropic-cache');
    const usage = payload['metadata']['usage_object'];
    usage.prompt_tokens = 12 + 66_360;
    delete usage.prompt_tokens_details.cache_creation_tokens;
    delete usage.prompt_tokens_details.text_tokens;
    expect(mapped(payload)).toMatchObject({ input_tokens: 98_807, cache_read_tokens: 66_360, cache_write_tokens: 32_435 });
  });

  it('an embedding: operation embedding, a cost below a micro-dollar as an exact decimal', () => {
    expect(mapped(callbackFixture('litellm-embedding'))).toMatchObject({
      operation: 'embedding',
      model: 'text-embedding-3-small',
      input_tokens: 8,
      output_tokens: 0,
      reported_cost: '0.00000016',
      feature: 'indexing',
    });
  });

  it('a failed call: status error with the provider code, model and provider from the request, no tokens', () => {
    expect(mapped(callbackFixture('litellm-failure'))).toMatchObject({
      event_id: 'd4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a@1795167240',
      status: 'error',
      error_code: '429',
      provider: 'openai',
      model: 'gpt-4o',
      input_tokens: 0,
      output_tokens: 0,
      reported_cost: '0',
      latency_ms: 412,
    });
  });

  it('a failure without a code reports the error class; one without custom_llm_provider takes the provider from the error', () => {
    const payload = callbackFixture('litellm-failure');
    payload['error_information'] = { error_code: null, error_class: 'APIConnectionError', llm_provider: 'anthropic' };
    payload['custom_llm_provider'] = null;
    payload['model'] = 'claude-sonnet-4-5';
    expect(mapped(payload)).toMatchObject({ status: 'error', error_code: 'APIConnectionError', provider: 'anthropic', model: 'claude-sonnet-4-5' });
  });

  it('an older payload without status is a failure when it carries error_str', () => {
    const payload = callbackFixture('litellm-failure');
    delete payload['status'];
    expect(mapped(payload)).toMatchObject({ status: 'error' });
    delete payload['error_str'];
    expect(mapped(payload)).toMatchObject({ status: 'ok' });
  });

  it("a hit of LiteLLM's own cache is a call without provider tokens", () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['cache_hit'] = true;
    payload['response_cost'] = 0;
    const event = mapped(payload);
    expect(event).toMatchObject({ input_tokens: 0, output_tokens: 0, reported_cost: '0' });
    expect(event).not.toHaveProperty('cache_read_tokens');
    expect(event['tags']).toMatchObject({ 'litellm.cache_hit': 'true' });
  });

  it('leaves reported_cost out when LiteLLM says it could not price the call', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['response_cost'] = 0;
    payload['response_cost_failure_debug_info'] = { error_str: 'model not mapped', traceback_str: '…', model: 'my-finetune' };
    expect(mapped(payload)).not.toHaveProperty('reported_cost');
  });

  it('gives each attempt of a request its own event_id: the proxy logs retries and fallbacks under one call id', () => {
    const failed = { ...callbackFixture('litellm-failure'), litellm_call_id: 'req-1', startTime: 1_795_167_240.0, endTime: 1_795_167_240.412 };
    const retried = { ...callbackFixture('litellm-openai-chat'), litellm_call_id: 'req-1', startTime: 1_795_167_240.51, endTime: 1_795_167_241.8 };
    expect([mapped(failed)['event_id'], mapped(retried)['event_id']]).toEqual(['req-1@1795167240', 'req-1@1795167240.51']);
    // The same payload again (a replayed batch) is the same event.
    expect(mapped(structuredClone(retried))['event_id']).toBe('req-1@1795167240.51');
  });

  it('replaces an id too long for an event_id by its digest, deterministically', () => {
    const payload = { ...callbackFixture('litellm-openai-chat'), litellm_call_id: 'x'.repeat(120) };
    const id = mapped(payload)['event_id'] as string;
    expect(id).toMatch(/^litellm-[0-9a-f]{64}$/);
    expect(mapped({ ...payload })['event_id']).toBe(id);
  });

  it('reads the call id under either name LiteLLM has given it: litellm_call_id, or call_id', () => {
    expect(mapped(callbackFixture('litellm-openai-chat'))).toMatchObject({ event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', tags: { 'litellm.call_id': '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a' } });
    expect(mapped(callbackFixture('litellm-call-id'))).toEqual({
      event_id: '3e7a1c55-92b4-4f0d-8a6e-c4d2b1f09e37@1795167300.75',
      occurred_at: '2026-11-20T09:35:00.750Z',
      latency_ms: 1150,
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      operation: 'chat',
      status: 'ok',
      input_tokens: 1000,
      output_tokens: 100,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      ...NO_AUDIO,
      reported_cost: '0.00021',
      api_key_id: '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b',
      team: 'search',
      feature: 'answers',
      gateway_id: 'litellm',
      tags: {
        'litellm.call_id': '3e7a1c55-92b4-4f0d-8a6e-c4d2b1f09e37',
        'litellm.key_alias': 'search-backend-prod',
        'litellm.team_id': '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
        'litellm.org_id': 'c3a5e2b1-4d6f-4a8b-9c0d-1e2f3a4b5c6d',
        'litellm.model_group': 'gpt-4o-mini',
        'litellm.trace_id': 'a81f3c2e-6d94-4b7a-9e05-7c3b2d1f4e60',
        'litellm.call_type': 'acompletion',
      },
    });
  });

  it('prefers litellm_call_id when a payload carries both names', () => {
    const payload = { ...callbackFixture('litellm-call-id'), litellm_call_id: 'req-new' };
    expect(mapped(payload)['event_id']).toBe('req-new@1795167300.75');
  });

  it('takes event_id from id when the payload names no call id at all (older releases)', () => {
    const payload = callbackFixture('litellm-openai-chat');
    delete payload['litellm_call_id'];
    expect(mapped(payload)['event_id']).toBe('chatcmpl-Bq7x2Lm9ZkR4tW8vN1pQ3sD6fG0hJ@1795167000.123456');
    const named = callbackFixture('litellm-call-id');
    delete named['call_id'];
    expect(mapped(named)['event_id']).toBe('chatcmpl-Cx4Wq8Tn2Lp6Vb0Rm3Zk7Yh1Jd5@1795167300.75');
  });

  it('names provider and model the way the catalog does: Bedrock is aws, the provider prefix leaves the model', () => {
    const payload = callbackFixture('litellm-anthropic-cache');
    payload['custom_llm_provider'] = 'bedrock';
    payload['model'] = 'bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    payload['response'] = 'redacted-by-litellm';
    expect(mapped(payload)).toMatchObject({ provider: 'aws', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' });
    payload['custom_llm_provider'] = 'vertex_ai';
    payload['model'] = 'gemini-2.5-pro';
    expect(mapped(payload)).toMatchObject({ provider: 'google', model: 'gemini-2.5-pro' });
    payload['custom_llm_provider'] = 'hosted_vllm';
    expect(mapped(payload)).toMatchObject({ provider: 'hosted_vllm' });
    payload['custom_llm_provider'] = null;
    payload['model'] = 'together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo';
    expect(mapped(payload)).toMatchObject({ provider: 'together', model: 'meta-llama/Llama-3.3-70B-Instruct-Turbo' });
  });

  it('reads usage from hidden_params.usage_object or the response when metadata has none', () => {
    const payload = callbackFixture('litellm-openai-chat');
    const usage = payload['metadata']['usage_object'];
    delete payload['metadata']['usage_object'];
    payload['hidden_params']['usage_object'] = usage;
    expect(mapped(payload)).toMatchObject({ input_tokens: 1830, cache_read_tokens: 1024 });
    delete payload['hidden_params']['usage_object'];
    expect(mapped(payload)).toMatchObject({ input_tokens: 1830, cache_read_tokens: 1024 });
    payload['response'] = 'redacted-by-litellm';
    expect(mapped(payload)).toMatchObject({ input_tokens: 1830, output_tokens: 212, cache_read_tokens: 0 });
  });

  it('the query string fills gateway_id and an environment the payload does not name', () => {
    expect(mapped(callbackFixture('litellm-openai-chat'))).not.toHaveProperty('environment');
    expect(eventOf(map(callbackFixture('litellm-openai-chat'), { gatewayId: 'litellm-eu', environment: 'prod' }))).toMatchObject({ gateway_id: 'litellm-eu', environment: 'prod' });
    // The client's x-spendline-environment header is more specific than the deployment's default.
    expect(eventOf(map(callbackFixture('litellm-openai-stream'), { gatewayId: 'litellm', environment: 'prod' }))).toMatchObject({ environment: 'staging' });
  });

  it("the key's team wins over the team the request claims", () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['metadata']['spend_logs_metadata'] = { team: 'someone-else', cost_center: 'cc-77' };
    payload['metadata']['requester_custom_headers'] = { 'X-Spendline-Team': 'third', 'X-Spendline-Cost-Center': 'cc-99' };
    expect(mapped(payload)).toMatchObject({ team: 'search', cost_center: 'cc-77' });
    payload['metadata']['user_api_key_team_alias'] = null;
    payload['metadata']['user_api_key_team_id'] = null;
    expect(mapped(payload)).toMatchObject({ team: 'someone-else' });
  });

  it('stores no e-mail address: LiteLLM\'s internal user id is not carried over', () => {
    expect(JSON.stringify(mapped(callbackFixture('litellm-openai-chat')))).not.toContain('a.lovelace@example.com');
  });

  it('reads an unknown call type as operation other, whatever its name', () => {
    for (const callType of ['arerank', 'moderation', 'constructor', '__proto__']) {
      expect(mapped({ ...callbackFixture('litellm-openai-chat'), call_type: callType })['operation']).toBe('other');
    }
  });

  it('needs only the id, the times, the model and its counts: every other field is optional', () => {
    const minimal = { id: 'chatcmpl-min', startTime: 1_795_167_000, custom_llm_provider: 'openai', model: 'gpt-4o-mini', prompt_tokens: 10, completion_tokens: 2 };
    expect(mapped(minimal)).toEqual({
      event_id: 'chatcmpl-min@1795167000',
      occurred_at: '2026-11-20T09:30:00.000Z',
      provider: 'openai',
      model: 'gpt-4o-mini',
      operation: 'chat',
      status: 'ok',
      input_tokens: 10,
      output_tokens: 2,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      ...NO_AUDIO,
      gateway_id: 'litellm',
    });
  });

  it('keeps at most 50 tags and leaves out tags Spendline cannot store instead of the whole call', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['request_tags'] = [':no-key', '9lives', 'ok=1', `long=${'x'.repeat(300)}`, 'bell\u0007=x', ...Array.from({ length: 60 }, (_, i) => `t${i}`)];
    const tags = mapped(payload)['tags'] as Record<string, string>;
    expect(Object.keys(tags)).toHaveLength(50);
    expect(tags['ok']).toBe('1');
    expect(tags).not.toHaveProperty('9lives');
    expect(tags).not.toHaveProperty('long');
    expect(tags['t0']).toBe('true');
  });
});

describe('LiteLLM payloads Spendline refuses, each with the field at fault', () => {
  const issuesOf = (item: unknown) => {
    const mapping = map(item);
    if (mapping.kind !== 'invalid') throw new Error(`expected invalid, got ${JSON.stringify(mapping)}`);
    return mapping.issues;
  };

  it.each([
    ['null (LiteLLM had no payload for the call)', null, [{ path: '', message: 'is null: LiteLLM logged no standard logging payload for this call' }]],
    ['a string', 'chatcmpl-1', [{ path: '', message: 'must be a LiteLLM standard logging payload (a JSON object)' }]],
    ['a nested array', [[]], [{ path: '', message: 'must be a LiteLLM standard logging payload (a JSON object)' }]],
  ])('%s', (_what, item, issues) => {
    expect(issuesOf(item)).toEqual(issues);
  });

  it("the legacy v1 payload (generic_api_use_v1), with what to change on LiteLLM's side", () => {
    const v1 = { id: 'chatcmpl-1', call_type: 'completion', startTime: '2026-11-20 09:30:00.123456', endTime: '2026-11-20 09:30:01.4', model: 'gpt-4o', usage: "Usage(prompt_tokens=3)", cost: '0.0001' };
    expect(issuesOf(v1)).toEqual([{ path: '', message: "is LiteLLM's legacy generic API payload (litellm.generic_api_use_v1); Spendline reads the standard logging payload: unset generic_api_use_v1" }]);
  });

  it('wrong types and negative or fractional counts, all at once, at their paths', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['prompt_tokens'] = '1830';
    payload['metadata']['usage_object']['completion_tokens'] = -212;
    payload['metadata']['usage_object']['prompt_tokens_details']['cached_tokens'] = 10.5;
    payload['status'] = 'ok';
    payload['request_tags'] = ['fine', 7];
    payload['response_cost'] = '0.0003249';
    delete payload['model'];
    expect(issuesOf(payload)).toEqual([
      { path: 'status', message: 'must be "success" or "failure"' },
      { path: 'response_cost', message: 'must be a number, got string' },
      { path: 'prompt_tokens', message: 'must be a number, got string' },
      { path: 'model', message: 'is required' },
      { path: 'metadata.usage_object.completion_tokens', message: 'must not be negative' },
      { path: 'metadata.usage_object.prompt_tokens_details.cached_tokens', message: 'must be a whole number' },
      { path: 'request_tags[1]', message: 'must be a string, got number' },
    ]);
  });

  it('a start time in milliseconds (a unit error) or missing', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['startTime'] = 1_795_167_000_123;
    expect(issuesOf(payload)).toEqual([{ path: 'startTime', message: 'must be seconds since the epoch between 2015 and 2100 (got 1795167000123; milliseconds?)' }]);
    delete payload['startTime'];
    expect(issuesOf(payload)).toEqual([{ path: 'startTime', message: 'is required' }]);
  });

});

describe('labels LiteLLM logged that Spendline cannot store (LiteLLM never resends a rejected item)', () => {
  it('leaves out a malformed x-spendline-tags pair, keeping the others and the call', () => {
    const payload = callbackFixture('litellm-openai-stream');
    payload['metadata']['requester_custom_headers'] = {};
    const without = mapped(payload);
    payload['metadata']['requester_custom_headers'] = { 'X-Spendline-Tags': 'no equals sign, release=2026.11, 9lives=x' };
    expect(mapped(payload)).toEqual({ ...without, tags: { ...(without['tags'] as object), release: '2026.11' } });
  });

  it('keeps a call whose dimension it cannot store: absent, not filled from a weaker source, and noted in a tag', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['metadata']['user_api_key_team_alias'] = 's'.repeat(257);
    payload['metadata']['spend_logs_metadata']['feature'] = 'answers\nv2';
    payload['metadata']['requester_custom_headers'] = { 'X-Spendline-Feature': 'from-header', 'x-spendline-session': 'x'.repeat(300) };
    const event = mapped(payload);
    expect(event).not.toHaveProperty('team');
    expect(event).not.toHaveProperty('feature');
    expect(event).not.toHaveProperty('session_id');
    expect(event).toMatchObject({ input_tokens: 1830, api_key_id: '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b' });
    expect(event['tags']).toMatchObject({
      'spendline.dropped.team': 'metadata.user_api_key_team_alias: must be at most 256 characters',
      'spendline.dropped.feature': 'metadata.spend_logs_metadata.feature: must not contain control characters',
      'spendline.dropped.session_id': 'metadata.requester_custom_headers.x-spendline-session: must be at most 256 characters',
    });
  });

  it('keeps the notes within the 50-tag limit, ahead of the payload\'s own tags', () => {
    const payload = callbackFixture('litellm-openai-chat');
    payload['request_tags'] = Array.from({ length: 60 }, (_, index) => `t${index}:v`);
    payload['metadata']['user_api_key_team_alias'] = '\u0007';
    const tags = mapped(payload)['tags'] as Record<string, string>;
    expect(Object.keys(tags)).toHaveLength(50);
    expect(tags['spendline.dropped.team']).toBe('metadata.user_api_key_team_alias: must not contain control characters');
  });
});
