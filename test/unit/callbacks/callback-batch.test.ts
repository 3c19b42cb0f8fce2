import { describe, expect, it } from 'vitest';
import { AttributionPolicy } from '../../../services/attribution/attribution-policy.ts';
import { judgeCallbackBatch, type CallbackLimits } from '../../../services/callbacks/callback-batch.ts';
import { kongAdapter } from '../../../services/callbacks/kong-usage-event.ts';
import { liteLlmAdapter } from '../../../services/callbacks/litellm-usage-event.ts';
import { callbackFixture } from '../../fixtures/callbacks/callback-fixtures.ts';

const NOW = Date.UTC(2026, 10, 24, 3, 0, 0);
const LIMITS: CallbackLimits = { maxItems: 4, maxFutureSkewMs: 15 * 60_000 };
const builtIn = AttributionPolicy.builtIn;
const teamRequired = AttributionPolicy.fromText(JSON.stringify({ requirements: [{ id: 'owner', dimensions: ['team', 'feature'], on_missing: 'reject' }] }));
const litellm = (body: unknown, policy = builtIn, defaults = { gatewayId: 'litellm' }) => judgeCallbackBatch(body, liteLlmAdapter, defaults, LIMITS, NOW, policy);

describe('judgeCallbackBatch', () => {
  it('takes one payload as LiteLLM posts it with log_format "single", and a JSON array as with "json_array"', () => {
    const single = litellm(callbackFixture('litellm-openai-chat'));
    expect(single).toMatchObject({ ok: true, results: [{ index: 0, event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', status: 'accepted' }] });
    const batch = litellm([callbackFixture('litellm-openai-chat'), callbackFixture('litellm-embedding'), callbackFixture('litellm-failure')]);
    expect(batch.ok && batch.accepted.map((event) => [event.event_id, event.model, event.occurred_at])).toEqual([
      ['5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', 'gpt-4o-mini-2024-07-18', Date.UTC(2026, 10, 20, 9, 30, 0, 123)],
      ['2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f@1795167180.5', 'text-embedding-3-small', Date.UTC(2026, 10, 20, 9, 33, 0, 500)],
      ['d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a@1795167240', 'gpt-4o', Date.UTC(2026, 10, 20, 9, 34)],
    ]);
  });

  it('judges each item on its own, in order, and names what the shared validation refused at the gateway\'s field', () => {
    const backwards = callbackFixture('litellm-openai-stream');
    backwards['completionStartTime'] = backwards['endTime'] + 1;
    const future = callbackFixture('litellm-embedding');
    future['startTime'] = NOW / 1000 + 3600;
    future['endTime'] = future['startTime'] + 0.2;
    future['completionStartTime'] = future['endTime'];
    const negative = callbackFixture('litellm-openai-chat');
    negative['response_cost'] = -0.5;
    const judged = litellm([backwards, future, negative, null]);
    expect(judged).toEqual({
      ok: true,
      accepted: [],
      results: [
        { index: 0, event_id: '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b@1795167060.25', status: 'rejected', errors: [{ path: 'completionStartTime', field: 'ttft_ms', message: 'must not exceed latency_ms (9250)' }] },
        { index: 1, event_id: '2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f@1795492800', status: 'rejected', errors: [{ path: 'startTime', field: 'occurred_at', message: 'is more than 15 minutes after the event was received' }] },
        { index: 2, event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', status: 'rejected', errors: [{ path: 'response_cost', field: 'reported_cost', message: 'must not be negative' }] },
        { index: 3, event_id: null, status: 'rejected', errors: [{ path: '', message: 'is null: LiteLLM logged no standard logging payload for this call' }] },
      ],
    });
  });

  it('refuses by the attribution policy, naming where in the payload the missing dimension would come from', () => {
    const payload = callbackFixture('litellm-anthropic-cache');
    payload['metadata']['user_api_key_team_id'] = null;
    expect(litellm([payload], teamRequired)).toMatchObject({
      ok: true,
      results: [
        {
          index: 0,
          status: 'rejected',
          errors: [
            { path: 'metadata.user_api_key_team_alias', field: 'team', message: 'is required by the attribution policy (requirement "owner")' },
            { path: 'metadata.spend_logs_metadata.feature', field: 'feature', message: 'is required by the attribution policy (requirement "owner")' },
          ],
        },
      ],
    });
    const kong = callbackFixture('kong-anthropic-chat');
    delete kong['request']['headers']['x-spendline-feature'];
    expect(judgeCallbackBatch([kong], kongAdapter, { gatewayId: 'kong' }, LIMITS, NOW, teamRequired)).toMatchObject({
      results: [{ status: 'rejected', errors: [{ path: 'spendline.feature', field: 'feature', message: 'is required by the attribution policy (requirement "owner")' }] }],
    });
  });

  it('a Kong batch: model calls accepted, other routes ignored, each in its place', () => {
    const judged = judgeCallbackBatch([callbackFixture('kong-plain-route'), callbackFixture('kong-openai-chat'), callbackFixture('kong-rate-limited')], kongAdapter, { gatewayId: 'kong' }, LIMITS, NOW, builtIn);
    expect(judged).toMatchObject({
      ok: true,
      results: [
        { index: 0, event_id: null, status: 'ignored', reason: 'no ai block: the request was not proxied to a model by AI Proxy with log_statistics' },
        { index: 1, event_id: '9ec9264afbbbad5fe5c64877d92eeb04', status: 'accepted' },
        { index: 2, event_id: '8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c', status: 'accepted' },
      ],
    });
  });

  it('a payload sent twice in one batch is accepted twice and stored once (the sink keeps one per event_id)', () => {
    const judged = litellm([callbackFixture('litellm-openai-chat'), callbackFixture('litellm-openai-chat')]);
    expect(judged.ok && judged.accepted.map((event) => event.event_id)).toEqual(['5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456']);
  });

  it.each([
    ['null', null],
    ['a string', 'payload'],
    ['a number', 7],
    ['true', true],
  ])('answers 400 for %s as the body', (_what, body) => {
    expect(litellm(body)).toEqual({ ok: false, status: 400, code: 'invalid_request', message: 'the body must be a LiteLLM standard logging payload or a JSON array of them' });
  });

  it('answers 400 for an empty batch and 413 past the item limit (exactly the limit is fine)', () => {
    expect(litellm([])).toEqual({ ok: false, status: 400, code: 'invalid_request', message: 'the batch holds no items' });
    const five = Array.from({ length: 5 }, () => callbackFixture('litellm-embedding'));
    expect(litellm(five)).toEqual({ ok: false, status: 413, code: 'batch_too_large', message: 'the batch holds 5 items; at most 4 per request' });
    expect(litellm(five.slice(1))).toMatchObject({ ok: true });
  });

  it('gives every accepted event the identity POST /v1/events would: the same event_id for the same call', () => {
    const judged = litellm([callbackFixture('litellm-openai-chat')]);
    expect(judged.ok && judged.accepted[0]).toMatchObject({ event_id: '5b2f8c1e-7d4a-4e0b-9a63-1f2e3d4c5b6a@1795167000.123456', trace_id: null, span_id: null, gateway_id: 'litellm', reported_cost: '0.0003249' });
  });
});
