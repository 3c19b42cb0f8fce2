import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../logging/logger.ts';

/**
 * A real single-node Apache Kafka broker (KRaft, no ZooKeeper) for the
 * embedded default and the tests: jars resolved by Maven from
 * deploy/kafka/pom.xml, run on the machine's Java 17.
 */

export interface LocalBrokerPaths {
  /** deploy/kafka/pom.xml */
  readonly pom: string;
  /** Where Maven copies the broker's jars (cached between runs). */
  readonly libDir: string;
  /** Broker state: config, KRaft metadata, log segments, pid and log file. */
  readonly dataDir: string;
}

export interface LocalBrokerOptions extends LocalBrokerPaths {
  /** Client listener; the controller listens on port + 1. */
  readonly port: number;
  /** Port the broker tells clients to use, when a proxy stands in front of it (fault-injection tests). */
  readonly advertisedPort?: number;
  readonly heapMb?: number;
  /** Left running when the starting process exits (`spendline kafka start`); otherwise stop() ends it. */
  readonly detached?: boolean;
  readonly startTimeoutMs?: number;
  /** JDK to run the broker with; `java` on the PATH when absent. */
  readonly javaHome?: string | undefined;
}

export interface LocalBroker {
  readonly brokers: readonly string[];
  readonly pid: number;
  /** False when an already running broker was reused; stop() then leaves it running. */
  readonly owned: boolean;
  stop(): Promise<void>;
}

const COMPLETE_MARKER = '.complete';

/** Resolves the broker jars with Maven unless the cache already matches the pom. */
export function fetchBrokerJars(paths: Pick<LocalBrokerPaths, 'pom' | 'libDir'>, log: Logger): void {
  const pomHash = createHash('sha256').update(readFileSync(paths.pom)).digest('hex');
  const marker = join(paths.libDir, COMPLETE_MARKER);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === pomHash) return;
  log.info({ libDir: paths.libDir }, 'resolving Kafka broker jars with Maven (first run only)');
  rmSync(paths.libDir, { recursive: true, force: true });
  const mvn = spawnSync(
    'mvn',
    ['-q', '-B', '-Dstyle.color=never', '-f', paths.pom, 'dependency:copy-dependencies', `-DoutputDirectory=${paths.libDir}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (mvn.error) throw new Error(`cannot run Maven (mvn) to fetch the Kafka broker: ${mvn.error.message}`);
  if (mvn.status !== 0) throw new Error(`Maven failed (exit ${mvn.status}) resolving the Kafka broker from ${paths.pom}`);
  if (!readdirSync(paths.libDir).some((file) => file.startsWith('kafka_2.13-'))) {
    throw new Error(`Maven finished but ${paths.libDir} holds no kafka_2.13 jar`);
  }
  writeFileSync(marker, pomHash);
}

/**
 * Starts the broker (formatting its storage on first use) and resolves once it
 * answers Kafka requests. If a broker started from the same data directory is
 * already answering on the port, it is reused.
 */
export async function startLocalBroker(options: LocalBrokerOptions, log: Logger): Promise<LocalBroker> {
  const brokers = [`127.0.0.1:${options.port}`];
  const pidFile = join(options.dataDir, 'broker.pid');
  const runningPid = readLivePid(pidFile);
  if (runningPid !== null && (await portAnswers(options.port))) {
    log.info({ brokers, pid: runningPid }, 'reusing the local Kafka broker already running');
    return { brokers, pid: runningPid, owned: false, stop: async () => {} };
  }
  if (await portAnswers(options.port)) {
    throw new Error(`port ${options.port} is taken by another program: set LOCAL_KAFKA_PORT, or KAFKA_BROKERS to use that broker`);
  }

  fetchBrokerJars(options, log);
  const java = javaCommand(options.javaHome);
  const propertiesFile = writeServerProperties(options);
  formatStorage(java, options, propertiesFile);

  const logFile = join(options.dataDir, 'server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    java,
    [
      `-Xmx${options.heapMb ?? 1024}m`,
      '-Xms256m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dorg.slf4j.simpleLogger.logFile=${logFile}`,
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn',
      '-cp',
      join(options.libDir, '*'),
      'kafka.Kafka',
      propertiesFile,
    ],
    // Its own process group always: a terminal's Ctrl-C reaches the whole foreground group, and
    // the broker must outlive the services' drain, stopped last by stop().
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  if (child.pid === undefined) throw new Error(`could not start ${java}`);
  const pid = child.pid;
  writeFileSync(pidFile, String(pid));
  if (options.detached) child.unref();

  try {
    await waitUntilAnswering(brokers, child, options.startTimeoutMs ?? 90_000, logFile);
  } catch (err) {
    await stopProcess(pid, child);
    throw err;
  }
  log.info({ brokers, pid, logFile }, 'local Kafka broker is up');
  return {
    brokers,
    pid,
    owned: true,
    stop: async () => {
      await stopProcess(pid, child);
      rmSync(pidFile, { force: true });
      log.info({ pid }, 'local Kafka broker stopped');
    },
  };
}

