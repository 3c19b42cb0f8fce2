import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { offlineSeries, SeriesDetector } from './series-detector.ts';

/**
 * `spendline detect --input FILE.csv`: reads `timestamp,value` rows and writes
 * `timestamp,value,anomaly_score`, each row echoed unchanged with its score in
 * [0, 1], computed from that row and the rows before it only. It runs the
 * detector the live pipeline runs per series (seasonal baseline by hour of
 * the week and of the day, streaming score of the distance from it); the
 * cadence is the gap between the first two rows. A malformed row stops the
 * run with its line number.
 */
export async function runDetect(input: string, output: Writable, errors: Writable): Promise<number> {
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  let line = 0;
  let buffered: string[] = [];
  const flush = () => {
    if (buffered.length > 0) output.write(buffered.join(''));
    buffered = [];
  };
  const fail = (message: string) => {
    flush();
    errors.write(`spendline detect: ${message}\n`);
    return 1;
  };
  // The first row waits for the second: the gap between them is the cadence. Its score (the first point's) is 0 either way.
  let first: { text: string; at: number; value: number } | null = null;
  let detector: SeriesDetector | null = null;
  let previous = -Infinity;
  const score = (text: string, at: number, value: number) => buffered.push(`${text},${detector!.observe(at, value).score.toFixed(6)}\n`);
  for await (const text of lines) {
    line += 1;
    if (line === 1) {
      if (text.trim() !== 'timestamp,value') return fail(`line 1 must be the header timestamp,value; got ${JSON.stringify(text.slice(0, 80))}`);
      buffered.push('timestamp,value,anomaly_score\n');
      continue;
    }
    if (text.trim() === '') continue;
    const comma = text.lastIndexOf(',');
    const timestamp = comma > 0 ? text.slice(0, comma) : '';
    const valueText = comma > 0 ? text.slice(comma + 1) : '';
    const value = Number(valueText);
    if (timestamp === '' || valueText.trim() === '' || !Number.isFinite(value)) return fail(`line ${line} must be timestamp,value with a number value; got ${JSON.stringify(text.slice(0, 80))}`);
    const at = parseTimestamp(timestamp);
    if (at === null) return fail(`line ${line} has a timestamp that is not a date and time (e.g. 2026-11-24 10:05:00 or ISO 8601); got ${JSON.stringify(timestamp.slice(0, 40))}`);
    if (at < previous) return fail(`line ${line} has a timestamp earlier than the row before it; rows must be in time order`);
    previous = at;
    if (!detector) {
      if (!first) {
        first = { text, at, value };
        continue;
      }
      detector = new SeriesDetector(offlineSeries(3_600_000 / Math.max(60_000, at - first.at)));
      score(first.text, first.at, first.value);
    }
    score(text, at, value);
    if (buffered.length >= 1000) flush();
  }
  if (first && !detector) {
    detector = new SeriesDetector(offlineSeries(12));
    score(first.text, first.at, first.value);
  }
  flush();
  if (line === 0) return fail('the input is empty; expected the header timestamp,value');
  return 0;
}

/** A date and time, ISO 8601 or "YYYY-MM-DD HH:MM:SS"; without a zone it is UTC. */
function parseTimestamp(text: string): number | null {
  const trimmed = text.trim().replace(' ', 'T');
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) || !/T/.test(trimmed) ? trimmed : `${trimmed}Z`;
  const at = Date.parse(zoned);
  return Number.isFinite(at) ? at : null;
}
