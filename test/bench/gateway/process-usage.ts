import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU and memory of other processes and of the machine, read from /proc
 * (Linux) by the bench's parent, so that measuring adds no work to the
 * processes measured.
 */

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds the process has used so far, in user space and in the kernel. */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** Resident set size in bytes. */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Busy and total jiffies of all CPUs together. */
function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  // idle and iowait
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface UsageReport {
  /** CPU used by each process over the window, in % of one core. */
  readonly cpuPercentOfOneCore: Record<string, number>;
  /** CPU µs per request of each process (CPU time / requests answered). */
  readonly cpuUsPerRequest: Record<string, number>;
  /** Share of each process's CPU time spent in the kernel (system calls: sockets, epoll), %. */
  readonly kernelSharePercent: Record<string, number>;
  /** RSS of the processes sampled for memory, MiB: peak and mean of the samples. */
  readonly rssMiB: Record<string, { readonly peak: number; readonly mean: number }>;
  /** Share of all the machine's cores that were busy (any process, ours or not), %. */
  readonly machineBusyPercent: number;
}

/** Samples named processes from start() to stop(): CPU over the window, RSS every `everyMs` for those in `memoryOf`. */
export class ProcessUsage {
  readonly #pids: Readonly<Record<string, number>>;
  readonly #memoryOf: readonly string[];
  readonly #everyMs: number;
  #cpuAtStart: Record<string, { user: number; system: number }> = {};
  #machineAtStart = { busy: 0, total: 0 };
  #startedAt = 0n;
  #rss: Record<string, number[]> = {};
  #timer: NodeJS.Timeout | null = null;

  constructor(pids: Readonly<Record<string, number>>, memoryOf: readonly string[], everyMs = 250) {
    this.#pids = pids;
    this.#memoryOf = memoryOf;
    this.#everyMs = everyMs;
  }

  start(): void {
    this.#cpuAtStart = Object.fromEntries(Object.entries(this.#pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
    this.#machineAtStart = machineJiffies();
    this.#rss = Object.fromEntries(this.#memoryOf.map((name) => [name, [rssBytes(this.#pids[name]!)]]));
    this.#startedAt = process.hrtime.bigint();
    this.#timer = setInterval(() => {
      for (const name of this.#memoryOf) this.#rss[name]!.push(rssBytes(this.#pids[name]!));
    }, this.#everyMs);
  }

  stop(requests: number): UsageReport {
    if (this.#timer) clearInterval(this.#timer);
    const seconds = Number(process.hrtime.bigint() - this.#startedAt) / 1e9;
    const machine = machineJiffies();
    const cpuPercentOfOneCore: Record<string, number> = {};
    const cpuUsPerRequest: Record<string, number> = {};
    const kernelSharePercent: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.#pids)) {
      const now = cpuSeconds(pid);
      const before = this.#cpuAtStart[name]!;
      const system = now.system - before.system;
      const used = now.user - before.user + system;
      cpuPercentOfOneCore[name] = Math.round((used / seconds) * 1000) / 10;
      cpuUsPerRequest[name] = requests > 0 ? Math.round((used / requests) * 1e6) : 0;
      kernelSharePercent[name] = used > 0 ? Math.round((system / used) * 100) : 0;
    }
    const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
    const rssMiB = Object.fromEntries(
      Object.entries(this.#rss).map(([name, samples]) => {
        samples.push(rssBytes(this.#pids[name]!));
        return [name, { peak: mib(Math.max(...samples)), mean: mib(samples.reduce((sum, value) => sum + value, 0) / samples.length) }];
      }),
    );
    const machineBusyPercent = Math.round(((machine.busy - this.#machineAtStart.busy) / Math.max(1, machine.total - this.#machineAtStart.total)) * 1000) / 10;
    return { cpuPercentOfOneCore, cpuUsPerRequest, kernelSharePercent, rssMiB, machineBusyPercent };
  }
}
