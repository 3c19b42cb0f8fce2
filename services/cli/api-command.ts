import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { SpendlineConfig } from '../config/config.ts';
import { readGeneratedToken } from './admin-token.ts';

/**
 * CLI commands that act on a running Spendline: its API process owns the
 * ClickHouse data (embedded chDB belongs to one process), so the command sends
 * a request and prints the JSON answer. The token is SPENDLINE_ADMIN_TOKEN, or
 * the one `spendline start` generated in the data directory.
 */

export type ParsedOptions = Record<string, string | boolean | undefined>;

/** Parses a command's options, or prints why not and returns null. */
export function parseOptions(command: string, args: readonly string[], options: ParseArgsConfig['options']): { values: ParsedOptions; positionals: string[] } | null {
  try {
    const parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values: parsed.values as ParsedOptions, positionals: parsed.positionals };
  } catch (err) {
    process.stderr.write(`spendline ${command}: ${(err as Error).message}\n`);
    return null;
  }
}

/** --from and --to, both required: prints the usage hint and returns null when either is missing. */
export function requireRange(command: string, values: ParsedOptions): { from: string; to: string } | null {
  const { from, to } = values;
  if (typeof from !== 'string' || typeof to !== 'string') {
    process.stderr.write(`spendline ${command}: --from and --to are required (RFC 3339 times, e.g. 2026-11-01T00:00:00Z)\n`);
    return null;
  }
  return { from, to };
}

/** Sends one request to the running API and prints the answer; the exit code says whether it succeeded. */
export async function callApi(
  command: string,
  config: SpendlineConfig,
  request: { method: 'GET' | 'POST'; path: string; query?: Record<string, string | undefined>; body?: unknown },
): Promise<number> {
  const token = config.auth.adminToken ?? readGeneratedToken(config.dataDir);
  if (!token) {
    process.stderr.write(`spendline ${command}: no admin token; set SPENDLINE_ADMIN_TOKEN\n`);
    return 2;
  }
  const query = new URLSearchParams(Object.entries(request.query ?? {}).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const url = `${config.apiUrl}${request.path}${query.size > 0 ? `?${query}` : ''}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers: { authorization: `Bearer ${token}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    });
  } catch (err) {
    process.stderr.write(`spendline ${command}: cannot reach Spendline at ${config.apiUrl} (${(err as Error).message}); is it running? (SPENDLINE_API_URL)\n`);
    return 1;
  }
  const text = await response.text();
  let pretty = text;
  try {
    pretty = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // Not JSON (a proxy's error page, say): print it as it came.
  }
  (response.ok ? process.stdout : process.stderr).write(`${pretty}\n`);
  return response.ok ? 0 : 1;
}
