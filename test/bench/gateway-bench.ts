/**
 * npm run bench:gateway — the latency the gateway adds to a model call, and
 * the CPU and memory it takes, at fixed request rates.
 *
 * Three processes besides this one (which only orchestrates and reads /proc):
 *   - a mock upstream (gateway/mock-upstream.ts): node:http with keep-alive,
 *     answering POST /v1/chat/completions at once — a JSON body with usage,
 *     or, for `stream: true`, an event stream of a few chunks, the usage chunk
 *     and [DONE];
 *   - the gateway (gateway/gateway-process.ts): buildHttpServer +
 *     registerProxyRoutes as `spendline start` builds them, the built-in
 *     attribution policy, the bundled price catalog, model rules, budget
 *     statuses, the per-key limiter, one gateway key. Its emit
 *     does what UsageEmitter.emit does before Kafka — checkUsageEvent and the
 *     Avro single-object encoding with the schema registry — and counts the
 *     event. The Kafka send runs in the background after the response has
 *     gone; bench:pipeline measures it;
 *   - the load client (gateway/load-client.ts).
 *
 * For each rate of BENCH_RATES (default 1000,5000 requests/s) and each mode
 * (non-streaming, streaming), the load client calls the mock directly and
 * through the gateway in BENCH_ROUNDS rounds (default 5): in each round one
 * run of each, in alternating order, each BENCH_SECONDS long (default 4,
 * measured) after BENCH_ROUND_WARMUP_SECONDS at the same rate (default 1,
 * discarded: a process idle for a few seconds has collection and compilation
 * work to catch up on); the first round's warm-up is BENCH_WARMUP_SECONDS
 * (default 3). The load client is open-loop at a fixed rate
 * (gateway/fixed-rate-client.ts) and times each request with
 * process.hrtime.bigint() from just before it is written to the end of the
 * answer (and to its headers: first byte), so latencies have µs resolution.
 * Added latency = gateway − direct, percentile by percentile, within a
 * round (a difference of percentiles, not a percentile of differences); the
 * figure reported is the median over rounds. Rounds rather than one long
 * run of each: on a machine shared with other work, a burst of it lands in
 * one round's runs instead of skewing one side of the comparison.
 *
 * While each run goes on, this process reads the CPU time of the three
 * processes and the gateway's RSS (every 250 ms) from /proc, and the
 * machine's busy share from /proc/stat; the busy share less the three
 * processes' is reported as other work, per run. After each gateway run it
 * checks that the gateway encoded one usage event per call it forwarded and,
 * when every call was answered, one per answered call with the usage the
 * mock reported.
 *
 * BENCH_PIN=1 pins the gateway to the last core and the load client and the
 * mock to the others (taskset), as when the gateway has a machine of its
 * own; the default leaves placement to the scheduler.
 *
 * After the runs of each rate, as a cross-check with the ecosystem's load
 * generator, autocannon at the same overall rate for BENCH_CROSSCHECK_SECONDS
 * (default 10; 0 skips): it sends each connection's share of a second back
 * to back and counts whole milliseconds, so only its tail and achieved rate
 * say something here.
 *
 * BENCH_KEY_REQUESTS_PER_MINUTE and BENCH_KEY_TOKENS_PER_MINUTE give the
 * bench's gateway key limits (default 0: unlimited, a key's default), so the
 * per-key limiter's cost shows; BENCH_GATEWAY_PROFILE_DIR writes a V8 CPU
 * profile of the gateway process there, BENCH_GATEWAY_ALLOC_PROFILE=FILE a
 * sampled profile of everything it allocates (gateway/gateway-process.ts),
 * and BENCH_GATEWAY_FLAGS passes Node/V8 flags to it (e.g. GC settings).
 *
 * Prints one JSON document on stdout and a table on stderr. Linux only (/proc).
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chatHeaders, chatRequest } from './gateway/chat-fixtures.ts';
import { BenchChild } from './gateway/child-ipc.ts';
import type { FixedRateResult } from './gateway/fixed-rate-client.ts';
import type { EmitCounts, GatewayProcessHandlers } from './gateway/gateway-process.ts';
import type { LatencySummary } from './gateway/latency-summary.ts';
import type { AutocannonSpec, LoadClientHandlers } from './gateway/load-client.ts';
import type { MockUpstreamHandlers } from './gateway/mock-upstream.ts';
import { ProcessUsage, type UsageReport } from './gateway/process-usage.ts';

const env = process.env;
const seconds = Number(env['BENCH_SECONDS'] ?? 4);
const rounds = Math.max(1, Number(env['BENCH_ROUNDS'] ?? 5));
const warmupSeconds = Number(env['BENCH_WARMUP_SECONDS'] ?? 3);
const roundWarmupSeconds = Number(env['BENCH_ROUND_WARMUP_SECONDS'] ?? 1);
const pin = env['BENCH_PIN'] === '1';
const rates = (env['BENCH_RATES'] ?? '1000,5000').split(',').map(Number);
const crossCheckSeconds = Number(env['BENCH_CROSSCHECK_SECONDS'] ?? 10);
const crossCheckConnections = 10;
/** The bench key's per-minute limits (0, a key's default: unlimited). */
const keyLimits = { requestsPerMinute: Number(env['BENCH_KEY_REQUESTS_PER_MINUTE'] ?? 0), tokensPerMinute: Number(env['BENCH_KEY_TOKENS_PER_MINUTE'] ?? 0) };
const timeoutMs = 10_000;
/** The issue's goal: at most 1 ms added at p99, at 1,000 requests/s. */
const GOAL = { rate: 1_000, p99AddedUs: 1_000 };
const MODES = [
  { mode: 'non-streaming', stream: false },
  { mode: 'streaming', stream: true },
] as const;

