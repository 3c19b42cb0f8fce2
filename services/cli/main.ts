import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClickHouse } from '../clickhouse/clickhouse.ts';
import { migrate, readMigrations } from '../clickhouse/migrations.ts';
import { loadConfig, type SpendlineConfig } from '../config/config.ts';
import { fetchBrokerJars, localBrokerPid, startLocalBroker, stopLocalBrokerIn, type LocalBroker } from '../kafka/local-broker.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import { BUNDLED_PRICE_CATALOG, GENAI_PRICES_SOURCE, KAFKA_LIB_DIR, KAFKA_POM, SQL_DIR } from '../project-paths.ts';
import { importGenaiPrices } from '../pricing/catalog/catalog-import.ts';
import { PricingSource } from '../pricing/pricing-source.ts';
import { runPriceCommand } from './price-command.ts';
import { runRepriceCommand } from './reprice-command.ts';
import { runAttributionCommand, runReattributeCommand } from './attribution-commands.ts';
import { runReportCommand } from './report-command.ts';
import { runDetect } from '../detection/detect-command.ts';
import { ensureAdminToken } from './admin-token.ts';
import { SERVICE_NAMES, startProcess, type ServiceName } from '../runtime/spendline-process.ts';

/**
 * The `spendline` command: the composition root. It is the only place that
 * reads process.env; everything below gets typed configuration.
 */

const USAGE = `usage: spendline <command>

  start                 run ingest, enricher, sink, the API (and the gateway, with
                        SPENDLINE_GATEWAY_FILE) in one process, on the local Kafka
                        broker (unless KAFKA_BROKERS is set) and embedded ClickHouse
                        (unless CLICKHOUSE_URL is set)
  ingest | enricher | sink | api | gateway
                        run one service alone (distributed deployment)
  migrate               apply the ClickHouse migrations in sql/ and exit
  price                 price calls: NDJSON requests on stdin, NDJSON answers on stdout
  reprice --from ISO --to ISO [--provider P] [--model M] [--dry-run]
                        reprice stored events with the prices now in force (asks the
                        running API; SPENDLINE_API_URL)
  reattribute --from ISO --to ISO [--gateway G] [--team T] [--environment E] [--api-key K] [--dry-run]
                        apply the attribution policy now in force to stored events
                        (asks the running API)
  attribution quality --from ISO --to ISO [--group-by D,...] [--environment E|all]
                        share of events and cost fully attributed, fixed by a rule,
                        defaulted or unattributed, and the top unattributed sources
  attribution policy    the attribution policy in force in the running Spendline
  attribution check FILE [--events NDJSON]
                        validate a policy file (and show how it attributes samples)
  report <cost|chargeback|reconciliation|attribution-quality|unit-economics|movers|forecast>
         [--param value ...] [--format csv|json]
                        run a report on the running Spendline (e.g. report chargeback
                        --period 2026-10 --by team --format csv)
  detect --input FILE.csv
                        score a timestamp,value series for anomalies (the live detector's
                        code): prints timestamp,value,anomaly_score
  catalog import [FILE] import a genai-prices data file as the bundled price catalog
                        (default: the copy in services/pricing/catalog/source)
  kafka fetch           resolve the Kafka broker jars with Maven
  kafka start           start the local broker in the background
  kafka stop            stop the local broker
  kafka status          say whether the local broker runs

Configuration is read from the environment; see README.md.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, subcommand] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`spendline: invalid configuration\n${loaded.issues.map((issue) => `  ${issue.path || 'environment'}: ${issue.message}`).join('\n')}\n`);
    return 2;
  }
  const config = loaded.value;
  const log = createLogger(config.logLevel);

  switch (command) {
    case 'start':
      return runServices(config, new Set(SERVICE_NAMES), log, { allowLocalBroker: true, generateToken: true });
    case 'ingest':
    case 'enricher':
    case 'sink':
    case 'api':
    case 'gateway':
      return runServices(config, new Set([command]), log, { allowLocalBroker: false, generateToken: false });
    case 'migrate':
      return runMigrations(config, log);
    case 'price': {
      // Unpriceable lines are answered in the output; the exit code reports only that the run completed.
      await runPriceCommand(new PricingSource(config.pricing, createLogger('warn')).current(), process.stdin, process.stdout);
      return 0;
    }
    case 'reprice':
      return runRepriceCommand(argv.slice(1), config);
    case 'reattribute':
      return runReattributeCommand(argv.slice(1), config);
    case 'attribution':
      return runAttributionCommand(argv.slice(1), config);
    case 'report':
      return runReportCommand(argv.slice(1), config);
    case 'detect': {
      const input = argv[1] === '--input' ? argv[2] : undefined;
      if (!input || argv.length !== 3) {
        process.stderr.write('spendline: usage: detect --input FILE.csv\n');
        return 2;
      }
      return runDetect(input, process.stdout, process.stderr);
    }
    case 'catalog':
      return runCatalogCommand(subcommand, argv[2]);
    case 'kafka':
      return runKafkaCommand(subcommand, config, log);
    default:
      process.stderr.write(`spendline: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

