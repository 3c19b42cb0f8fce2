import { describe, expect, it } from 'vitest';
import { EventBuffer } from '../../src/emitter/event-buffer.ts';

const event = (key: string) => ({ key, value: Buffer.from(key) });
const keys = (events: { key: string }[]) => events.map((e) => e.key);

describe('EventBuffer', () => {
  it('holds at most its capacity and refuses the rest', () => {
    const buffer = new EventBuffer(3);
    expect(['a', 'b', 'c', 'd'].map((k) => buffer.push(event(k)))).toEqual([true, true, true, false]);
    expect(buffer.size).toBe(3);
    expect(keys(buffer.peek(10))).toEqual(['a', 'b', 'c']);
  });

  it('peeks without removing, drops the oldest, and wraps around', () => {
    const buffer = new EventBuffer(3);
    for (const k of ['a', 'b', 'c']) buffer.push(event(k));
    expect(keys(buffer.peek(2))).toEqual(['a', 'b']);
    expect(buffer.size).toBe(3);
    buffer.drop(2);
    expect(buffer.push(event('d'))).toBe(true);
    expect(buffer.push(event('e'))).toBe(true);
    expect(buffer.push(event('f'))).toBe(false);
    expect(keys(buffer.takeAll())).toEqual(['c', 'd', 'e']);
    expect(buffer.size).toBe(0);
    expect(buffer.peek(5)).toEqual([]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new EventBuffer(0)).toThrow(/positive integer/);
  });
});
