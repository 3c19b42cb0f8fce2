import type { SpendlineConfig } from '../config/config.ts';
import { callApi } from './api-command.ts';

export const REPORTS = ['cost', 'chargeback', 'reconciliation', 'attribution-quality', 'unit-economics', 'movers', 'forecast'] as const;

/**
 * `spendline report <name> [--param value ...] [--format csv|json]`: runs a
 * report on the running Spendline and prints it. Every `--param value` becomes
 * the report's query parameter of that name (dashes read as underscores:
 * --group-by team,model is group_by=team,model), so each report takes exactly
 * the parameters its endpoint does (docs/reports.md), validated there.
 */
export async function runReportCommand(args: readonly string[], config: SpendlineConfig): Promise<number> {
  const [name, ...rest] = args;
  if (!name || !(REPORTS as readonly string[]).includes(name)) {
    process.stderr.write(`spendline: usage: report <${REPORTS.join('|')}> [--param value ...] [--format csv|json]\n`);
    return 2;
  }
  const query: Record<string, string> = {};
  for (let index = 0; index < rest.length; index += 2) {
    const option = rest[index]!;
    const value = rest[index + 1];
    if (!option.startsWith('--') || value === undefined || value.startsWith('--')) {
      process.stderr.write(`spendline report: expected --param value pairs, got ${JSON.stringify(option)}${value === undefined ? ' with no value' : ''}\n`);
      return 2;
    }
    query[option.slice(2).replaceAll('-', '_')] = value;
  }
  return callApi(`report ${name}`, config, { method: 'GET', path: `/v1/reports/${name}`, query });
}
