import type { z } from 'zod';

/** One validation problem, named by the path of the field at fault. */
export interface FieldIssue {
  /** Dotted path of the field ("tags.env", "events[3].input_tokens"); empty for the value as a whole. */
  readonly path: string;
  readonly message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => {
    if (typeof key === 'number') return `${text}[${key}]`;
    return text === '' ? String(key) : `${text}.${String(key)}`;
  }, '');
}

/** Flattens a zod error into field issues, keeping every problem rather than the first. */
export function fieldIssues(error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    // A record key that failed its own schema: zod wraps the schema's messages in a generic
    // "Invalid key in record"; report each of them, at the key.
    if (issue.code === 'invalid_key' && issue.issues.length > 0) return issue.issues.map((inner) => ({ path, message: describeIssue(inner) }));
    return [{ path, message: describeIssue(issue) }];
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  return issue.message;
}

/**
 * Spendline's wording for zod's generic type errors: "is required" for a
 * missing value, "must be a number, got string" otherwise. Schema-specific
 * messages still win over this map.
 */
export const errorMessages: z.core.$ZodErrorMap = (issue) => {
  if (issue.code !== 'invalid_type') return undefined;
  if (issue.input === undefined) return 'is required';
  const got = issue.input === null ? 'null' : Array.isArray(issue.input) ? 'array' : typeof issue.input;
  return `must be ${article(issue.expected)}, got ${got}`;
};

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

/** Parses with Spendline's messages and returns every issue, never throwing. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, prefix: readonly PropertyKey[] = []): Validated<z.output<S>> {
  const result = schema.safeParse(input, { error: errorMessages });
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: fieldIssues(result.error, prefix) };
}
