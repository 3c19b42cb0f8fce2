import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { answerPriceRequest } from '../pricing/price-request.ts';
import type { PricingEngine } from '../pricing/pricing-engine.ts';

/**
 * `spendline price`: NDJSON in, NDJSON out, one answer per input line in the
 * same order. A line that is not JSON, or cannot be priced, gets
 * {"error": ...} and the stream goes on. Output is written in chunks so tens
 * of thousands of lines stream through quickly.
 */
export async function runPriceCommand(engine: PricingEngine, input: Readable, output: Writable): Promise<{ lines: number; errors: number }> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let pending: string[] = [];
  let count = 0;
  let errors = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const chunk = pending.join('');
    pending = [];
    if (!output.write(chunk)) await new Promise((resolve) => output.once('drain', resolve));
  };
  for await (const line of lines) {
    if (line.trim() === '') continue;
    count += 1;
    let answer;
    try {
      answer = answerPriceRequest(engine, JSON.parse(line), Date.now());
    } catch (err) {
      answer = { error: `line ${count} is not valid JSON: ${(err as Error).message}` };
    }
    if ('error' in answer) errors += 1;
    pending.push(`${JSON.stringify(answer)}\n`);
    if (pending.length >= 512) await flush();
  }
  await flush();
  return { lines: count, errors };
}
