import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SpendlineConfig } from '../../services/config/config.ts';
import { createLogger } from '../../services/logging/logger.ts';
import { startProcess, type RunningProcess } from '../../services/runtime/spendline-process.ts';
import { testConfig } from '../support/test-config.ts';
import { ingestAndStore } from '../support/stored-events.ts';
import { usageEventJson } from '../support/usage-events.ts';

/**
 * The hourly drift detectors and unpriced usage on the real broker and chDB:
 * a feature that served every call with a small model for three days moves
 * two thirds of its calls to a model about twenty times the price, with
 * prompts seven times longer, in the last hour; and a gateway starts sending a
 * model the catalog does not know. The hourly run pages once for the feature
 * (model mix and token drift together, with the hourly anomalies they cause),
 * the minute run once for the unpriced model.
 */

const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'warn');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const NOW = Date.now();
const H = Math.floor(NOW / HOUR) * HOUR;
let config: SpendlineConfig;
let running: RunningProcess;

const iso = (at: number) => new Date(at).toISOString();

function traffic(): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  const rerank = (id: string, at: number, over: Record<string, unknown> = {}) =>
    usageEventJson({ event_id: id, occurred_at: iso(at), team: 'ranking', feature: 'rerank', model: 'gpt-4o-mini', input_tokens: 700 + (at / MINUTE) % 5 * 40, output_tokens: 50, ...over });
  // Three days of ten calls an hour, before the hour judged.
  for (let at = H - 73 * HOUR; at < H - HOUR; at += 6 * MINUTE) events.push(rerank(`base-${at}`, at));
  // The hour judged, busier: 40 calls as before, 80 to gpt-4o with long prompts.
  for (let i = 0; i < 40; i += 1) events.push(rerank(`now-mini-${i}`, H - HOUR + i * 90_000));
  for (let i = 0; i < 80; i += 1) events.push(rerank(`now-4o-${i}`, H - HOUR + i * 45_000, { model: 'gpt-4o', input_tokens: 5000 + i * 10 }));
  // A model the catalog does not know, through one gateway, in the last ten minutes.
  for (let i = 0; i < 15; i += 1) events.push(usageEventJson({ event_id: `acme-${i}`, occurred_at: iso(NOW - 10 * MINUTE + i * 30_000), team: 'labs', provider: 'acme', model: 'acme-llm-1', gateway_id: 'gw-labs' }));
  return events;
}

beforeAll(async () => {
  config = testConfig(inject('kafkaBrokers'), { DETECTION_MINUTE_SCHEDULE: '0 0 0 1 1 *', DETECTION_HOURLY_SCHEDULE: '0 0 0 1 1 *' });
  running = await startProcess({ config, services: new Set(['ingest', 'enricher', 'sink', 'api']), brokers: inject('kafkaBrokers'), log, processMetrics: false });
  const events = traffic();
  await ingestAndStore(running, events, { timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await running?.stop();
});

describe('drift detection', () => {
  it('pages once for a feature whose model mix and prompt sizes shifted in the last hour', async () => {
    const published = await running.detection!.runHourly(H + 2 * MINUTE);
    expect(published.map((alert) => alert.state)).toEqual(['firing']);
    const [alert] = published;
    const members = [alert!.source_id, ...alert!.related];
    expect(members).toEqual(expect.arrayContaining([expect.stringMatching(/^model_mix_drift\/feature=rerank\//), 'token_drift/feature=rerank/input_tokens_per_request']));
    expect(['model_mix_drift', 'token_drift']).toContain(alert!.kind);
    expect(alert!.scope).toEqual({ feature: 'rerank' });
    expect(Number(alert!.score)).toBeGreaterThan(0.2);
    expect(Number(alert!.at_stake_per_hour)).toBeGreaterThan(0);
    // The same hour again: the incident is open, nothing new.
    expect(await running.detection!.runHourly(H + 3 * MINUTE)).toEqual([]);
  });

  it('pages for unpriced usage appearing, at least as a warning', async () => {
    const published = await running.detection!.runMinute(NOW + 60_000);
    expect(published.map((alert) => `${alert.kind} ${alert.state} ${alert.severity}`)).toEqual(['unpriced_usage firing warning']);
    expect(published[0]!.summary).toContain('acme-llm-1');
  });
});
