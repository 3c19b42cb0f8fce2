import type { ClauseData, ExtractorData, PathData, UsageKey } from './catalog/catalog-schema.ts';
import { compileClause } from './match-clause.ts';
import type { TokenUsage } from './cost-calculation.ts';
import type { CatalogProvider } from './price-catalog.ts';

/**
 * A provider's raw response (or its usage object) turned into token classes
 * by the catalog's extractors, with genai-prices' rules: the extractor is
 * chosen by exact api_flavor ("default" when none is given); values mapped to
 * the same class are summed (Anthropic's input + cache reads + cache writes
 * give input_tokens); a missing required value is an error, a missing
 * optional one is skipped; values must be non-negative whole numbers.
 */

export type Extraction =
  | { readonly ok: true; readonly usage: TokenUsage; readonly model: string | null }
  | { readonly ok: false; readonly reason: string };

export function extractUsage(provider: CatalogProvider, body: unknown, apiFlavor: string = 'default'): Extraction {
  if (provider.extractors.length === 0) return { ok: false, reason: `no usage extraction is defined for provider ${provider.id}` };
  const extractor = provider.extractors.find((candidate) => candidate.api_flavor === apiFlavor);
  if (!extractor) {
    return { ok: false, reason: `unknown api_flavor ${JSON.stringify(apiFlavor)} for provider ${provider.id}; allowed: ${provider.extractors.map((e) => e.api_flavor).join(', ')}` };
  }
  if (!isObject(body)) return { ok: false, reason: 'the body must be a JSON object (the provider response or its usage object)' };
  // Paths are named only in a reason: building them for every call would cost more than the extraction.
  const root = findRoot(body, extractor);
  if (root === undefined) return { ok: false, reason: `missing value at ${pathNames(extractor.root)}` };
  if (!isObject(root)) return { ok: false, reason: `expected ${pathNames(extractor.root)} to be an object` };

  const usage: Partial<Record<UsageKey, number>> = {};
  let found = 0;
  for (const mapping of extractor.mappings) {
    const lookup = resolve(root, mapping.path);
    if (!lookup.found) {
      if (mapping.required) return { ok: false, reason: `missing value at ${mappingPath(extractor.root, mapping.path)}` };
      continue;
    }
    const value = lookup.value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      if (mapping.required) return { ok: false, reason: `expected ${mappingPath(extractor.root, mapping.path)} to be a whole number, got ${JSON.stringify(value)}` };
      continue;
    }
    if (value < 0) return { ok: false, reason: `${mappingPath(extractor.root, mapping.path)} must not be negative, got ${value}` };
    usage[mapping.dest] = (usage[mapping.dest] ?? 0) + value;
    found += 1;
  }
  if (found === 0) return { ok: false, reason: `no usage information found at ${pathNames(extractor.root)}` };
  const model = resolve(body, extractor.model_path);
  return { ok: true, usage, model: model.found && typeof model.value === 'string' ? model.value : null };
}

/** Where a mapping reads, for a reason: the root's path and the mapping's. */
function mappingPath(root: PathData, path: PathData): string {
  return `${pathNames(root)}.${pathNames(path)}`;
}

type Resolved = { found: true; value: unknown } | { found: false };

function resolve(from: unknown, path: PathData): Resolved {
  let current = from;
  for (const step of typeof path === 'string' ? [path] : path) {
    if (typeof step === 'string') {
      if (!isObject(current) || !(step in current) || current[step] === null || current[step] === undefined) return { found: false };
      current = current[step];
    } else {
      if (!Array.isArray(current)) return { found: false };
      const matcher = compiledArrayMatch(step.match);
      current = current.find((item) => isObject(item) && typeof item[step.field] === 'string' && matcher(String(item[step.field]).toLowerCase()));
      if (current === undefined) return { found: false };
    }
  }
  return { found: true, value: current };
}

const arrayMatchers = new WeakMap<ClauseData, (text: string) => boolean>();
function compiledArrayMatch(clause: ClauseData): (text: string) => boolean {
  let matcher = arrayMatchers.get(clause);
  if (!matcher) {
    matcher = compileClause(clause);
    arrayMatchers.set(clause, matcher);
  }
  return matcher;
}

/**
 * The usage object: at the extractor's root in a whole response, or — when
 * the caller sent only the usage object — at the rest of that path within
 * the body, or the body itself.
 */
function findRoot(body: Record<string, unknown>, extractor: ExtractorData): unknown {
  const steps = typeof extractor.root === 'string' ? [extractor.root] : extractor.root;
  for (let skip = 0; skip < steps.length; skip += 1) {
    const lookup = resolve(body, steps.slice(skip));
    if (lookup.found) return lookup.value;
  }
  return extractor.mappings.some((mapping) => resolve(body, mapping.path).found) ? body : undefined;
}

function pathNames(path: PathData): string {
  return (typeof path === 'string' ? [path] : path).map((step) => (typeof step === 'string' ? step : `[${step.field}]`)).join('.');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
