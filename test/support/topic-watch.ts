import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { createKafka } from '@spendline/emitter/kafka';
import type { Logger } from '../../services/logging/logger.ts';
import { eventually } from './test-config.ts';

/**
 * Reads a topic from its start with a throwaway consumer group, decoding each
 * message with the registry, until `find` picks one (or the wait times out).
 */
export async function findOnTopic<T>(
  options: { brokers: readonly string[]; topic: string; registry: AvroSchemaRegistry; schema: string; log: Logger },
  find: (value: T) => boolean,
  what: string,
): Promise<T> {
  const consumer = createKafka({ brokers: options.brokers, clientId: 'test-topic-watch' }, options.log).consumer({ groupId: `watch-${Math.random().toString(36).slice(2)}` });
  const seen: T[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = message.value ? options.registry.decode<T>(options.schema, message.value) : null;
      if (decoded?.ok) seen.push(decoded.value);
    },
  });
  try {
    return await eventually(async () => seen.find(find), { what });
  } finally {
    await consumer.disconnect();
  }
}
