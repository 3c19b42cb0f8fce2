/**
 * bench:gateway's stand-in for a provider, in its own process: answers
 * POST /v1/chat/completions at once (no model time), with keep-alive
 * connections — the non-streaming JSON body, or the event stream when the
 * request says `stream: true`. Anything else is a 404.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHAT_RESPONSE, CHAT_STREAM } from './chat-fixtures.ts';
import { serve } from './child-ipc.ts';

const RESPONSE = Buffer.from(CHAT_RESPONSE);
const STREAM = CHAT_STREAM.map((event) => Buffer.from(event));
let served = 0;

const server = createServer((request, response) => {
  const parts: Buffer[] = [];
  request.on('data', (part: Buffer) => parts.push(part));
  request.on('end', () => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return void response.writeHead(404).end();
    let body: { stream?: unknown };
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { stream?: unknown };
    } catch {
      return void response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad json","type":"invalid_request_error"}}');
    }
    served += 1;
    if (body.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': 'req-bench' });
      for (const event of STREAM) response.write(event);
      return void response.end();
    }
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': RESPONSE.length, 'x-request-id': 'req-bench' }).end(RESPONSE);
  });
});
// Idle connections stay open between runs, as a provider's do.
server.keepAliveTimeout = 120_000;

const handlers = {
  start: async (): Promise<{ url: string }> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
  },
  served: (): number => served,
};
export type MockUpstreamHandlers = typeof handlers;

serve(handlers, () => {
  server.closeAllConnections();
  server.close();
});
