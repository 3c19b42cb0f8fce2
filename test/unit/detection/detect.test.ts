import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runDetect } from '../../../services/detection/detect-command.ts';
import { StreamingDetector } from '../../../services/detection/streaming-detector.ts';

/** A seasonal series with noise (deterministic), and one spike at `spikeAt`. */
function series(length: number, spikeAt: number | null = null): number[] {
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 4;
  return Array.from({ length }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / 288) + noise() + (i === spikeAt ? 80 : 0));
}

const scores = (values: readonly number[]) => {
  const detector = new StreamingDetector();
  return values.map((value) => detector.score(value));
};

describe('StreamingDetector', () => {
  it('stays under the alert level on clean seasonal traffic and alerts on a spike', () => {
    const clean = scores(series(3000));
    const spiked = scores(series(3000, 2500));
    expect(Math.max(...clean.slice(200))).toBeLessThan(0.7);
    expect(spiked[2500]).toBeGreaterThanOrEqual(0.7);
  });

  it('scores nothing while it learns a series', () => {
    expect(scores(series(50, 10)).every((score) => score === 0)).toBe(true);
  });

  it('never looks ahead: a prefix of the input gets the same scores', () => {
    const values = series(2000, 1500);
    const full = scores(values);
    expect(scores(values.slice(0, 1600))).toEqual(full.slice(0, 1600));
  });

  it('alerts once for one incident, then stays quiet for a while', () => {
    const values = series(3000);
    for (let i = 2500; i < 2520; i += 1) values[i]! += 80;
    const spiked = scores(values);
    expect(spiked.slice(2500, 2600).filter((score) => score >= 0.7)).toHaveLength(1);
  });
});

describe('spendline detect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spendline-detect-'));
  const run = async (text: string) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(file, text);
    let out = '';
    let err = '';
    const sink = (append: (chunk: string) => void) => new Writable({ write: (chunk, _encoding, done) => (append(String(chunk)), done()) });
    const code = await runDetect(file, sink((chunk) => (out += chunk)), sink((chunk) => (err += chunk)));
    return { code, out, err };
  };

  it('echoes every row unchanged with a score in [0, 1]', async () => {
    const rows = series(400, 300).map((value, i) => `2026-11-0${1 + Math.floor(i / 288)} ${String(Math.floor((i % 288) / 12)).padStart(2, '0')}:${String((i % 12) * 5).padStart(2, '0')}:00,${value.toFixed(3)}`);
    const { code, out } = await run(`timestamp,value\r\n${rows.join('\r\n')}\r\n`);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('timestamp,value,anomaly_score');
    expect(lines).toHaveLength(401);
    lines.slice(1).forEach((line, i) => {
      expect(line.startsWith(`${rows[i]},`)).toBe(true);
      const score = Number(line.split(',').at(-1));
      expect(score >= 0 && score <= 1).toBe(true);
    });
  });

  it('never looks ahead: truncating the input does not change the scores of the rows kept', async () => {
    const values = series(3000, 2600);
    const rows = values.map((value, i) => `${new Date(Date.UTC(2026, 10, 1) + i * 300_000).toISOString().replace('T', ' ').slice(0, 19)},${value.toFixed(3)}`);
    const whole = (await run(`timestamp,value\n${rows.join('\n')}\n`)).out.trim().split('\n');
    const cut = (await run(`timestamp,value\n${rows.slice(0, 2650).join('\n')}\n`)).out.trim().split('\n');
    expect(cut).toEqual(whole.slice(0, 2651));
    expect(Math.max(...whole.slice(2601, 2603).map((line) => Number(line.split(',').at(-1))))).toBeGreaterThanOrEqual(0.7);
  });

  it('names the line of a row out of time order', async () => {
    expect(await run('timestamp,value\n2026-11-01 00:05:00,1\n2026-11-01 00:10:00,2\n2026-11-01 00:00:00,3\n')).toMatchObject({ code: 1, err: expect.stringContaining('line 4 has a timestamp earlier than the row before it') });
  });

  it('scores daily rows without the baseline running away', async () => {
    const rows = Array.from({ length: 400 }, (_, i) => `${new Date(Date.UTC(2025, 0, 1) + i * 86_400_000).toISOString().slice(0, 10)},${(100 + (i % 7) * 3 + (i === 390 ? 400 : 0)).toFixed(1)}`);
    const lines = (await run(`timestamp,value\n${rows.join('\n')}\n`)).out.trim().split('\n').slice(1);
    const scores = lines.map((line) => Number(line.split(',').at(-1)));
    expect(scores.every((score) => Number.isFinite(score) && score >= 0 && score <= 1)).toBe(true);
    expect(scores[390]).toBeGreaterThanOrEqual(0.7);
  });

  it('names the line of a timestamp that is not a date', async () => {
    expect(await run('timestamp,value\n2026-11-01 00:00:00,1\nyesterday,2\n')).toMatchObject({ code: 1, err: expect.stringContaining('line 3 has a timestamp that is not a date and time') });
  });

  it('names the line of a malformed row, and a wrong header', async () => {
    expect(await run('timestamp,value\n2026-11-01 00:00:00,1\n2026-11-01 00:05:00,abc\n')).toMatchObject({ code: 1, err: expect.stringContaining('line 3 must be timestamp,value with a number value') });
    expect(await run('time,cost\n2026-11-01 00:00:00,1\n')).toMatchObject({ code: 1, err: expect.stringContaining('line 1 must be the header timestamp,value') });
    expect(await run('')).toMatchObject({ code: 1, err: expect.stringContaining('the input is empty') });
  });
});
