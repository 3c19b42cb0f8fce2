/** Producing to Kafka safely: the client factory and SerialProducer that Spendline's services and the emitter share. */
export { createIdempotentProducer, createKafka, type KafkaClientOptions } from './kafka-client.ts';
export { SerialProducer, chunk, type TopicMessages } from './serial-producer.ts';
