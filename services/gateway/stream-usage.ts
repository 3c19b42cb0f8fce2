/**
 * Usage read from a server-sent event stream as it is relayed, without
 * holding the stream back: the chunks go to the caller untouched, a copy is
 * read here event by event.
 *  - OpenAI chat completions: the chunk carrying `usage` (the last one, sent
 *    when `stream_options.include_usage` is set);
 *  - OpenAI responses: the `response.completed` (or `.incomplete`, `.failed`)
 *    event's `response.usage`;
 *  - Anthropic messages: `message_start`'s `message.usage` (input and cache
 *    tokens), updated by each `message_delta`'s `usage` (output tokens so far).
 * What was seen is kept if the stream stops early (a client hanging up): the
 * usage then says what was delivered up to that point, when the provider had said it.
 *
 * Most events of a stream are content deltas that say nothing about usage, so
 * the bytes are scanned and only two kinds of events are decoded and parsed:
 * the first ones, until one names the model, and those with a `"usage"` key
 * whose value is not null. A `"usage"` inside a string is escaped (`\"usage\"`)
 * and never matches; UTF-8 never puts ASCII bytes inside a multi-byte
 * character, so the scan works on the raw bytes.
 */
export type StreamKind = 'chat' | 'responses' | 'messages';

const LF = 0x0a;
const CR = 0x0d;
const USAGE_KEY = Buffer.from('"usage"');
/** A single unterminated event larger than this is not a model stream; it is not held any longer. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

export class StreamUsage {
  readonly #kind: StreamKind;
  /** The start of an event whose end has not arrived yet, as it came (usually none: providers write whole events). */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #usage: Record<string, unknown> | null = null;
  #model: string | null = null;

  constructor(kind: StreamKind) {
    this.#kind = kind;
  }

  get usage(): Record<string, unknown> | null {
    return this.#usage;
  }

  get model(): string | null {
    return this.#model;
  }

  push(chunk: Buffer): void {
    if (this.#pendingBytes > 0 && chunk.indexOf(LF) === -1) {
      // Still inside the same event (a large one, arriving in pieces): joined once its end is here.
      this.#hold(chunk);
      return;
    }
    let bytes = chunk;
    if (this.#pendingBytes > 0) {
      bytes = Buffer.concat([...this.#pending, chunk]);
      this.#pending = [];
      this.#pendingBytes = 0;
    }
    let start = 0;
    // The next "usage" in bytes at or after `start` (-1: none): one search serves every event before it.
    let usageAt = bytes.indexOf(USAGE_KEY);
    for (let at = blankLineAt(bytes, start); at !== -1; at = blankLineAt(bytes, start)) {
      const end = at > start && bytes[at - 1] === CR ? at - 1 : at;
      if (usageAt !== -1 && usageAt < start) usageAt = bytes.indexOf(USAGE_KEY, start);
      if (this.#wanted(bytes, usageAt, end)) this.#event(bytes, start, end);
      start = bytes[at + 1] === LF ? at + 2 : at + 3;
    }
    // A copy: the chunk's memory is not kept alive for a few bytes of it.
    if (start < bytes.length) this.#hold(Buffer.from(bytes.subarray(start)));
  }

  end(): void {
    if (this.#pendingBytes === 0) return;
    const pending = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#wanted(pending, pending.indexOf(USAGE_KEY), pending.length)) this.#event(pending, 0, pending.length);
  }

  #hold(part: Buffer): void {
    this.#pendingBytes += part.length;
    if (this.#pendingBytes <= MAX_PENDING_BYTES) this.#pending.push(part);
    else {
      this.#pending = [];
      this.#pendingBytes = 0;
    }
  }

  /** Whether an event ending at `end`, the next "usage" key being at `usageAt` (-1: none), can tell the model while it is unknown, or a usage. */
  #wanted(bytes: Buffer, usageAt: number, end: number): boolean {
    return this.#model === null || (usageAt !== -1 && usageAt < end && carriesUsage(bytes, usageAt, end));
  }

  /** Reads the event in bytes[start, end): called only for those #wanted. */
  #event(bytes: Buffer, start: number, end: number): void {
    const data = eventData(bytes.toString('utf8', start, end));
    if (data === '' || data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(parsed)) return;
    switch (this.#kind) {
      case 'chat':
        if (typeof parsed['model'] === 'string') this.#model = parsed['model'];
        if (isObject(parsed['usage'])) this.#usage = parsed['usage'];
        break;
      case 'responses': {
        const response = parsed['response'];
        if (!isObject(response)) break;
        if (typeof response['model'] === 'string') this.#model = response['model'];
        if (isObject(response['usage'])) this.#usage = response['usage'];
        break;
      }
      case 'messages':
        if (parsed['type'] === 'message_start' && isObject(parsed['message'])) {
          const message = parsed['message'];
          if (typeof message['model'] === 'string') this.#model = message['model'];
          if (isObject(message['usage'])) this.#usage = { ...message['usage'] };
        } else if (parsed['type'] === 'message_delta' && isObject(parsed['usage'])) {
          // Counts in a delta are cumulative: they replace what message_start said.
          this.#usage = { ...(this.#usage ?? {}), ...parsed['usage'] };
        }
        break;
    }
  }
}

/**
 * Where the event starting at `from` ends: the line break ending its last
 * line, the first of the blank line (`\n\n` or `\n\r\n`, so `\r\n\r\n`
 * too) that ends an event. -1 until that blank line has arrived.
 */
function blankLineAt(bytes: Buffer, from: number): number {
  for (let at = bytes.indexOf(LF, from); at !== -1; at = bytes.indexOf(LF, at + 1)) {
    if (bytes[at + 1] === LF || (bytes[at + 1] === CR && bytes[at + 2] === LF)) return at;
  }
  return -1;
}

/** The data of an event: its `data:` lines, without the field name and one space after it, joined by line breaks. */
function eventData(event: string): string {
  // Mostly one line, `data: {...}`.
  if (event.startsWith('data: ') && !event.includes('\n')) return event.slice(6);
  return event
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''))
    .join('\n');
}

/** Whether a `"usage"` key, the one at `usageAt` or a later one before `end`, has a value other than null. */
function carriesUsage(bytes: Buffer, usageAt: number, end: number): boolean {
  for (let at = usageAt; at !== -1 && at < end; at = bytes.indexOf(USAGE_KEY, at + 1)) {
    let next = skipSpace(bytes, at + USAGE_KEY.length, end);
    if (bytes[next] !== 0x3a /* : */) continue;
    next = skipSpace(bytes, next + 1, end);
    if (next < end && bytes[next] !== 0x6e /* n of null */) return true;
  }
  return false;
}

function skipSpace(bytes: Buffer, at: number, end: number): number {
  let next = at;
  while (next < end && (bytes[next] === 0x20 || bytes[next] === 0x09 || bytes[next] === LF || bytes[next] === CR)) next += 1;
  return next;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
