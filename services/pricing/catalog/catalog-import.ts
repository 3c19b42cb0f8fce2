import { createHash } from 'node:crypto';
import { validate } from '@spendline/emitter/field-issues';
import { priceCatalogData, type PriceCatalogData } from './catalog-schema.ts';

/**
 * Turns genai-prices' data file (pydantic/genai-prices, MIT) into the
 * project's catalog. Every number is kept as the text the source wrote,
 * never through a binary float; descriptive fields (descriptions, URLs) are
 * dropped; the rest is validated. Re-run it when a newer file arrives:
 * `npm run -s spendline -- catalog import <file>`.
 */

const NUMBER_MARK = '\u0000n:';

export function importGenaiPrices(sourceText: string, importedAt: Date): PriceCatalogData {
  const source = JSON.parse(quoteNumbers(sourceText), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(NUMBER_MARK) ? new NumberText(value.slice(NUMBER_MARK.length)) : value,
  ) as unknown;
  if (!Array.isArray(source)) throw new Error('the genai-prices data file is a JSON array of providers');
  const sha256 = createHash('sha256').update(sourceText).digest('hex');
  const catalog = {
    format: 'spendline-price-catalog/1',
    version: `genai-prices-${sha256.slice(0, 12)}`,
    source: { name: 'genai-prices (pydantic/genai-prices)', license: 'MIT', sha256, imported_at: importedAt.toISOString() },
    providers: source.map((provider: Record<string, unknown>) => ({
      id: provider['id'],
      name: provider['name'],
      api_pattern: provider['api_pattern'],
      ...pick(provider, ['provider_match', 'model_match', 'fallback_model_providers', 'extractors']),
      models: (provider['models'] as Record<string, unknown>[]).map((model) => ({
        id: model['id'],
        ...pick(model, ['name']),
        match: model['match'],
        prices: model['prices'],
        ...pick(model, ['deprecated']),
      })),
    })),
  };
  const checked = validate(priceCatalogData, toPlain(catalog, 'decimal'));
  if (!checked.ok) {
    throw new Error(`the genai-prices data does not fit the catalog format:\n${checked.issues.slice(0, 20).map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
  }
  return checked.value;
}

/** A JSON number, kept as the exact text of its literal. */
class NumberText {
  constructor(readonly text: string) {}
}

/**
 * Wraps every number literal outside strings in a marked string, so
 * JSON.parse cannot turn 0.18000000000000002 into the nearest double.
 */
function quoteNumbers(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (inString) {
      out += char;
      if (char === '\\') out += text[++i] ?? '';
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') {
      inString = true;
      out += char;
      continue;
    }
    if (char === '-' || (char >= '0' && char <= '9')) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end]!)) end += 1;
      out += JSON.stringify(NUMBER_MARK + text.slice(i, end));
      i = end - 1;
      continue;
    }
    out += char;
  }
  return out;
}

/**
 * Back to plain JSON values: every number becomes its exact decimal text,
 * except tier starts (token counts), which stay numbers.
 */
function toPlain(value: unknown, mode: 'decimal' | 'number', key = ''): unknown {
  if (value instanceof NumberText) {
    if (mode === 'decimal' && key !== 'start') return normaliseDecimal(value.text);
    return Number(value.text);
  }
  if (Array.isArray(value)) return value.map((item) => toPlain(item, mode, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v, mode, k)]));
  }
  return value;
}

/** Plain positional decimal text for a JSON number literal ("1e-7" → "0.0000001", "8" → "8"). */
function normaliseDecimal(literal: string): string {
  const match = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) throw new Error(`not a number: ${literal}`);
  const [, sign = '', whole = '0', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const padded = point <= 0 ? '0'.repeat(1 - point) + digits : point > digits.length ? digits + '0'.repeat(point - digits.length) : digits;
  const at = Math.max(point, 1);
  const intPart = padded.slice(0, at).replace(/^0+(?=\d)/, '');
  const fracPart = padded.slice(at).replace(/0+$/, '');
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

function pick(object: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => object[key] !== undefined).map((key) => [key, object[key]]));
}
