import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { StreamingDetector } from './streaming-detector.ts';

/**
 * `spendline detect --input FILE.csv`: reads `timestamp,value` rows and writes
 * `timestamp,value,anomaly_score`, each row echoed unchanged with its score in
 * [0, 1], computed from that row and the rows before it only (the same
 * detector the live pipeline runs). A malformed row stops the run with its
 * line number.
 */
export async function runDetect(input: string, output: Writable, errors: Writable): Promise<number> {
  const detector = new StreamingDetector();
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity });
  let line = 0;
  let buffered: string[] = [];
  const flush = () => {
    if (buffered.length > 0) output.write(buffered.join(''));
    buffered = [];
  };
  for await (const text of lines) {
    line += 1;
    if (line === 1) {
      if (text.trim() !== 'timestamp,value') {
        errors.write(`spendline detect: line 1 must be the header timestamp,value; got ${JSON.stringify(text.slice(0, 80))}\n`);
        return 1;
      }
      buffered.push('timestamp,value,anomaly_score\n');
      continue;
    }
    if (text.trim() === '') continue;
    const comma = text.lastIndexOf(',');
    const timestamp = comma > 0 ? text.slice(0, comma) : '';
    const valueText = comma > 0 ? text.slice(comma + 1) : '';
    const value = Number(valueText);
    if (timestamp === '' || valueText.trim() === '' || !Number.isFinite(value)) {
      flush();
      errors.write(`spendline detect: line ${line} must be timestamp,value with a number value; got ${JSON.stringify(text.slice(0, 80))}\n`);
      return 1;
    }
    buffered.push(`${text},${detector.score(value).toFixed(6)}\n`);
    if (buffered.length >= 1000) flush();
  }
  flush();
  if (line === 0) {
    errors.write('spendline detect: the input is empty; expected the header timestamp,value\n');
    return 1;
  }
  return 0;
}
