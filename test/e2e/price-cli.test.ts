import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../services/project-paths.ts';

/** `spendline price` as users run it: NDJSON through a real process, in order, at volume. */
describe('spendline price', () => {
  it('answers 20,000 lines in order, errors included, in one run', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i += 1) {
      if (i % 1000 === 999) lines.push('{"provider": "openai", "body": ');
      else lines.push(JSON.stringify({ provider: 'openai', api_flavor: 'chat', at: '2026-11-02T00:00:00Z', body: { model: 'gpt-4o-mini', usage: { prompt_tokens: 1000 + i, completion_tokens: 10 } } }));
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/main.ts', 'price'], { cwd: PROJECT_ROOT, env: { PATH: process.env['PATH'] }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdin.end(`${lines.join('\n')}\n`);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const answers = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers).toHaveLength(20_000);
    // Line i: (1000 + i) input × 0.15/M + 10 output × 0.6/M, in units of 10^-8 USD: (1000 + i) × 15 + 600.
    const expected = (i: number) => {
      const digits = String((1000 + i) * 15 + 600).padStart(9, '0');
      return `${digits.slice(0, -8)}.${digits.slice(-8)}`.replace(/0+$/, '').replace(/\.$/, '');
    };
    for (const i of [0, 1, 998, 1000, 19_998]) expect(answers[i]!['total_cost']).toBe(expected(i));
    expect(answers[0]).toEqual({ input_cost: '0.00015', output_cost: '0.000006', total_cost: '0.000156', currency: 'USD', model: 'gpt-4o-mini', price_version: expect.any(String), usage: { input_tokens: 1000, output_tokens: 10 } });
    expect(answers[999]).toEqual({ error: expect.stringContaining('line 1000 is not valid JSON') });
    expect(answers.filter((answer) => 'error' in answer)).toHaveLength(20);
  });
});
