import { parseArgs } from 'node:util';
import type { SpendlineConfig } from '../config/config.ts';
import { readGeneratedToken } from './admin-token.ts';

/**
 * `spendline reprice --from ISO --to ISO [--provider P] [--model M] [--dry-run]`:
 * asks the running Spendline (its API process owns the ClickHouse data) to
 * reprice stored events, and prints the run's summary. Needs the admin token:
 * SPENDLINE_ADMIN_TOKEN, or the one `spendline start` generated.
 */
export async function runRepriceCommand(args: readonly string[], config: SpendlineConfig): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        provider: { type: 'string' },
        model: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`spendline reprice: ${(err as Error).message}\n`);
    return 2;
  }
  const { from, to, provider, model } = parsed.values;
  if (!from || !to) {
    process.stderr.write('spendline reprice: --from and --to are required (RFC 3339 times, e.g. 2026-11-01T00:00:00Z)\n');
    return 2;
  }
  const token = config.auth.adminToken ?? readGeneratedToken(config.dataDir);
  if (!token) {
    process.stderr.write('spendline reprice: no admin token; set SPENDLINE_ADMIN_TOKEN\n');
    return 2;
  }
  let response: Response;
  try {
    response = await fetch(`${config.apiUrl}/v1/admin/reprice`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from, to, provider, model, dry_run: parsed.values['dry-run'] }),
    });
  } catch (err) {
    process.stderr.write(`spendline reprice: cannot reach Spendline at ${config.apiUrl} (${(err as Error).message}); is it running? (SPENDLINE_API_URL)\n`);
    return 1;
  }
  const body = await response.text();
  (response.ok ? process.stdout : process.stderr).write(`${body}\n`);
  return response.ok ? 0 : 1;
}
