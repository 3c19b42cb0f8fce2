import { Kafka, Partitioners, logLevel, type LogEntry, type Producer } from 'kafkajs';
import { childLogger, type Logger } from '../logger.ts';

export interface KafkaClientOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

/** A kafkajs client whose own logs go to `log` at the matching level. */
export function createKafka(options: KafkaClientOptions, log: Logger): Kafka {
  const kafkaLog = childLogger(log, { component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, ...fields } = entry;
      // Retries are bounded on purpose, and made safe by SerialProducer; the warning is expected.
      if (message.startsWith('Limiting retries for the idempotent producer')) kafkaLog.debug(fields, message);
      // A failed protocol response is retried by kafkajs; the caller hears of it only if retries run out.
      else if (level === logLevel.ERROR && message.startsWith('Response ')) kafkaLog.warn(fields, message);
      else if (level === logLevel.ERROR) kafkaLog.error(fields, message);
      else if (level === logLevel.WARN) kafkaLog.warn(fields, message);
      else kafkaLog.debug(fields, message);
    },
  });
}

/**
 * The producer every Spendline service uses: idempotent (a retried send is
 * written once per partition) with one request in flight to keep order.
 * Sends pass `acks: -1` so a write is acknowledged only once all in-sync
 * replicas have it. Retries are bounded (kafkajs would retry an idempotent
 * send forever) so a send fails while Kafka is down: callers answer 503 or
 * retry the whole batch themselves, and shutdown is never stuck behind a send.
 * Use it through SerialProducer, which replaces it after a failed send.
 */
export function createIdempotentProducer(kafka: Kafka, retries = 5): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
}
