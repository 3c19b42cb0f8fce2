/**
 * bench:gateway's gateway, in its own process: the production code path —
 * buildHttpServer + registerProxyRoutes, composed as spendline-process.ts
 * composes them — with the real attribution policy (the built-in one: no
 * policy file), the real pricing (the bundled catalog), one upstream (the
 * mock), the model rules of deploy/gateway.example.json, a KeyRateLimiter,
 * and:
 *  - authenticate: one gateway key, checked the way GatewayKeyStore.verify
 *    checks one (parse the key, find its id, compare the secret's SHA-256 in
 *    constant time) without the ClickHouse table behind the store. The key
 *    has no per-minute limits unless the parent asks for some (a key's
 *    default: unlimited, which the limiter lets through without counting);
 *  - budgets: a fixed set of statuses, as BudgetStatusFeed would hold them
 *    from budget.status.v1 — some blocking or downgrading other teams, none
 *    covering the bench's calls;
 *  - emit: the synchronous part of UsageEmitter.emit — encodeUsageEvent,
 *    the same checks and the same Avro single-object encoding — then counts
 *    the event instead of buffering it for Kafka. The Kafka send happens in
 *    the background after the response in production; bench:pipeline
 *    measures it.
 *
 * BENCH_GATEWAY_ALLOC_PROFILE=FILE samples what the process allocates from
 * start to exit, collected objects included (V8's sampling heap profiler,
 * every 32 KiB on average), and writes it to FILE as a .heapprofile that
 * Chrome DevTools opens: where the garbage the collector pauses for comes from.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { EMITTER_DEFAULTS, encodeUsageEvent, type UsageEventRecord } from '@spendline/emitter';
import type { BudgetStatus } from '../../../services/alerts/budget-alert-publisher.ts';
import { buildHttpServer } from '../../../services/api/http-server.ts';
import { PolicySource } from '../../../services/attribution/policy-source.ts';
import { BearerTokens } from '../../../services/auth/bearer-tokens.ts';
import type { GatewaySettings } from '../../../services/gateway/gateway-config.ts';
import { generateGatewayKey, hashSecret, parseGatewayKey, secretMatches } from '../../../services/gateway/gateway-keys.ts';
import { KeyRateLimiter } from '../../../services/gateway/key-rate-limiter.ts';
import { registerProxyRoutes, type GatewayCaller } from '../../../services/gateway/proxy-routes.ts';
import { createLogger } from '../../../services/logging/logger.ts';
import { Metrics } from '../../../services/metrics/metrics.ts';
import { PricingSource } from '../../../services/pricing/pricing-source.ts';
import { serve } from './child-ipc.ts';

/** The bench key's limits; 0: unlimited. */
export interface KeyLimits {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
}

/** What the gateway handed to its emitter since it started. */
export interface EmitCounts {
  /** Checked and Avro-encoded: what the real emitter would buffer for Kafka. */
  readonly encoded: number;
  /** Of those, events with the provider's token counts read (input_tokens > 0). */
  readonly withUsage: number;
  /** Of those, events recording a failed call (status error). */
  readonly failedCalls: number;
  /** Refused by the checks or the encoding: the real emitter would refuse them too. */
  readonly refused: number;
  readonly encodedBytes: number;
}

const log = createLogger('warn');
const key = generateGatewayKey();
const keySha256 = hashSecret(key.secret);
const counts = { encoded: 0, withUsage: 0, failedCalls: 0, refused: 0, encodedBytes: 0 };