const wallStarted = performance.now();
const loadAverageAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
const here = dirname(fileURLToPath(import.meta.url));
const upstream = new BenchChild<MockUpstreamHandlers>(join(here, 'gateway/mock-upstream.ts'), 'mock upstream');
const profileDir = env['BENCH_GATEWAY_PROFILE_DIR'];
const gateway = new BenchChild<GatewayProcessHandlers>(join(here, 'gateway/gateway-process.ts'), 'gateway', [...(env['BENCH_GATEWAY_FLAGS'] ?? '').split(' ').filter(Boolean), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]);
const client = new BenchChild<LoadClientHandlers>(join(here, 'gateway/load-client.ts'), 'load client');

interface Measured {
  readonly result: FixedRateResult;
  readonly usage: UsageReport;
  readonly events: EmitCounts;
  readonly upstreamCalls: number;
  /** The gateway's heap and libuv handles right after the run. */
  readonly internals: { readonly heapUsedMiB: number; readonly resources: Record<string, number> };
}

const countsDelta = (after: EmitCounts, before: EmitCounts): EmitCounts => ({
  encoded: after.encoded - before.encoded,
  withUsage: after.withUsage - before.withUsage,
  failedCalls: after.failedCalls - before.failedCalls,
  refused: after.refused - before.refused,
  encodedBytes: after.encodedBytes - before.encodedBytes,
});

/**
 * Waits until the gateway has finished what an earlier run left it (calls the
 * client gave up on when it fell behind go on), so that no run inherits a
 * backlog: until its event count stops moving for 500 ms, 30 s at most.
 */
async function settle(): Promise<void> {
  let last = -1;
  for (let i = 0; i < 60; i += 1) {
    const { encoded } = await gateway.call('counts');
    if (encoded === last) return;
    last = encoded;
    await sleep(500);
  }
}

async function measure(target: 'direct' | 'gateway', url: string, rate: number, headers: Record<string, string>, body: string, warmup: number): Promise<Measured> {
  const spec = { url, rate, headers, body, timeoutMs };
  await settle();
  const warm = await client.call('fixedRate', { ...spec, seconds: warmup });
  if (warm.ok !== warm.sent) throw new Error(`warm-up ${target} at ${rate}/s: ${warm.non2xx} non-2xx answers and ${warm.errors} errors of ${warm.sent}`);
  const eventsBefore = await gateway.call('counts');
  const servedBefore = await upstream.call('served');
  const usage = new ProcessUsage({ gateway: gateway.pid, upstream: upstream.pid, loadClient: client.pid }, target === 'gateway' ? ['gateway'] : []);
  usage.start();
  const result = await client.call('fixedRate', { ...spec, seconds });
  const report = usage.stop(result.ok);
  // Usage events are emitted just after each response has gone; let the last ones through.
  await sleep(250);
  const events = countsDelta(await gateway.call('counts'), eventsBefore);
  return { result, usage: report, events, upstreamCalls: (await upstream.call('served')) - servedBefore, internals: await gateway.call('internals') };
}

