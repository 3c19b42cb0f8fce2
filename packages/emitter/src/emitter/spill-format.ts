import { SINGLE_OBJECT_HEADER_LENGTH, SINGLE_OBJECT_MARKER } from '../avro/single-object.ts';
import type { EncodedEvent } from '../encode-usage-event.ts';

/**
 * The spill file's format: NDJSON, one event per line,
 *
 *     {"event_id":"evt-1","avro":"wwG…"}\n
 *
 * where `avro` is the base64 of the exact single-object Avro message
 * (`C3 01` + CRC-64-AVRO fingerprint + body) that would have been produced,
 * and `event_id` its Kafka key. Replay sends the bytes unchanged, so an event
 * spilled by an older emitter keeps its writer schema's fingerprint and
 * consumers resolve it as usual. Lines are only ever appended; a line without
 * its newline can only be the tail of a write cut short by a crash.
 */

/** Marker, 8-byte fingerprint, and at least one body byte. */
const MIN_MESSAGE_BYTES = SINGLE_OBJECT_HEADER_LENGTH + 1;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const NEWLINE = 0x0a;

export function spillLine(event: EncodedEvent): string {
  return `${JSON.stringify({ event_id: event.key, avro: event.value.toString('base64') })}\n`;
}

/** A line that is not a spilled event (damaged on disk, or a torn tail), kept for a person to look at. */
export interface CorruptLine {
  /** Byte offset of the line within the chunk given to parseSpillLines. */
  readonly offset: number;
  readonly text: string;
  readonly reason: string;
}

export interface ParsedSpill {
  readonly events: EncodedEvent[];
  readonly corrupt: CorruptLine[];
  /** Bytes of the chunk the returned lines cover (complete lines only); the caller resumes reading after them. */
  readonly consumed: number;
}

/**
 * Reads complete lines from the start of `chunk` until `maxEvents` events are
 * found or no complete line is left. Empty lines are skipped; lines that do
 * not hold an event are returned as corrupt, never thrown over.
 */
export function parseSpillLines(chunk: Buffer, maxEvents: number): ParsedSpill {
  const events: EncodedEvent[] = [];
  const corrupt: CorruptLine[] = [];
  let offset = 0;
  while (events.length < maxEvents) {
    const end = chunk.indexOf(NEWLINE, offset);
    if (end < 0) break;
    const text = chunk.toString('utf8', offset, end);
    if (text.trim() !== '') {
      const parsed = parseLine(text);
      if ('reason' in parsed) corrupt.push({ offset, text, reason: parsed.reason });
      else events.push(parsed);
    }
    offset = end + 1;
  }
  return { events, corrupt, consumed: offset };
}

function parseLine(text: string): EncodedEvent | { reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: 'not JSON' };
  }
  const { event_id: key, avro } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof key !== 'string' || key === '') return { reason: 'no event_id' };
  if (typeof avro !== 'string' || !BASE64.test(avro)) return { reason: 'avro is not base64' };
  const bytes = Buffer.from(avro, 'base64');
  if (bytes.length < MIN_MESSAGE_BYTES || bytes[0] !== SINGLE_OBJECT_MARKER[0] || bytes[1] !== SINGLE_OBJECT_MARKER[1]) {
    return { reason: 'avro is not a single-object Avro message' };
  }
  return { key, value: bytes };
}
