/**
 * npm run bench:attribution — events attributed per second on one core, with
 * the example policy in deploy/ (normalization, two API key mappings, four
 * rules including a regex, three requirements), over a mix of events that
 * exercises every path: complete, fixed by a key or a rule, defaulted,
 * unattributed and rejected.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageEventRecord } from '@spendline/emitter/usage-event';
import { attributeEvent } from '../../services/attribution/attribute-event.ts';
import { AttributionPolicy } from '../../services/attribution/attribution-policy.ts';
import { PROJECT_ROOT } from '../../services/project-paths.ts';
import { minimalUsageEventRecord } from '../fixtures/usage-event-examples.ts';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 2_000_000);
const policy = AttributionPolicy.fromText(readFileSync(join(PROJECT_ROOT, 'deploy/attribution-policy.example.json'), 'utf8'));

const shapes: Partial<UsageEventRecord>[] = [
  { team: 'search', feature: 'answers', environment: 'prod' },
  { team: ' Search ', feature: 'answers', environment: 'Production', tags: { region: 'eu' } },
  { feature: 'search-suggest', environment: 'prod' },
  { api_key_id: 'key_search_prod', feature: 'answers', environment: 'prd' },
  { gateway_id: 'gw-batch', environment: 'dev' },
  { gateway_id: 'gw-legacy', team: 'ads', environment: 'prod' },
  { model: 'o3-mini', team: 'research', environment: 'staging' },
  { environment: 'prod' },
  {},
];
const events = Array.from({ length: 10_000 }, (_, i) => minimalUsageEventRecord({ event_id: `bench-${i}`, ...shapes[i % shapes.length] }));

const outcomes: Record<string, number> = {};
for (let i = 0; i < 200_000; i += 1) attributeEvent(policy, events[i % events.length]!); // warm-up
const started = performance.now();
for (let i = 0; i < EVENTS; i += 1) {
  const result = attributeEvent(policy, events[i % events.length]!);
  const outcome = result.rejection ? 'rejected' : result.attribution.status;
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
}
const seconds = (performance.now() - started) / 1000;

process.stdout.write(
  `${JSON.stringify({ policy: policy.version, rules: policy.rules.length, requirements: policy.requirements.length, events: EVENTS, outcomes, attributedPerSecondOneCore: Math.round(EVENTS / seconds) }, null, 2)}\n`,
);
