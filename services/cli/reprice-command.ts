import type { SpendlineConfig } from '../config/config.ts';
import { callApi, parseOptions, requireRange } from './api-command.ts';

/**
 * `spendline reprice --from ISO --to ISO [--provider P] [--model M] [--dry-run]`:
 * asks the running Spendline to reprice stored events, and prints the run's summary.
 */
export async function runRepriceCommand(args: readonly string[], config: SpendlineConfig): Promise<number> {
  const parsed = parseOptions('reprice', args, {
    from: { type: 'string' },
    to: { type: 'string' },
    provider: { type: 'string' },
    model: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  });
  const range = parsed && requireRange('reprice', parsed.values);
  if (!parsed || !range) return 2;
  const { provider, model } = parsed.values;
  return callApi('reprice', config, { method: 'POST', path: '/v1/admin/reprice', body: { ...range, provider, model, dry_run: parsed.values['dry-run'] } });
}