/** Stops the broker recorded in a data directory (`spendline kafka stop`). */
export async function stopLocalBrokerIn(dataDir: string): Promise<boolean> {
  const pidFile = join(dataDir, 'broker.pid');
  const pid = readLivePid(pidFile);
  if (pid === null) return false;
  await stopProcess(pid, null);
  rmSync(pidFile, { force: true });
  return true;
}

export function localBrokerPid(dataDir: string): number | null {
  return readLivePid(join(dataDir, 'broker.pid'));
}

function javaCommand(javaHome: string | undefined): string {
  const java = javaHome ? join(javaHome, 'bin', 'java') : 'java';
  const probe = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`the local Kafka broker needs Java 17 or newer, and ${java} cannot run: ${probe.error.message}`);
  const version = /version "(\d+)/.exec(probe.stderr ?? '')?.[1];
  if (version !== undefined && Number(version) < 17) {
    throw new Error(`the local Kafka broker needs Java 17 or newer; ${java} is Java ${version}`);
  }
  return java;
}

function writeServerProperties(options: LocalBrokerOptions): string {
  const controllerPort = options.port + 1;
  mkdirSync(options.dataDir, { recursive: true });
  const file = join(options.dataDir, 'server.properties');
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${options.port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${options.advertisedPort ?? options.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(options.dataDir, 'logs'),
    // A single node can only hold one replica of the internal topics.
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'offsets.topic.num.partitions': '10',
    'group.initial.rebalance.delay.ms': '0',
    // Topics are created explicitly with their partitions and retention.
    'auto.create.topics.enable': 'false',
    'num.partitions': '3',
  };
  writeFileSync(file, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join('\n') + '\n');
  return file;
}

/** Formats KRaft storage once per data directory; a formatted directory keeps its cluster id and data. */
function formatStorage(java: string, options: LocalBrokerOptions, propertiesFile: string): void {
  if (existsSync(join(options.dataDir, 'logs', 'meta.properties'))) return;
  // Kafka cluster ids are 16 random bytes in URL-safe base64 without padding; like Kafka's own
  // generator, avoid a leading '-', which the command line would read as an option.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const result = spawnSync(
    java,
    ['-cp', join(options.libDir, '*'), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesFile],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(`formatting Kafka storage failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().slice(-2000)}`);
  }
}

async function waitUntilAnswering(brokers: readonly string[], child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const kafka = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING, connectionTimeout: 1_000, retry: { retries: 0 } });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`the Kafka broker exited with code ${exited} while starting:\n${tail(logFile)}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return;
    } catch {
      // Not up yet: keep polling until the deadline.
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`the Kafka broker did not answer within ${timeoutMs} ms:\n${tail(logFile)}`);
}

async function stopProcess(pid: number, child: ChildProcess | null): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const childExited = child !== null && (child.exitCode !== null || child.signalCode !== null);
    if (childExited || !isAlive(pid)) return;
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
}

/** Sends a signal; false when the process is already gone. */
function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readLivePid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no broker log)';
  }
}
