import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a broker that can take the broker away in two ways:
 *
 * - cut(): as when the broker is down — open connections are dropped and new
 *   ones refused, so clients fail fast;
 * - partition(): as when the network silently drops packets — connections,
 *   open and new, stay up but nothing passes either way, so clients wait for
 *   their own timeouts.
 *
 * restore() lets traffic through again; connections a partition muted are
 * closed then (bytes were dropped mid-stream), so clients reconnect. Put it in
 * front of a broker that advertises the proxy's port (startLocalBroker's
 * advertisedPort) so every connection kafkajs makes, metadata included, goes
 * through it.
 */
export class SeveringProxy {
  readonly #server: Server;
  readonly #targetPort: number;
  /** Every socket of this proxy, both sides, and whether a partition muted it. */
  readonly #sockets = new Map<Socket, { muted: boolean }>();
  #state: 'open' | 'cut' | 'partitioned' = 'open';

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
  }

  static async start(listenPort: number, targetPort: number): Promise<SeveringProxy> {
    const server = createServer();
    const proxy = new SeveringProxy(server, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  cut(): void {
    this.#state = 'cut';
    for (const socket of this.#sockets.keys()) socket.destroy();
  }

  partition(): void {
    this.#state = 'partitioned';
    for (const flags of this.#sockets.values()) flags.muted = true;
  }

  restore(): void {
    this.#state = 'open';
    for (const [socket, flags] of this.#sockets) if (flags.muted) socket.destroy();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    if (this.#state === 'cut') {
      client.destroy();
      return;
    }
    const muted = this.#state === 'partitioned';
    const clientFlags = { muted };
    this.#sockets.set(client, clientFlags);
    // A connection made during a partition is held open and silent, never reaching the broker.
    if (muted) {
      client.on('error', () => client.destroy()).on('close', () => this.#sockets.delete(client));
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.#targetPort });
    const upstreamFlags = { muted };
    this.#sockets.set(upstream, upstreamFlags);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (chunk: Buffer) => {
      if (!clientFlags.muted) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!upstreamFlags.muted) client.write(chunk);
    });
  }
}
