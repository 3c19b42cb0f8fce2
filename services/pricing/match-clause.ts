import type { ClauseData } from './catalog/catalog-schema.ts';

/**
 * genai-prices' match clauses, compiled to predicates over a lower-cased
 * name. Literal clauses compare case-insensitively (as genai-prices' Python
 * package does; its data has mixed-case ids that only match that way);
 * regexes run as written, unanchored.
 */
export type Matcher = (lowerText: string) => boolean;

export function compileClause(clause: ClauseData): Matcher {
  if ('equals' in clause) {
    const value = clause.equals.toLowerCase();
    return (text) => text === value;
  }
  if ('starts_with' in clause) {
    const value = clause.starts_with.toLowerCase();
    return (text) => text.startsWith(value);
  }
  if ('ends_with' in clause) {
    const value = clause.ends_with.toLowerCase();
    return (text) => text.endsWith(value);
  }
  if ('contains' in clause) {
    const value = clause.contains.toLowerCase();
    return (text) => text.includes(value);
  }
  if ('regex' in clause) {
    const pattern = new RegExp(clause.regex);
    return (text) => pattern.test(text);
  }
  if ('or' in clause) {
    const any = clause.or.map(compileClause);
    return (text) => any.some((matcher) => matcher(text));
  }
  const all = clause.and.map(compileClause);
  return (text) => all.every((matcher) => matcher(text));
}
