/**
 * @spendline/emitter: what a TypeScript/JavaScript gateway needs to send
 * Spendline usage events.
 */
export * from './usage-event.ts';
export type { FieldIssue } from './field-issues.ts';
export { USAGE_EVENT_SCHEMA_NAME } from './avro/usage-event-schema.ts';