const pick = (summary: LatencySummary) => ({ p50: summary.p50, p99: summary.p99, p999: summary.p999, max: summary.max, mean: summary.mean });
const added = (through: LatencySummary, direct: LatencySummary) => ({
  p50: round1(through.p50 - direct.p50),
  p99: round1(through.p99 - direct.p99),
  p999: round1(through.p999 - direct.p999),
});
const round1 = (value: number) => Math.round(value * 10) / 10;
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const medianOf = <T>(items: readonly T[], pick: (item: T) => number) => round1(median(items.map(pick)));

/** The machine's busy share (% of all cores) not used by the bench's three processes. */
const otherWork = (usage: UsageReport) => round1(Math.max(0, usage.machineBusyPercent - Object.values(usage.cpuPercentOfOneCore).reduce((sum, value) => sum + value, 0) / cpus().length));

/** Pins the gateway to the last core and the other two processes to the rest (taskset, every thread). */
function pinProcesses(): string {
  const last = cpus().length - 1;
  if (last < 1) return 'not pinned: one core';
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(last), String(gateway.pid)], { stdio: 'ignore' });
    for (const pid of [upstream.pid, client.pid]) execFileSync('taskset', ['-a', '-p', '-c', `0-${last - 1}`, String(pid)], { stdio: 'ignore' });
    return `gateway on core ${last}, load client and mock on ${last === 1 ? 'core 0' : `cores 0-${last - 1}`}`;
  } catch (err) {
    return `not pinned: ${(err as Error).message}`;
  }
}

function targetReport(measured: Measured, stream: boolean, target: 'direct' | 'gateway') {
  const { result, usage } = measured;
  return {
    sent: result.sent,
    ok: result.ok,
    non2xx: result.non2xx,
    errors: result.errors,
    bodyMismatches: result.bodyMismatches,
    responseBytes: result.bodyBytes,
    achievedPerSecond: result.achievedPerSecond,
    clientConnections: result.connections,
    latencyUs: pick(result.latencyUs.complete),
    ...(stream ? { firstByteUs: pick(result.latencyUs.firstByte) } : {}),
    sendLagUs: result.sendLagUs,
    cpuPercentOfOneCore: usage.cpuPercentOfOneCore,
    cpuUsPerRequest: usage.cpuUsPerRequest,
    kernelSharePercent: usage.kernelSharePercent,
    machineBusyPercent: usage.machineBusyPercent,
    otherWorkPercent: otherWork(usage),
    ...(target === 'gateway' ? { gatewayRssMiB: usage.rssMiB['gateway'], gatewayAfterRun: measured.internals } : {}),
    upstreamCalls: measured.upstreamCalls,
  };
}

/**
 * One usage event per call the gateway forwarded, none refused; when every
 * call was answered, one per answered call, each with the usage the mock
 * reported. Calls the client gave up on are recorded too (as errors).
 */
function usageEventCheck(measured: Measured) {
  const { events, result, upstreamCalls } = measured;
  const allAnswered = result.ok === result.sent;
  const onePerForwardedCall = events.encoded === upstreamCalls && events.refused === 0;
  return {
    answeredCalls: result.ok,
    forwardedCalls: upstreamCalls,
    encoded: events.encoded,
    withUsage: events.withUsage,
    recordedAsFailed: events.failedCalls,
    refused: events.refused,
    meanEncodedBytes: events.encoded > 0 ? Math.round(events.encodedBytes / events.encoded) : 0,
    onePerForwardedCall,
    onePerAnsweredCall: allAnswered && onePerForwardedCall && events.encoded === result.ok && events.withUsage === result.ok,
  };
}

async function crossCheckRun(url: string, spec: Omit<AutocannonSpec, 'url'>) {
  await settle();
  const usage = new ProcessUsage({ gateway: gateway.pid, upstream: upstream.pid, loadClient: client.pid }, []);
  usage.start();
  const result = await client.call('autocannon', { ...spec, url });
  const report = usage.stop(result.ok);
  return { ...result, cpuPercentOfOneCore: report.cpuPercentOfOneCore, machineBusyPercent: report.machineBusyPercent };
}

