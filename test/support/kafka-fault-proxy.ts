import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real Kafka broker (which advertises the proxy's
 * port), able to inject the fault that matters for idempotent producers: the
 * broker receives and writes a Produce request, but the client never hears
 * back, and cannot reconnect for a while. It reads only the Kafka frame
 * header (int32 size, int16 api key); everything else passes through.
 */
export class KafkaFaultProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #armed = false;
  #refusing = false;
  /** Produce requests that passed while armed (so the broker got them). */
  droppedAfterProduce = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(listenPort: number, brokerPort: number): Promise<KafkaFaultProxy> {
    const server = createServer();
    const proxy = new KafkaFaultProxy(server);
    server.on('connection', (client) => proxy.#accept(client, brokerPort));
    await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
    return proxy;
  }

  /** The next Produce request reaches the broker; then every connection drops and new ones are refused until allow(). */
  dropAfterNextProduce(): void {
    this.#armed = true;
  }

  /** Accepts connections again. */
  allow(): void {
    this.#refusing = false;
  }

  #accept(client: Socket, brokerPort: number): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const broker = connect({ host: '127.0.0.1', port: brokerPort });
    this.#sockets.add(client).add(broker);
    const close = () => {
      client.destroy();
      this.#sockets.delete(client);
    };
    client.on('error', close).on('close', () => {
      close();
      // Leave the broker side open briefly so a request already sent is still processed.
      setTimeout(() => broker.destroy(), 2_000);
    });
    broker.on('error', () => broker.destroy()).on('close', () => {
      this.#sockets.delete(broker);
      client.destroy();
    });
    let muted = false;
    broker.on('data', (chunk: Buffer) => {
      if (!muted) client.write(chunk);
    });

    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 6) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(0, 4 + size);
        pending = pending.subarray(4 + size);
        broker.write(frame);
        if (this.#armed && frame.readInt16BE(4) === 0) {
          this.#armed = false;
          this.droppedAfterProduce += 1;
          this.#refusing = true;
          // The broker gets the whole request and writes the batch; its answer is swallowed and
          // the client's connections are cut, as when a network path fails after the write.
          muted = true;
          for (const socket of this.#sockets) if (socket !== broker) socket.destroy();
          setTimeout(() => broker.destroy(), 2_000);
          return;
        }
      }
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
