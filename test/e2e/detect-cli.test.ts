import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../services/project-paths.ts';

/** `spendline detect` as benchmarks and users run it: a real process over a 22,000-row file. */
describe('spendline detect', () => {
  it('scores 22,000 rows in one run, echoing each one', async () => {
    const rows = Array.from({ length: 22_000 }, (_, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19)},${(100 + 10 * Math.sin(i / 40) + (i === 20_000 ? 500 : 0)).toFixed(2)}`);
    const file = join(mkdtempSync(join(tmpdir(), 'spendline-detect-e2e-')), 'series.csv');
    writeFileSync(file, `timestamp,value\n${rows.join('\n')}\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'detect', '--input', file], { cwd: PROJECT_ROOT, env: { PATH: process.env['PATH'] }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(22_001);
    expect(lines[20_001]!.startsWith(`${rows[20_000]},`)).toBe(true);
    expect(Number(lines[20_001]!.split(',').at(-1))).toBeGreaterThanOrEqual(0.7);
  }, 60_000);
});
