import { describe, expect, it } from 'vitest';
import { StreamUsage, type StreamKind } from '../../../services/gateway/stream-usage.ts';

/**
 * StreamUsage reads usage from the bytes of an event stream as they are
 * relayed, however the upstream's writes were cut into chunks, and parses
 * only the events that can tell the model or the usage.
 */

const USAGE = { prompt_tokens: 412, completion_tokens: 57, total_tokens: 469, prompt_tokens_details: { cached_tokens: 256 } };
const chunk = (extra: Record<string, unknown>) => ({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-mini-2024-07-18', ...extra });
const sse = (events: readonly unknown[], lineEnd = '\n') => events.map((event) => `data: ${typeof event === 'string' ? event : JSON.stringify(event)}${lineEnd}${lineEnd}`).join('');

/** OpenAI with include_usage: `"usage": null` on every chunk but the last. */
const CHAT = sse([
  chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
  chunk({ choices: [{ index: 0, delta: { content: 'The "usage": {"n": 1} of a word é 🙂' } }], usage: null }),
  chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
  chunk({ choices: [], usage: USAGE }),
  '[DONE]',
]);

function read(kind: StreamKind, parts: readonly (string | Buffer)[], end = true): StreamUsage {
  const tracker = new StreamUsage(kind);
  for (const part of parts) tracker.push(typeof part === 'string' ? Buffer.from(part) : part);
  if (end) tracker.end();
  return tracker;
}

/** The stream cut at `at` byte offsets. */
function cut(text: string, at: readonly number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const bounds = [0, ...at, bytes.length];
  return bounds.slice(1).map((end, index) => bytes.subarray(bounds[index], end));
}

describe('StreamUsage', () => {
  it('reads the usage chunk of a chat stream, and the served model', () => {
    const tracker = read('chat', [CHAT]);
    expect(tracker.usage).toEqual(USAGE);
    expect(tracker.model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('reads the same however the stream is cut: at every byte, and byte by byte', () => {
    const length = Buffer.byteLength(CHAT);
    for (let at = 1; at < length; at += 1) {
      const tracker = read('chat', cut(CHAT, [at]));
      expect(tracker.usage, `cut at ${at}`).toEqual(USAGE);
    }
    const bytes = Buffer.from(CHAT);
    const byByte = read('chat', [...bytes].map((byte) => Buffer.from([byte])));
    expect(byByte.usage).toEqual(USAGE);
    expect(byByte.model).toBe('gpt-4o-mini-2024-07-18');
  });

  it('reads streams with CRLF line ends, event lines, data split over lines, and a space after the colon', () => {
    const crlf = read('chat', [sse([chunk({ usage: null }), chunk({ choices: [], usage: USAGE }), '[DONE]'], '\r\n')]);
    expect(crlf.usage).toEqual(USAGE);
    const split = read('chat', ['event: chunk\ndata: {"model": "m-1",\ndata:  "usage" :\n', 'data: {"prompt_tokens": 3}}\n\n']);
    expect(split.usage).toEqual({ prompt_tokens: 3 });
    expect(split.model).toBe('m-1');
  });

  it('keeps what it saw when the stream stops early, and reads a last event that has no blank line after it', () => {
    const events = CHAT.split('\n\n');
    const beforeUsage = read('chat', [events.slice(0, 3).join('\n\n') + '\n\n']);
    expect(beforeUsage.usage).toBeNull();
    expect(beforeUsage.model).toBe('gpt-4o-mini-2024-07-18');
    const unterminated = read('chat', [`${events.slice(0, 4).join('\n\n')}\n`]);
    expect(unterminated.usage).toEqual(USAGE);
  });

  it('reads response.completed of a responses stream, and cumulative Anthropic message usage', () => {
    const responses = read('responses', [
      sse([
        { type: 'response.created', response: { model: 'gpt-4.1', status: 'in_progress', usage: null } },
        { type: 'response.output_text.delta', delta: 'hi' },
        { type: 'response.completed', response: { model: 'gpt-4.1', status: 'completed', usage: { input_tokens: 80, output_tokens: 20 } } },
      ]),
    ]);
    expect(responses.usage).toEqual({ input_tokens: 80, output_tokens: 20 });
    expect(responses.model).toBe('gpt-4.1');
    const messages = read('messages', [
      sse([
        { type: 'message_start', message: { model: 'claude-haiku-4-5', usage: { input_tokens: 50, cache_read_input_tokens: 200, output_tokens: 1 } } },
        { type: 'content_block_delta', delta: { type: 'text_delta', text: 'hi' } },
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 42 } },
        { type: 'message_stop' },
      ]),
    ]);
    expect(messages.usage).toEqual({ input_tokens: 50, cache_read_input_tokens: 200, output_tokens: 42 });
    expect(messages.model).toBe('claude-haiku-4-5');
  });

  it('ignores what is not JSON, and a stream that is not an event stream', () => {
    expect(read('chat', ['data: not json\n\n', ': a comment\n\n', 'data: [DONE]\n\n']).usage).toBeNull();
    expect(read('chat', ['{"usage": {"prompt_tokens": 1}}']).usage).toBeNull();
  });
});
