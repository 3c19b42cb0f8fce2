import { existsSync, readFileSync } from 'node:fs';

/**
 * The Azure LLM inference traces (2023; a code-completion and a conversation
 * service, about an hour each: TIMESTAMP,ContextTokens,GeneratedTokens): per
 * kind, the token sizes of its requests and their arrival times, which carry
 * its burstiness (the code trace runs in bursts of hundreds of requests a
 * minute with silent minutes between; the conversation trace is smooth).
 * Without the files a fixed spread stands in (as the other benches do) and
 * the report lists no trace.
 */

export type TraceKind = 'code' | 'conv';
export const TRACE_KINDS: readonly TraceKind[] = ['code', 'conv'];

export interface KindTrace {
  readonly context: Uint32Array;
  readonly generated: Uint32Array;
  /** Arrivals, ms after the first, ascending. */
  readonly arrivals: Float64Array;
  /** Trace time the arrivals cover, one mean gap past the last so they can repeat end to end, ms. */
  readonly spanMs: number;
}

export interface Traces {
  readonly files: readonly string[];
  readonly kinds: Readonly<Record<TraceKind, KindTrace>>;
}

export function loadTraces(files: readonly string[]): Traces {
  const present = files.filter((file) => existsSync(file));
  const kinds: Record<TraceKind, KindTrace> = { code: fallback(97), conv: fallback(31) };
  for (const file of present) {
    const kind: TraceKind = file.includes('code') ? 'code' : 'conv';
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => {
        const [stamp, context, generated] = line.split(',');
        // "2023-11-16 18:17:03.9799600": whole seconds by Date, the fraction by hand (sub-ms; only gaps matter).
        const [whole, fraction = '0'] = stamp!.split('.');
        return { at: Date.parse(`${whole!.replace(' ', 'T')}Z`) + Number(`0.${fraction}`) * 1000, context: Number(context), generated: Number(generated) };
      })
      .sort((a, b) => a.at - b.at);
    const first = rows[0]?.at ?? 0;
    const arrivals = Float64Array.from(rows, (row) => row.at - first);
    kinds[kind] = {
      context: Uint32Array.from(rows, (row) => row.context),
      generated: Uint32Array.from(rows, (row) => row.generated),
      arrivals,
      spanMs: arrivals.at(-1)! + arrivals.at(-1)! / Math.max(1, arrivals.length - 1),
    };
  }
  return { files: present, kinds };
}

/** Evenly spaced arrivals (10/s) and a fixed spread of sizes. */
function fallback(step: number): KindTrace {
  return {
    context: Uint32Array.from({ length: 1000 }, (_, i) => 100 + ((i * step) % 4000)),
    generated: Uint32Array.from({ length: 1000 }, (_, i) => 10 + ((i * step) % 500)),
    arrivals: Float64Array.from({ length: 36_000 }, (_, i) => i * 100),
    spanMs: 3_600_000,
  };
}
