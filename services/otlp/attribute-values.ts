import type { AnyValue, Attributes } from './otlp-model.ts';

/**
 * Reading typed values out of span and resource attributes: text for names
 * and dimensions, exact whole numbers for token counts. Pure.
 */

/** A scalar attribute as text (what a dimension or tag holds); arrays, maps, bytes and empty values have none. */
export function attributeText(value: AnyValue | undefined): string | null {
  if (value === undefined) return null;
  switch (value.kind) {
    case 'string':
      return value.value;
    case 'int':
      return value.value.toString();
    case 'bool':
      return String(value.value);
    case 'double':
      return Number.isFinite(value.value) ? String(value.value) : null;
    default:
      return null;
  }
}

/** The first of `keys` present with a non-blank text value, and which key it was. */
export function firstText(attributes: Attributes, keys: readonly string[]): { readonly key: string; readonly text: string } | null {
  for (const key of keys) {
    const text = attributeText(attributes.get(key));
    if (text !== null && text.trim() !== '') return { key, text };
  }
  return null;
}

export type TokenCount = { readonly ok: true; readonly count: number } | { readonly ok: false; readonly message: string };

/**
 * A token count, exactly: an int64 value, a double holding a whole number, or
 * a string of digits; never rounded. Negative, fractional or non-numeric
 * values, and counts past 2^53 − 1 (no call has that many), are refused.
 */
export function tokenCount(value: AnyValue): TokenCount {
  let count: bigint;
  if (value.kind === 'int') count = value.value;
  else if (value.kind === 'double') {
    if (!Number.isInteger(value.value)) return { ok: false, message: `must be a whole number of tokens, got ${value.value}` };
    count = BigInt(value.value);
  } else if (value.kind === 'string' && /^\s*-?[0-9]+\s*$/.test(value.value)) count = BigInt(value.value.trim());
  else return { ok: false, message: `must be an integer token count, got ${describe(value)}` };
  if (count < 0n) return { ok: false, message: `must not be negative, got ${count}` };
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, message: `must be at most ${Number.MAX_SAFE_INTEGER}, got ${count}` };
  return { ok: true, count: Number(count) };
}

function describe(value: AnyValue): string {
  switch (value.kind) {
    case 'string':
      return `the string ${JSON.stringify(value.value.length > 40 ? `${value.value.slice(0, 40)}…` : value.value)}`;
    case 'bool':
      return `the boolean ${value.value}`;
    case 'array':
      return 'an array';
    case 'kvlist':
      return 'a map';
    case 'bytes':
      return 'bytes';
    case 'empty':
      return 'an empty value';
    default:
      return String(value.value);
  }
}

/** Whether the span says anything in the GenAI semantic conventions' namespace. */
export function hasGenAiAttributes(attributes: Attributes): boolean {
  for (const key of attributes.keys()) if (key.startsWith('gen_ai.')) return true;
  return false;
}
