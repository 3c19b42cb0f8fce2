import { expect } from 'vitest';
import { z } from 'zod';
import type { RunningProcess } from '../../services/runtime/spendline-process.ts';
import { eventually, TEST_TOKENS } from './test-config.ts';

/** Posts usage events (JSON form) to a running process in batches, each answered 200, and waits until the sink stored them all. */
export async function ingestAndStore(running: RunningProcess, events: readonly Record<string, unknown>[], { batch = 5000, timeoutMs = 90_000 } = {}): Promise<void> {
  for (let at = 0; at < events.length; at += batch) {
    const response = await running.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${TEST_TOKENS.ingest}` }, payload: events.slice(at, at + batch) });
    expect(response.statusCode).toBe(200);
  }
  await eventually(
    async () => {
      const [row] = await running.clickhouse!.query({ name: 'count', sql: 'SELECT count() AS n FROM {db:Identifier}.usage_events_v1', schema: z.object({ n: z.coerce.number() }) });
      return row!.n === events.length ? true : undefined;
    },
    { timeoutMs, what: `all ${events.length} events stored` },
  );
}
