import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import { SCHEMA_NAMES } from '../events/schema-names.ts';

/** Why a consumer gave up on a message. */
export type DeadLetterReasonCode =
  /** Not an Avro single-object message of a known schema. */
  | 'undecodable'
  /** Decoded, but breaks a rule of the usage event (named field and reason). */
  | 'invalid_event'
  /** Valid, but the attribution policy rejects it: a mandatory dimension is missing (named in the reason). */
  | 'attribution_rejected'
  /** ClickHouse refused the row itself (not a passing outage). */
  | 'unwritable';

/** Mirrors schemas/dead-letter-v1.avsc. */
export interface DeadLetter {
  readonly stage: 'enricher' | 'sink' | 'notifier';
  readonly reason_code: DeadLetterReasonCode;
  readonly reason: string;
  readonly source_topic: string;
  readonly source_partition: number;
  readonly source_offset: number;
  readonly source_timestamp: number;
  readonly key: Buffer | null;
  readonly payload: Buffer;
  readonly failed_at: number;
}

export interface SourceMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export function deadLetterFor(
  stage: DeadLetter['stage'],
  source: SourceMessage,
  reasonCode: DeadLetterReasonCode,
  reason: string,
  now: number,
): DeadLetter {
  return {
    stage,
    reason_code: reasonCode,
    reason,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: Number(source.offset),
    source_timestamp: Number(source.timestamp),
    key: source.key,
    payload: source.value ?? Buffer.alloc(0),
    failed_at: now,
  };
}

/** The DLQ message: the Avro record, keyed like the original, with the reason also in headers for quick inspection. */
export function deadLetterMessage(registry: AvroSchemaRegistry, letter: DeadLetter) {
  return {
    key: letter.key,
    value: registry.encode(SCHEMA_NAMES.deadLetter, letter),
    headers: {
      'spendline-stage': letter.stage,
      'spendline-reason-code': letter.reason_code,
      'spendline-reason': letter.reason.slice(0, 1000),
      'spendline-source': `${letter.source_topic}/${letter.source_partition}/${letter.source_offset}`,
    },
  };
}