async function runServices(
  config: SpendlineConfig,
  services: ReadonlySet<ServiceName>,
  log: Logger,
  mode: { allowLocalBroker: boolean; generateToken: boolean },
): Promise<number> {
  const alone = services.size === 1;
  if (alone && (services.has('sink') || services.has('api') || services.has('gateway')) && config.clickhouse.url === null) {
    process.stderr.write('spendline: a sink, api or gateway running alone needs CLICKHOUSE_URL (embedded chDB belongs to one process; `spendline start` runs everything in one)\n');
    return 2;
  }
  if (alone && services.has('gateway') && config.gateway.file === null) {
    process.stderr.write('spendline: the gateway needs SPENDLINE_GATEWAY_FILE (its upstreams; see README.md, Gateway)\n');
    return 2;
  }
  const printedToken = mode.generateToken ? ensureAdminToken(config.auth, config.dataDir) : null;
  const effective = printedToken ? { ...config, auth: { ...config.auth, adminToken: printedToken.token } } : config;
  if (alone && (services.has('ingest') || services.has('api')) && !effective.auth.adminToken && effective.auth.readerTokens.length + effective.auth.ingestTokens.length === 0) {
    process.stderr.write('spendline: no bearer token configured; set SPENDLINE_ADMIN_TOKEN (or SPENDLINE_INGEST_TOKENS / SPENDLINE_READER_TOKENS)\n');
    return 2;
  }

  // Signals are caught from here on: a Ctrl-C while starting still stops what was started.
  const stopRequested = new Promise<{ signal: string }>((resolve) => {
    process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
    process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
  });

  let broker: LocalBroker | null = null;
  let brokers = config.kafka.brokers;
  if (brokers === null) {
    const kafkaDir = join(config.dataDir, 'kafka');
    if (!mode.allowLocalBroker && localBrokerPid(kafkaDir) === null) {
      process.stderr.write('spendline: KAFKA_BROKERS is not set and no local broker runs; set KAFKA_BROKERS, or run `spendline kafka start` first\n');
      return 2;
    }
    try {
      broker = await startLocalBroker(
        { pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir: kafkaDir, port: config.kafka.localPort, javaHome: process.env['JAVA_HOME'] },
        log.child({ component: 'local-kafka' }),
      );
    } catch (err) {
      process.stderr.write(`spendline: cannot start the local Kafka broker: ${(err as Error).message}\n`);
      return 1;
    }
    brokers = broker.brokers;
  }

  let running;
  try {
    running = await startProcess({ config: effective, services, brokers, log, secret: (variable) => process.env[variable] });
  } catch (err) {
    log.fatal({ err }, 'spendline failed to start');
    await broker?.stop();
    return 1;
  }
  process.stdout.write(`\nSpendline is running at ${running.url} (${[...services].join(', ')})\n`);
  if (printedToken?.fresh) process.stdout.write(`Admin token (shown once, kept in ${printedToken.file}): ${printedToken.token}\n\n`);
  else if (printedToken) process.stdout.write(`Admin token: the one generated earlier, kept in ${printedToken.file}\n\n`);

  const outcome = await Promise.race([stopRequested, running.fatal.then((fatal) => ({ fatal }))]);
  if ('fatal' in outcome) log.fatal({ err: outcome.fatal }, 'a consumer stopped for good; exiting so a supervisor can restart spendline');
  else log.info({ signal: outcome.signal }, 'shutting down');
  // A second signal forces the exit, but not an echo of the first: npm and a terminal may both
  // deliver one Ctrl-C.
  const firstSignalAt = Date.now();
  const forceExit = () => {
    if (Date.now() - firstSignalAt < 2_000) return;
    log.warn('second signal: exiting without a clean shutdown');
    process.exit(130);
  };
  process.on('SIGINT', forceExit);
  process.on('SIGTERM', forceExit);
  try {
    await running.stop();
    await broker?.stop();
  } catch (err) {
    log.error({ err }, 'shutdown failed');
    return 1;
  }
  return 'fatal' in outcome ? 1 : 0;
}

