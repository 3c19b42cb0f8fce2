/** Avro as Spendline writes it: single-object encoding, CRC-64-AVRO fingerprints, exact decimals, and a registry of schema versions. */
export { parsingCanonicalForm } from './canonical-form.ts';
export { DecimalLogicalType, fromTwosComplement, toTwosComplement } from './decimal-logical-type.ts';
export { fingerprintBytes, rabinFingerprint, toSignedLong } from './rabin-fingerprint.ts';
export { AvroSchemaRegistry, type DecodeResult, type KnownSchema } from './schema-registry.ts';
export { SINGLE_OBJECT_HEADER_LENGTH, SINGLE_OBJECT_MARKER, frameSingleObject, unframeSingleObject, type UnframedMessage } from './single-object.ts';
export { USAGE_EVENT_SCHEMA_DIR, USAGE_EVENT_SCHEMA_NAME, usageEventRegistry } from './usage-event-schema.ts';
