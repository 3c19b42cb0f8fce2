import { fileURLToPath } from 'node:url';
import { AvroSchemaRegistry } from './schema-registry.ts';

/** Full Avro name of the usage event record, as its messages carry it. */
export const USAGE_EVENT_SCHEMA_NAME = 'dev.spendline.usage.UsageEvent';

/**
 * The directory holding the usage event's Avro schema: `usage-event-v1.avsc`
 * (the current version, which the emitter writes with) and `history/` (earlier
 * revisions, for readers). This package owns it; Spendline's schema registry
 * reads it together with the project's other schemas.
 */
export const USAGE_EVENT_SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

let registry: AvroSchemaRegistry | null = null;

/** A registry of the usage event's schema versions alone (loaded once), to encode and decode usage events. */
export function usageEventRegistry(): AvroSchemaRegistry {
  registry ??= AvroSchemaRegistry.fromDirectories([USAGE_EVENT_SCHEMA_DIR]);
  return registry;
}
