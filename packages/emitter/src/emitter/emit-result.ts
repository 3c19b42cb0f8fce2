import type { FieldIssue } from '../field-issues.ts';

/** Why emit() did not take an event: `invalid` (the issues name the fields), `closed`, or `spill_failed` (buffer full and the spill file not writable). */
export type RefusalReason = 'invalid' | 'closed' | 'spill_failed';

/** What UsageEmitter.emit() answers, at once. */
export type EmitResult =
  /** Taken: in the memory buffer, or (`spilled`) in the spill file because the buffer was full. */
  | { readonly accepted: true; readonly spilled: boolean }
  /** Not taken, and why. */
  | { readonly accepted: false; readonly reason: RefusalReason; readonly issues: readonly FieldIssue[] };

export interface FlushResult {
  /** True when Kafka acknowledged everything, spill file included. */
  readonly drained: boolean;
  /** Events moved from memory to the spill file at the timeout. */
  readonly spilled: number;
}

/** Running totals of this emitter (the same events the hooks report), for tests and status output. */
export interface EmitterCounts {
  readonly emitted: number;
  /** Acknowledged by Kafka, replays included; a resend after a lost answer or a flush timeout counts again. */
  readonly sent: number;
  readonly replayed: number;
  readonly spilled: number;
  readonly refused: number;
  readonly buffered: number;
  readonly spillBytes: number;
}
