import type { EncodedEvent } from '../encode-usage-event.ts';

/**
 * The emitter's in-memory queue: a ring of at most `capacity` events, oldest
 * first. Events stay in it until Kafka acknowledged them — a batch in flight
 * is only peeked, and dropped once acknowledged — so the bound counts every
 * event not yet safe in Kafka or the spill file.
 */
export class EventBuffer {
  readonly capacity: number;
  readonly #slots: (EncodedEvent | undefined)[];
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error(`buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#slots = new Array<EncodedEvent | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Appends the event; false (and nothing stored) when the buffer is full. */
  push(event: EncodedEvent): boolean {
    if (this.#size === this.capacity) return false;
    this.#slots[(this.#head + this.#size) % this.capacity] = event;
    this.#size += 1;
    return true;
  }

  /** The oldest `max` events (fewer if there are fewer), left in place. */
  peek(max: number): EncodedEvent[] {
    const count = Math.min(max, this.#size);
    const events: EncodedEvent[] = [];
    for (let i = 0; i < count; i += 1) events.push(this.#slots[(this.#head + i) % this.capacity]!);
    return events;
  }

  /** Removes the oldest `count` events (those a peek returned and Kafka acknowledged). */
  drop(count: number): void {
    const n = Math.min(count, this.#size);
    for (let i = 0; i < n; i += 1) this.#slots[(this.#head + i) % this.capacity] = undefined;
    this.#head = (this.#head + n) % this.capacity;
    this.#size -= n;
  }

  /** Removes and returns every event, oldest first. */
  takeAll(): EncodedEvent[] {
    const events = this.peek(this.#size);
    this.drop(events.length);
    return events;
  }
}
