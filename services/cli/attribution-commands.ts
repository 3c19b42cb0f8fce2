import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { usageEventJson } from '@spendline/emitter/usage-event';
import { attributeEvent } from '../attribution/attribute-event.ts';
import { AttributionPolicy } from '../attribution/attribution-policy.ts';
import type { SpendlineConfig } from '../config/config.ts';
import { callApi, parseOptions, requireRange } from './api-command.ts';

/**
 * `spendline reattribute --from ISO --to ISO [--gateway G] [--team T] [--environment E] [--api-key K] [--dry-run]`:
 * asks the running Spendline to apply the attribution policy in force to stored events.
 */
export async function runReattributeCommand(args: readonly string[], config: SpendlineConfig): Promise<number> {
  const parsed = parseOptions('reattribute', args, {
    from: { type: 'string' },
    to: { type: 'string' },
    gateway: { type: 'string' },
    team: { type: 'string' },
    environment: { type: 'string' },
    'api-key': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  });
  const range = parsed && requireRange('reattribute', parsed.values);
  if (!parsed || !range) return 2;
  const { gateway, team, environment } = parsed.values;
  return callApi('reattribute', config, {
    method: 'POST',
    path: '/v1/admin/reattribute',
    body: { ...range, gateway_id: gateway, team, environment, api_key_id: parsed.values['api-key'], dry_run: parsed.values['dry-run'] },
  });
}

/**
 * `spendline attribution <quality|policy|check>`:
 * - quality --from ISO --to ISO [--group-by D,..] [--environment E|all]: the attribution quality report;
 * - policy: the policy in force in the running Spendline;
 * - check FILE [--events NDJSON]: validates a policy file locally (for CI on the repository holding
 *   it) and, given sample events, prints how it would attribute each.
 */
export async function runAttributionCommand(args: readonly string[], config: SpendlineConfig): Promise<number> {
  const [subcommand, ...rest] = args;
  switch (subcommand) {
    case 'quality': {
      const parsed = parseOptions('attribution quality', rest, { from: { type: 'string' }, to: { type: 'string' }, 'group-by': { type: 'string' }, environment: { type: 'string' } });
      const range = parsed && requireRange('attribution quality', parsed.values);
      if (!parsed || !range) return 2;
      const groupBy = parsed.values['group-by'];
      const environment = parsed.values['environment'];
      return callApi('attribution quality', config, {
        method: 'GET',
        path: '/v1/reports/attribution-quality',
        query: { ...range, group_by: typeof groupBy === 'string' ? groupBy : undefined, environment: typeof environment === 'string' ? environment : undefined },
      });
    }
    case 'policy':
      return callApi('attribution policy', config, { method: 'GET', path: '/v1/admin/attribution/policy' });
    case 'check':
      return checkPolicyFile(rest);
    default:
      process.stderr.write('spendline: usage: attribution quality --from ISO --to ISO [--group-by D,...] [--environment E|all]\n       attribution policy\n       attribution check FILE [--events NDJSON_FILE]\n');
      return 2;
  }
}

function checkPolicyFile(args: readonly string[]): number {
  const parsed = parseOptions('attribution check', args, { events: { type: 'string' } });
  const file = parsed?.positionals[0];
  if (!parsed || !file) {
    if (parsed) process.stderr.write('spendline attribution check: name the policy file\n');
    return 2;
  }
  let policy: AttributionPolicy;
  try {
    policy = AttributionPolicy.fromText(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`${file}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${file}: valid attribution policy ${policy.version} (${policy.rules.length} rules, ${policy.requirements.length} requirements)\n`);
  const eventsFile = parsed.values['events'];
  if (typeof eventsFile !== 'string') return 0;
  const lines = readFileSync(eventsFile, 'utf8').split('\n').filter((line) => line.trim() !== '');
  lines.forEach((line, index) => process.stdout.write(`${JSON.stringify({ line: index + 1, ...sampleOutcome(policy, line) })}\n`));
  return 0;
}

/** How the policy treats one NDJSON sample event. */
function sampleOutcome(policy: AttributionPolicy, line: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { error: `not valid JSON: ${(err as Error).message}` };
  }
  const event = validate(usageEventJson, json);
  if (!event.ok) return { outcome: 'invalid', issues: event.issues };
  const { event: resolved, attribution, rejection } = attributeEvent(policy, event.value);
  return {
    event_id: resolved.event_id,
    outcome: rejection ? 'rejected' : 'accepted',
    ...(rejection ? { issues: rejection } : {}),
    attribution,
    resolved: { tenant_id: resolved.tenant_id, cost_center: resolved.cost_center, team: resolved.team, feature: resolved.feature, environment: resolved.environment, tags: resolved.tags },
  };
}
