import { describe, expect, it } from 'vitest';
import { chunk, type TopicMessages } from '../../src/kafka/serial-producer.ts';

const message = (key: string, bytes: number) => ({ key, value: Buffer.alloc(bytes) });
const sizes = (requests: TopicMessages[][]) => requests.map((request) => request.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join('+')}`));

describe('chunk', () => {
  it('keeps everything in one request when it fits', () => {
    const batches = [{ topic: 'a', messages: [message('1', 10), message('2', 10)] }, { topic: 'b', messages: [message('3', 10)] }];
    expect(sizes(chunk(batches, 100))).toEqual([['a:1+2', 'b:3']]);
  });

  it('splits at the byte limit (keys and values counted) and keeps message order per topic', () => {
    const batches = [{ topic: 'a', messages: [message('1', 40), message('2', 40), message('3', 40)] }, { topic: 'b', messages: [message('4', 40)] }];
    // Each message is 41 bytes with its key: two fit under 100, a third does not.
    expect(sizes(chunk(batches, 100))).toEqual([['a:1+2'], ['a:3', 'b:4']]);
  });

  it('sends a message larger than the limit alone rather than dropping it', () => {
    const batches = [{ topic: 'a', messages: [message('1', 10), message('big', 500), message('3', 10)] }];
    expect(sizes(chunk(batches, 100))).toEqual([['a:1'], ['a:big'], ['a:3']]);
  });

  it('makes no request for no messages', () => {
    expect(chunk([{ topic: 'a', messages: [] }], 100)).toEqual([]);
  });
});
