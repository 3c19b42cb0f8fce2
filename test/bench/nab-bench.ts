/**
 * npm run bench:nab — runs `spendline detect` (the same code, one
 * configuration for every series) over the Numenta Anomaly Benchmark series in
 * ../shared/data/nab and scores the results with ../shared/tools/nab-score.py,
 * exactly as NAB does: standard, low-FP and low-FN profiles.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { runDetect } from '../../services/detection/detect-command.ts';
import { PROJECT_ROOT } from '../../services/project-paths.ts';

const NAB = join(PROJECT_ROOT, '../shared/data/nab');
const results = mkdtempSync(join(tmpdir(), 'spendline-nab-'));
let rows = 0;
let files = 0;
const started = performance.now();
for (const category of readdirSync(join(NAB, 'data'))) {
  mkdirSync(join(results, category), { recursive: true });
  for (const file of readdirSync(join(NAB, 'data', category)).filter((name) => name.endsWith('.csv'))) {
    const out = createWriteStream(join(results, category, file));
    const code = await runDetect(join(NAB, 'data', category, file), out, process.stderr);
    out.end();
    await once(out, 'finish');
    if (code !== 0) throw new Error(`detect failed on ${category}/${file}`);
    files += 1;
    rows += Number(execFileSync('wc', ['-l', join(results, category, file)]).toString().trim().split(' ')[0]) - 1;
  }
}
const seconds = (performance.now() - started) / 1000;
const scores = JSON.parse(execFileSync('python3', [join(PROJECT_ROOT, '../shared/tools/nab-score.py'), results, join(NAB, 'windows.json'), join(NAB, 'profiles.json')]).toString()) as Record<string, { score: number; threshold: number }>;
process.stdout.write(
  `${JSON.stringify({ series: files, rows, detectSeconds: Number(seconds.toFixed(2)), rowsPerSecond: Math.round(rows / seconds), scores, results }, null, 2)}\n`,
);
