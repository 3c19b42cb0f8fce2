import { describe, expect, it } from 'vitest';
import { USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from '../../src/avro/usage-event-schema.ts';
import { parseSpillLines, spillLine } from '../../src/emitter/spill-format.ts';
import { FULL_RECORD } from '../fixtures/usage-event-record.ts';

const registry = usageEventRegistry();
const encoded = (eventId: string) => ({ key: eventId, value: registry.encode(USAGE_EVENT_SCHEMA_NAME, { ...FULL_RECORD, event_id: eventId }) });

describe('spill file format', () => {
  it('round-trips events: same keys, same Avro bytes, decodable to the same record', () => {
    const events = [encoded('evt-a'), encoded('evt-b'), encoded('evt-c')];
    const text = events.map(spillLine).join('');
    expect(text.split('\n')).toHaveLength(4);
    const parsed = parseSpillLines(Buffer.from(text), 100);
    expect(parsed.corrupt).toEqual([]);
    expect(parsed.consumed).toBe(Buffer.byteLength(text));
    expect(parsed.events.map((e) => e.key)).toEqual(['evt-a', 'evt-b', 'evt-c']);
    parsed.events.forEach((event, i) => expect(event.value.equals(events[i]!.value)).toBe(true));
    const decoded = registry.decode(USAGE_EVENT_SCHEMA_NAME, parsed.events[1]!.value);
    expect(decoded).toMatchObject({ ok: true, value: { ...FULL_RECORD, event_id: 'evt-b' } });
  });

  it('writes one JSON object per line with the event_id and the base64 single-object message', () => {
    const line = spillLine(encoded('evt-x'));
    expect(line.endsWith('\n')).toBe(true);
    const value = JSON.parse(line) as { event_id: string; avro: string };
    expect(value.event_id).toBe('evt-x');
    expect(Buffer.from(value.avro, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
  });

  it('stops at maxEvents and reports the bytes it covered, so reading resumes there', () => {
    const lines = ['evt-1', 'evt-2', 'evt-3'].map((id) => spillLine(encoded(id)));
    const parsed = parseSpillLines(Buffer.from(lines.join('')), 2);
    expect(parsed.events.map((e) => e.key)).toEqual(['evt-1', 'evt-2']);
    expect(parsed.consumed).toBe(Buffer.byteLength(lines[0]! + lines[1]!));
  });

  it('leaves a line without its newline unread', () => {
    const whole = spillLine(encoded('evt-1'));
    const torn = spillLine(encoded('evt-2')).slice(0, 40);
    const parsed = parseSpillLines(Buffer.from(whole + torn), 10);
    expect(parsed.events.map((e) => e.key)).toEqual(['evt-1']);
    expect(parsed.consumed).toBe(Buffer.byteLength(whole));
  });

  it('reports damaged lines as corrupt, with the reason, and keeps reading past them', () => {
    const good = spillLine(encoded('evt-1'));
    const text = `not json\n\n{"event_id":"evt-2","avro":"%%%"}\n{"event_id":"evt-3","avro":"aGVsbG8gd29ybGQh"}\n{"avro":"wwE="}\n${good}`;
    const parsed = parseSpillLines(Buffer.from(text), 10);
    expect(parsed.events.map((e) => e.key)).toEqual(['evt-1']);
    expect(parsed.corrupt.map((line) => line.reason)).toEqual(['not JSON', 'avro is not base64', 'avro is not a single-object Avro message', 'no event_id']);
    expect(parsed.corrupt[0]).toMatchObject({ offset: 0, text: 'not json' });
    expect(parsed.consumed).toBe(Buffer.byteLength(text));
  });
});
