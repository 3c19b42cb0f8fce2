import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { parsingCanonicalForm } from './canonical-form.ts';
import { DecimalLogicalType } from './decimal-logical-type.ts';
import { rabinFingerprint } from './rabin-fingerprint.ts';
import { frameSingleObject, unframeSingleObject } from './single-object.ts';

/**
 * The schemas Spendline knows, keyed by CRC-64-AVRO fingerprint so a consumer
 * finds any message's writer schema, and by full name so it reads every known
 * writer version into the current (reader) version.
 *
 * Layout on disk, per schema directory: `*.avsc` are the current versions
 * (readers and writers); `history/*.avsc` are earlier revisions kept only so
 * old messages stay readable. A history file must be self-contained.
 */

export interface KnownSchema {
  readonly name: string;
  readonly fingerprint: bigint;
  readonly canonicalForm: string;
  readonly type: avro.Type;
}

export type DecodeResult<T> =
  | { ok: true; value: T; writer: KnownSchema }
  | { ok: false; reason: string };

const LOGICAL_TYPES = { decimal: DecimalLogicalType };

export class AvroSchemaRegistry {
  readonly #byFingerprint = new Map<bigint, KnownSchema>();
  readonly #current = new Map<string, KnownSchema>();
  readonly #resolvers = new Map<bigint, avro.Resolver>();

  /** Builds a registry from current schemas (which may reference each other by name) and history revisions. */
  constructor(current: readonly unknown[], history: readonly unknown[] = []) {
    for (const type of parseTogether(current)) {
      const known = describe(type);
      this.#current.set(known.name, known);
      this.#byFingerprint.set(known.fingerprint, known);
    }
    for (const schema of history) {
      const known = describe(avro.Type.forSchema(schema as avro.Schema, { logicalTypes: LOGICAL_TYPES }));
      if (!this.#byFingerprint.has(known.fingerprint)) this.#byFingerprint.set(known.fingerprint, known);
    }
  }

  /**
   * Loads `<dir>/*.avsc` as current schemas and `<dir>/history/*.avsc` as
   * earlier revisions, for every directory; current schemas of one directory
   * may refer to types another defines.
   */
  static fromDirectories(dirs: readonly string[]): AvroSchemaRegistry {
    const current = dirs.flatMap((dir) => readSchemas(dir));
    const history = dirs.flatMap((dir) => {
      const historyDir = join(dir, 'history');
      return existsSync(historyDir) ? readSchemas(historyDir) : [];
    });
    return new AvroSchemaRegistry(current, history);
  }

  /** The current version of a named schema; throws for names the project does not define. */
  current(name: string): KnownSchema {
    const known = this.#current.get(name);
    if (!known) throw new Error(`no current Avro schema named ${name}`);
    return known;
  }

  byFingerprint(fingerprint: bigint): KnownSchema | undefined {
    return this.#byFingerprint.get(fingerprint);
  }

  get knownSchemas(): readonly KnownSchema[] {
    return [...this.#byFingerprint.values()];
  }

  /** Single-object encoding of `value` with the current version of `name`. Throws if `value` does not fit the schema. */
  encode(name: string, value: unknown): Buffer {
    const known = this.current(name);
    return frameSingleObject(known.fingerprint, known.type.toBuffer(value));
  }

  /**
   * Decodes a single-object message whose writer may be any known version of
   * `name`, into the current version. Failures are values: they carry the
   * reason a dead-letter record needs.
   */
  decode<T>(name: string, message: Buffer): DecodeResult<T> {
    const reader = this.current(name);
    const framed = unframeSingleObject(message);
    if (!framed.ok) return framed;
    const writer = this.#byFingerprint.get(framed.fingerprint);
    if (!writer) {
      return { ok: false, reason: `unknown writer schema fingerprint ${framed.fingerprint.toString(16).padStart(16, '0')}` };
    }
    if (writer.name !== reader.name && !reader.type.aliases?.includes(writer.name)) {
      return { ok: false, reason: `message was written as ${writer.name}, expected ${name}` };
    }
    try {
      const value = writer === reader
        ? reader.type.fromBuffer(framed.body)
        : reader.type.fromBuffer(framed.body, this.#resolver(reader, writer));
      return { ok: true, value: value as T, writer };
    } catch (err) {
      return { ok: false, reason: `Avro body does not decode with ${writer.name} ${writer.fingerprint.toString(16)}: ${(err as Error).message}` };
    }
  }

  #resolver(reader: KnownSchema, writer: KnownSchema): avro.Resolver {
    let resolver = this.#resolvers.get(writer.fingerprint);
    if (!resolver) {
      resolver = reader.type.createResolver(writer.type);
      this.#resolvers.set(writer.fingerprint, resolver);
    }
    return resolver;
  }
}

function describe(type: avro.Type): KnownSchema {
  const canonicalForm = parsingCanonicalForm(type.schema());
  return {
    name: type.name ?? canonicalForm,
    fingerprint: rabinFingerprint(Buffer.from(canonicalForm, 'utf8')),
    canonicalForm,
    type,
  };
}

function readSchemas(dir: string): unknown[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.avsc'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(dir, file), 'utf8');
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new Error(`schemas: ${join(dir, file)} is not valid JSON: ${(err as Error).message}`);
      }
    });
}

/**
 * Parses current schemas into one avsc name registry, so a schema may refer to
 * a type another file defines. Files are retried until every reference
 * resolves; each attempt works on a copy so a failed parse leaves no half-defined names.
 */
function parseTogether(schemas: readonly unknown[]): avro.Type[] {
  const shared: Record<string, avro.Type> = {};
  const types: avro.Type[] = [];
  let pending = [...schemas];
  while (pending.length > 0) {
    const unresolved: { schema: unknown; error: Error }[] = [];
    for (const schema of pending) {
      const attempt = { ...shared };
      try {
        types.push(avro.Type.forSchema(schema as avro.Schema, { logicalTypes: LOGICAL_TYPES, registry: attempt }));
        Object.assign(shared, attempt);
      } catch (err) {
        if (!/undefined type name/.test((err as Error).message)) throw err;
        unresolved.push({ schema, error: err as Error });
      }
    }
    if (unresolved.length === pending.length) throw unresolved[0]!.error;
    pending = unresolved.map((entry) => entry.schema);
  }
  return types;
}