/** Budgets of other teams, as the status feed holds them: the gateway checks each call against all of them. */
const BUDGETS: readonly BudgetStatus[] = ['search', 'ads', 'growth', 'research', 'platform', 'data', 'mobile', 'web'].map((team, index): BudgetStatus => ({
  budget_id: `monthly-${team}`,
  scope: index % 2 === 0 ? { team: [team] } : { team: [team], environment: ['prod'] },
  state: index < 2 ? 'breached' : index < 4 ? 'warning' : 'ok',
  decision: index === 0 ? 'block' : index === 1 ? 'downgrade' : 'allow',
  downgrade_model: index === 1 ? 'gpt-4o-mini' : null,
  period: '2026-11',
  amount: '5000.00',
  spent: index < 2 ? '5012.40' : '1200.00',
  used: index < 2 ? '1.0025' : '0.24',
  evaluated_at: Date.now(),
}));

function authenticator(limits: KeyLimits): (token: string) => GatewayCaller | null {
  const caller: GatewayCaller = { keyId: key.keyId, owner: { team: 'support', environment: 'prod', cost_center: 'cc-4100' }, allowedModels: [], ...limits };
  return (token) => {
    const parsed = parseGatewayKey(token);
    if (!parsed || parsed.keyId !== key.keyId || !secretMatches(parsed.secret, keySha256)) return null;
    return caller;
  };
}

function emit(event: UsageEventRecord): void {
  const encoded = encodeUsageEvent(event, { now: Date.now(), maxFutureSkewMs: EMITTER_DEFAULTS.maxFutureSkewMs });
  if (!encoded.ok) {
    counts.refused += 1;
    log.error({ issues: encoded.issues }, 'usage event refused');
    return;
  }
  counts.encoded += 1;
  counts.encodedBytes += encoded.message.value.length;
  if (encoded.event.input_tokens > 0) counts.withUsage += 1;
  if (encoded.event.status === 'error') counts.failedCalls += 1;
}

const app = buildHttpServer({
  log,
  metrics: new Metrics(),
  tokens: new BearerTokens({ adminToken: null, readerTokens: [], scopedReaderTokens: [], ingestTokens: [] }),
  readiness: [],
  bodyLimit: 1024 * 1024,
});

const handlers = {
  /** Starts serving, forwarding to the mock at `upstreamUrl`; answers where, and the key to call with. */
  start: async ({ upstreamUrl, keyLimits }: { upstreamUrl: string; keyLimits: KeyLimits }): Promise<{ url: string; key: string }> => {
    const settings: GatewaySettings = {
      gatewayId: 'bench-gateway',
      upstreams: [{ name: 'mock-openai', api: 'openai', provider: 'openai', base_url: upstreamUrl, models: ['gpt-*', 'o1*', 'o3*', 'o4*'], timeout_ms: 600_000, credential: 'sk-upstream-bench' }],
      modelRules: [
        { environment: ['dev'], deny_models: ['o1*', 'o3*', 'claude-opus-*'] },
        { team: ['support'], environment: ['prod'], allow_models: ['gpt-4o-mini', 'claude-haiku-*'] },
      ],
    };
    registerProxyRoutes(app, {
      settings,
      authenticate: authenticator(keyLimits),
      policy: new PolicySource(null, log),
      pricing: new PricingSource({ catalogFile: null, contractsFile: null }, log),
      emit,
      budgets: () => BUDGETS,
      limiter: new KeyRateLimiter(),
      log: log.child({ component: 'gateway' }),
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    return { url, key: key.key };
  },
  counts: (): EmitCounts => ({ ...counts }),
  /** Heap in use (MiB) and the handles and requests libuv holds, by kind: what an earlier run may have left behind. */
  internals: (): { heapUsedMiB: number; resources: Record<string, number> } => {
    const resources: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
    return { heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1024 / 1024), resources };
  },
};
export type GatewayProcessHandlers = typeof handlers;

const allocationProfile = process.env['BENCH_GATEWAY_ALLOC_PROFILE'];
const profiler = allocationProfile ? new Session() : null;
if (profiler) {
  profiler.connect();
  await profiler.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}

serve(handlers, async () => {
  await app.close();
  if (profiler && allocationProfile) {
    const { profile } = await profiler.post('HeapProfiler.stopSampling');
    writeFileSync(allocationProfile, JSON.stringify(profile));
  }
});
