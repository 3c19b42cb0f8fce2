import { fork, type ChildProcess } from 'node:child_process';

/**
 * Calls between bench:gateway and its child processes over the IPC channel
 * fork() opens: the parent calls a named handler of the child with one
 * payload and gets its result (or its error) back. A child serves its
 * handlers until the parent disconnects, then exits.
 */

// `never` parameters: any one-argument (or no-argument) handler fits.
type Handlers = Record<string, (payload: never) => unknown>;

interface Call {
  readonly id: number;
  readonly type: string;
  readonly payload: unknown;
}

type Answer = { readonly id: number; readonly ok: true; readonly result: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

export class BenchChild<H extends Handlers> {
  readonly #child: ChildProcess;
  readonly #name: string;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  readonly #exited: Promise<void>;
  #next = 1;

  /** Starts `file` under tsx (plus `execArgv`); its stdout goes to our stderr, so that stdout carries only the bench's JSON. */
  constructor(file: string, name: string, execArgv: readonly string[] = []) {
    this.#name = name;
    this.#child = fork(file, [], { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 2, 2, 'ipc'] });
    this.#child.on('message', (message: Answer) => {
      const waiting = this.#pending.get(message.id);
      if (!waiting) return;
      this.#pending.delete(message.id);
      if (message.ok) waiting.resolve(message.result);
      else waiting.reject(new Error(`${name}: ${message.error}`));
    });
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', (code, signal) => {
        for (const waiting of this.#pending.values()) waiting.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
        this.#pending.clear();
        resolve();
      }),
    );
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error(`${this.#name} did not start`);
    return this.#child.pid;
  }

  call<K extends keyof H & string>(type: K, ...payload: Parameters<H[K]>): Promise<Awaited<ReturnType<H[K]>>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, type, payload: payload[0] ?? null } satisfies Call);
    });
  }

  /** Disconnects (the child exits by itself), and kills it if it has not after 5 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** In a child: answers the parent's calls with `handlers`, and exits when the parent disconnects. */
export function serve(handlers: Handlers, onDisconnect: () => Promise<void> | void = () => undefined): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a bench child must be started with an IPC channel (fork)');
  process.on('message', (message: Call) => {
    const handler = handlers[message.type] as ((payload: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`no handler ${message.type}`);
        return handler(message.payload);
      })
      .then(
        (result) => send({ id: message.id, ok: true, result: result ?? null } satisfies Answer),
        (err: unknown) => send({ id: message.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Answer),
      );
  });
  process.once('disconnect', () => {
    void Promise.resolve(onDisconnect()).finally(() => process.exit(0));
  });
}
