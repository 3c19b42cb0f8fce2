import { createServer } from 'node:net';

/** A free port whose successor is free too (the controller listener). */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort(0);
    if (port < 65535 && (await freePort(port + 1)) === port + 1) return port;
  }
}

export function freePort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(-1));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : -1));
    });
  });
}
