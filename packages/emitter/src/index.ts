/**
 * @spendline/emitter — send Spendline usage events from a TypeScript or
 * JavaScript gateway: one event per model call, built and checked with
 * Spendline's own rules (buildUsageEvent), Avro-encoded with its UsageEvent
 * schema and produced to Kafka's usage.raw.v1 by a UsageEmitter that never
 * makes the caller wait, and never drops what it accepted (bounded memory
 * buffer, spill file, replay, flush on close).
 *
 * Subpaths hold the building blocks Spendline's own services share with it:
 * `/usage-event` (the event contract, JSON form included), `/avro`, `/kafka`,
 * `/field-issues`, `/decimal`, `/retry`.
 */
export { buildUsageEvent, type BuildResult, type UsageEventInput } from './build-usage-event.ts';
export { checkUsageEvent, encodeUsageEvent, type EncodedEvent, type EncodeOptions, type EncodeResult } from './encode-usage-event.ts';
export type { EmitResult, EmitterCounts, FlushResult, RefusalReason } from './emitter/emit-result.ts';
export { EMITTER_DEFAULTS, type EmitterTunables, type KafkaConnection, type UsageEmitterHooks, type UsageEmitterOptions } from './emitter/emitter-options.ts';
export { SPILL_FILE_NAME } from './emitter/spill-file.ts';
export { UsageEmitter } from './emitter/usage-emitter.ts';
export type { FieldIssue } from './field-issues.ts';
export { checkUsageEventRecord } from './usage-event-record-check.ts';
export { silentLogger, stderrLogger, type Logger } from './logger.ts';
export { USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from './avro/usage-event-schema.ts';
export {
  ATTRIBUTION_FIELDS,
  CALL_STATUSES,
  EVENT_LIMITS,
  OPERATIONS,
  TOKEN_FIELDS,
  spanEventId,
  usageEventRecord,
  usageEventWithDefaults,
  withCallIdentity,
  type AttributionField,
  type UsageEventRecord,
} from './usage-event.ts';
