/**
 * Avro "Parsing Canonical Form" (specification, "Transforming into Parsing
 * Canonical Form"): the schema reduced to what matters for reading data, so two
 * schemas that read bytes identically print identically and fingerprint alike.
 *
 * Rules applied: PRIMITIVES (collapse {"type":"int"}), FULLNAMES (resolve every
 * name against its namespace), STRIP (keep type, name, fields, symbols, items,
 * values, size), ORDER (that key order), STRINGS and INTEGERS (JSON.stringify
 * prints both canonically), WHITESPACE (none).
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const NAMED = new Set(['record', 'error', 'enum', 'fixed']);

/** Parsing Canonical Form of a schema given as parsed JSON. */
export function parsingCanonicalForm(schema: unknown): string {
  return render(schema as Json, '', new Set());
}

function fullName(name: string, namespace: string): string {
  if (name.includes('.') || namespace === '') return name;
  return `${namespace}.${name}`;
}

function namespaceOf(fullname: string): string {
  const dot = fullname.lastIndexOf('.');
  return dot === -1 ? '' : fullname.slice(0, dot);
}

function render(schema: Json, namespace: string, defined: Set<string>): string {
  if (typeof schema === 'string') {
    return JSON.stringify(PRIMITIVES.has(schema) ? schema : fullName(schema, namespace));
  }
  if (Array.isArray(schema)) {
    return `[${schema.map((branch) => render(branch, namespace, defined)).join(',')}]`;
  }
  if (schema === null || typeof schema !== 'object') {
    throw new TypeError(`not an Avro schema: ${JSON.stringify(schema)}`);
  }
  const type = schema['type'];
  if (typeof type !== 'string') {
    // {"type": {...}} or {"type": [...]}: the wrapper adds nothing for parsing.
    return render(type ?? null, namespace, defined);
  }
  if (PRIMITIVES.has(type)) return JSON.stringify(type);
  if (type === 'array') return `{"type":"array","items":${render(schema['items'] ?? null, namespace, defined)}}`;
  if (type === 'map') return `{"type":"map","values":${render(schema['values'] ?? null, namespace, defined)}}`;
  if (!NAMED.has(type)) return render(type, namespace, defined);

  const ownNamespace = typeof schema['namespace'] === 'string' ? schema['namespace'] : namespace;
  const name = fullName(String(schema['name']), ownNamespace);
  if (defined.has(name)) return JSON.stringify(name);
  defined.add(name);

  const head = `{"name":${JSON.stringify(name)},"type":${JSON.stringify(type)}`;
  if (type === 'enum') return `${head},"symbols":${JSON.stringify(schema['symbols'])}}`;
  if (type === 'fixed') return `${head},"size":${JSON.stringify(schema['size'])}}`;

  const fieldNamespace = namespaceOf(name);
  const fields = (schema['fields'] as Json[]).map((field) => {
    const f = field as { [key: string]: Json };
    return `{"name":${JSON.stringify(f['name'])},"type":${render(f['type'] ?? null, fieldNamespace, defined)}}`;
  });
  return `${head},"fields":[${fields.join(',')}]}`;
}
