import { StringDecoder } from 'node:string_decoder';

/**
 * Usage read from a server-sent event stream as it is relayed, without
 * holding the stream back: the chunks go to the caller untouched, a copy is
 * parsed here event by event.
 *  - OpenAI chat completions: the chunk carrying `usage` (the last one, sent
 *    when `stream_options.include_usage` is set);
 *  - OpenAI responses: the `response.completed` (or `.incomplete`, `.failed`)
 *    event's `response.usage`;
 *  - Anthropic messages: `message_start`'s `message.usage` (input and cache
 *    tokens), updated by each `message_delta`'s `usage` (output tokens so far).
 * What was seen is kept if the stream stops early (a client hanging up): the
 * usage then says what was delivered up to that point, when the provider had said it.
 */
export type StreamKind = 'chat' | 'responses' | 'messages';

export class StreamUsage {
  readonly #kind: StreamKind;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';
  #usage: Record<string, unknown> | null = null;
  #model: string | null = null;
  /** Events seen (a stream that carried none was not an event stream). */
  events = 0;

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
    this.#pending += this.#decoder.write(chunk);
    for (;;) {
      const match = /\r?\n\r?\n/.exec(this.#pending);
      if (!match) break;
      const block = this.#pending.slice(0, match.index);
      this.#pending = this.#pending.slice(match.index + match[0].length);
      this.#event(block);
    }
    // A single unterminated event larger than this is not a model stream; stop buffering it.
    if (this.#pending.length > 4 * 1024 * 1024) this.#pending = '';
  }

  end(): void {
    this.#pending += this.#decoder.end();
    if (this.#pending.trim() !== '') this.#event(this.#pending);
    this.#pending = '';
  }

  #event(block: string): void {
    const data = block
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '' || data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(parsed)) return;
    this.events += 1;
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