function runCatalogCommand(subcommand: string | undefined, file: string | undefined): number {
  if (subcommand !== 'import') {
    process.stderr.write('spendline: usage: catalog import [genai-prices-data.json]\n');
    return 2;
  }
  const source = file ?? GENAI_PRICES_SOURCE;
  const text = readFileSync(source, 'utf8');
  const catalog = importGenaiPrices(text, new Date());
  // Keep the source beside the catalog, so the import can be checked and redone.
  if (source !== GENAI_PRICES_SOURCE) writeFileSync(GENAI_PRICES_SOURCE, text);
  writeFileSync(BUNDLED_PRICE_CATALOG, `${JSON.stringify(catalog, null, 1)}\n`);
  const models = catalog.providers.reduce((n, provider) => n + provider.models.length, 0);
  process.stdout.write(`imported ${catalog.providers.length} providers and ${models} models as ${catalog.version} into ${BUNDLED_PRICE_CATALOG}\n`);
  return 0;
}

async function runMigrations(config: SpendlineConfig, log: Logger): Promise<number> {
  const clickhouse = await createClickHouse(config.clickhouse, log);
  try {
    const applied = await migrate(clickhouse, readMigrations(SQL_DIR), log);
    process.stdout.write(applied.length > 0 ? `applied migrations ${applied.join(', ')}\n` : 'schema is up to date\n');
    return 0;
  } finally {
    await clickhouse.close();
  }
}

async function runKafkaCommand(subcommand: string | undefined, config: SpendlineConfig, log: Logger): Promise<number> {
  const dataDir = join(config.dataDir, 'kafka');
  switch (subcommand) {
    case 'fetch':
      fetchBrokerJars({ pom: KAFKA_POM, libDir: KAFKA_LIB_DIR }, log);
      process.stdout.write(`Kafka broker jars are in ${KAFKA_LIB_DIR}\n`);
      return 0;
    case 'start': {
      const broker = await startLocalBroker({ pom: KAFKA_POM, libDir: KAFKA_LIB_DIR, dataDir, port: config.kafka.localPort, detached: true, javaHome: process.env['JAVA_HOME'] }, log);
      process.stdout.write(`local Kafka broker running at ${broker.brokers.join(',')} (pid ${broker.pid}); stop it with: npm run -s spendline -- kafka stop\n`);
      return 0;
    }
    case 'stop':
      process.stdout.write((await stopLocalBrokerIn(dataDir)) ? 'local Kafka broker stopped\n' : 'no local Kafka broker was running\n');
      return 0;
    case 'status': {
      const pid = localBrokerPid(dataDir);
      process.stdout.write(pid === null ? 'local Kafka broker is not running\n' : `local Kafka broker runs at 127.0.0.1:${config.kafka.localPort} (pid ${pid})\n`);
      return pid === null ? 1 : 0;
    }
    default:
      process.stderr.write(`spendline: kafka needs one of fetch, start, stop, status\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`spendline: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
