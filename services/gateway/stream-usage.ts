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
    for (;;) {
      const end = eventEnd(bytes, start);
      if (!end) break;
      this.#event(bytes, start, end.text);
      start = end.next;
    }
    // A copy: the chunk's memory is not kept alive for a few bytes of it.
    if (start < bytes.length) this.#hold(Buffer.from(bytes.subarray(start)));
  }

  end(): void {
    if (this.#pendingBytes === 0) return;
    const pending = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#event(pending, 0, pending.length);
  }

  #hold(part: Buffer): void {
    this.#pendingBytes += part.length;
    if (this.#pendingBytes <= MAX_PENDING_BYTES) this.#pending.push(part);
    else {
      this.#pending = [];
      this.#pendingBytes = 0;
    }
  }

  /** The event in bytes[start, end): parsed only when it can tell the model or the usage. */
  #event(bytes: Buffer, start: number, end: number): void {
    if (this.#model !== null && !carriesUsage(bytes, start, end)) return;
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
 * Where the event starting at `from` ends: `text`, the end of its last line
 * (without its line break), and `next`, where the following event starts —
 * after the blank line (`\n\n` or `\r\n\r\n`) that ends it. Null until that
 * blank line has arrived.
 */
function eventEnd(bytes: Buffer, from: number): { text: number; next: number } | null {
  for (let at = bytes.indexOf(LF, from); at !== -1; at = bytes.indexOf(LF, at + 1)) {
    const text = at > from && bytes[at - 1] === CR ? at - 1 : at;
    if (bytes[at + 1] === LF) return { text, next: at + 2 };
    if (bytes[at + 1] === CR && bytes[at + 2] === LF) return { text, next: at + 3 };
  }
  return null;
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

/** Whether bytes[start, end) hold a `"usage"` key with a value other than null. */
function carriesUsage(bytes: Buffer, start: number, end: number): boolean {
  const event = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  for (let at = event.indexOf(USAGE_KEY); at !== -1; at = event.indexOf(USAGE_KEY, at + 1)) {
    let next = skipSpace(event, at + USAGE_KEY.length);
    if (event[next] !== 0x3a /* : */) continue;
    next = skipSpace(event, next + 1);
    if (next < event.length && event[next] !== 0x6e /* n of null */) return true;
  }
  return false;
}

function skipSpace(bytes: Buffer, at: number): number {
  let next = at;
  while (next < bytes.length && (bytes[next] === 0x20 || bytes[next] === 0x09 || bytes[next] === LF || bytes[next] === CR)) next += 1;
  return next;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