try {
  const { url: upstreamBase } = await upstream.call('start');
  const { url: gatewayBase, key } = await gateway.call('start', { upstreamUrl: upstreamBase, keyLimits });
  const urls = { direct: `${upstreamBase}/chat/completions`, gateway: `${gatewayBase}/v1/chat/completions` };
  const headers = chatHeaders(key);

  const placement = pin ? pinProcesses() : 'left to the scheduler';
  const runs = [];
  const crossCheck = [];
  for (const rate of rates) {
    for (const { mode, stream } of MODES) {
      const body = chatRequest(stream);
      process.stderr.write(`${rate}/s ${mode}, ${rounds} rounds:`);
      const byRound = [];
      for (let round = 0; round < rounds; round += 1) {
        const warmup = round === 0 ? warmupSeconds : roundWarmupSeconds;
        const order = round % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const);
        const measured: Partial<Record<'direct' | 'gateway', Measured>> = {};
        for (const target of order) measured[target] = await measure(target, urls[target], rate, headers, body, warmup);
        const direct = measured.direct!;
        const through = measured.gateway!;
        byRound.push({
          direct: targetReport(direct, stream, 'direct'),
          gateway: targetReport(through, stream, 'gateway'),
          addedLatencyUs: added(through.result.latencyUs.complete, direct.result.latencyUs.complete),
          ...(stream ? { addedFirstByteUs: added(through.result.latencyUs.firstByte, direct.result.latencyUs.firstByte) } : {}),
          usageEvents: usageEventCheck(through),
        });
        process.stderr.write(` ${round + 1}`);
      }
      process.stderr.write('\n');
      const gatewayRuns = byRound.map((entry) => entry.gateway);
      runs.push({
        rate,
        mode,
        addedLatencyUs: { p50: medianOf(byRound, (entry) => entry.addedLatencyUs.p50), p99: medianOf(byRound, (entry) => entry.addedLatencyUs.p99), p999: medianOf(byRound, (entry) => entry.addedLatencyUs.p999) },
        addedP99UsByRound: byRound.map((entry) => entry.addedLatencyUs.p99),
        directLatencyUs: { p50: medianOf(byRound, (entry) => entry.direct.latencyUs.p50), p99: medianOf(byRound, (entry) => entry.direct.latencyUs.p99), p999: medianOf(byRound, (entry) => entry.direct.latencyUs.p999) },
        gatewayLatencyUs: { p50: medianOf(gatewayRuns, (run) => run.latencyUs.p50), p99: medianOf(gatewayRuns, (run) => run.latencyUs.p99), p999: medianOf(gatewayRuns, (run) => run.latencyUs.p999) },
        gatewayAchievedPerSecond: medianOf(gatewayRuns, (run) => run.achievedPerSecond),
        gatewayCpuPercentOfOneCore: medianOf(gatewayRuns, (run) => run.cpuPercentOfOneCore['gateway']!),
        gatewayCpuUsPerRequest: medianOf(gatewayRuns, (run) => run.cpuUsPerRequest['gateway']!),
        gatewayRssPeakMiB: Math.max(...gatewayRuns.map((run) => run.gatewayRssMiB?.peak ?? 0)),
        otherWorkPercent: medianOf(byRound, (entry) => Math.max(entry.direct.otherWorkPercent, entry.gateway.otherWorkPercent)),
        usageEventsOnePerCall: byRound.every((entry) => entry.usageEvents.onePerAnsweredCall),
        usageEventsOnePerForwardedCall: byRound.every((entry) => entry.usageEvents.onePerForwardedCall),
        rounds: byRound,
      });
    }
    // At the same rate before the next: a gateway overloaded at a higher rate stays slow for a while after.
    for (const { mode, stream } of crossCheckSeconds > 0 ? MODES : []) {
      process.stderr.write(`autocannon ${rate}/s ${mode}...\n`);
      const spec = { rate, seconds: crossCheckSeconds, connections: crossCheckConnections, headers, body: chatRequest(stream) };
      const direct = await crossCheckRun(urls.direct, spec);
      const through = await crossCheckRun(urls.gateway, spec);
      crossCheck.push({ rate, mode, connections: crossCheckConnections, direct, gateway: through });
    }
  }

  const atGoal = runs.filter((run) => run.rate === GOAL.rate);
  const report = {
    bench: 'gateway',
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 1024 ** 3), node: process.version, platform: `${process.platform}-${process.arch}` },
    loadAverage: { atStart: loadAverageAtStart, atEnd: loadavg().map((value) => Math.round(value * 100) / 100) },
    settings: { seconds, rounds, warmupSeconds, roundWarmupSeconds, rates, crossCheckSeconds, crossCheckConnections, timeoutMs, keyLimits, placement },
    method: {
      latency: 'open-loop fixed-rate client in its own process over keep-alive node:http agents; per request, process.hrtime.bigint() from just before the write to the end of the body (latencyUs) and to the response headers (firstByteUs); 2xx only; exact nearest-rank percentiles',
      addedLatency: 'per round, gateway percentile minus direct percentile (the two runs of a round back to back, in alternating order); reported: the median over rounds',
      otherWork: 'machine busy share (all cores) less the CPU of the bench processes, per run; the larger of a round\'s two runs, median over rounds',
      emit: 'the gateway checks (checkUsageEvent) and Avro-encodes (schema registry, single-object) each usage event as UsageEmitter.emit does, then counts it instead of buffering it for Kafka; the Kafka send is after the response and measured by bench:pipeline',
      cpu: 'from /proc/<pid>/stat over each measured run, % of one core and CPU µs per answered request; gateway RSS from /proc/<pid>/status every 250 ms',
    },
    runs,
    goal: {
      statement: `p99 added latency at most ${GOAL.p99AddedUs} µs at ${GOAL.rate} requests/s`,
      p99AddedUs: Object.fromEntries(atGoal.map((run) => [run.mode, run.addedLatencyUs.p99])),
      met: atGoal.length > 0 && atGoal.every((run) => run.addedLatencyUs.p99 <= GOAL.p99AddedUs),
    },
    crossCheck,
    publishedForComparison: {
      note: 'figures quoted in the issue, not measured here',
      litellm: 'adds 2-12 ms at p50 and 13-43 ms at p99',
      bifrost: 'claims tens of microseconds at 5,000 requests/s',
      portkey: 'under 1 ms',
    },
    wallSeconds: Math.round((performance.now() - wallStarted) / 1000),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  const cell = (summary: { p50: number; p99: number; p999: number }) => `${summary.p50.toFixed(0)}/${summary.p99.toFixed(0)}/${summary.p999.toFixed(0)}`.padStart(17);
  const lines = [
    '',
    `load average at start ${loadAverageAtStart.join(' ')}; ${rounds} rounds of ${seconds} s per target; processes ${placement}`,
    `latencies in µs (p50/p99/p99.9), medians over rounds; other%: the machine's busy share not used by the bench`,
    `${'rate'.padStart(5)} ${'mode'.padEnd(13)} ${'direct'.padStart(17)} ${'gateway'.padStart(17)} ${'added'.padStart(17)} ${'gw rate'.padStart(7)} ${'gw cpu%'.padStart(7)} ${'µs/req'.padStart(6)} ${'rss MiB'.padStart(7)} ${'other%'.padStart(6)} ${'added p99 by round'.padEnd(30)} events`,
    ...runs.map((run) =>
      [
        String(run.rate).padStart(5),
        run.mode.padEnd(13),
        cell(run.directLatencyUs),
        cell(run.gatewayLatencyUs),
        cell(run.addedLatencyUs),
        String(run.gatewayAchievedPerSecond).padStart(7),
        String(run.gatewayCpuPercentOfOneCore).padStart(7),
        String(run.gatewayCpuUsPerRequest).padStart(6),
        String(run.gatewayRssPeakMiB).padStart(7),
        String(run.otherWorkPercent).padStart(6),
        run.addedP99UsByRound.map((value) => value.toFixed(0)).join(' ').padEnd(30),
        run.usageEventsOnePerCall ? 'one per call' : run.usageEventsOnePerForwardedCall ? 'one per forwarded call (some calls unanswered)' : 'MISMATCH (see rounds[].usageEvents)',
      ].join(' '),
    ),
    `goal (${report.goal.statement}): ${report.goal.met ? 'met' : 'NOT met'}`,
    '',
  ];
  process.stderr.write(lines.join('\n'));
} finally {
  // Callers first, so that no call is cut off mid-way.
  await client.stop();
  await gateway.stop();
  await upstream.stop();
}
