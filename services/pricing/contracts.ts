import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { exact, type ExactDecimal } from '../money/exact-decimal.ts';
import { priceSet } from './catalog/catalog-schema.ts';
import { compilePriceSet, type CompiledPriceSet } from './model-prices.ts';

/**
 * Negotiated prices, as code: a JSON file of contracts, each effective over a
 * date range and matching calls by provider, model, team or environment.
 * A contract either discounts the list price by a percentage
 * (committed-use discounts) or replaces it with its own per-token prices
 * (negotiated rates, self-hosted models). The first contract in the file that
 * matches a call and is in force when the call happened applies; list cost is
 * kept beside the effective cost either way.
 */

const dateOrTime = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).transform((text) => Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text));
const namePattern = z.string().min(1).describe('exact name, or a prefix ending in *');
const decimalText = z.string().regex(/^\d+(?:\.\d+)?$/, 'must be a decimal string such as "12.5"');

const contractSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_", ":" or "-"'),
    description: z.string().optional(),
    /** Inclusive start (a date means its 00:00 UTC). */
    effective_from: dateOrTime,
    /** Exclusive end; open-ended when absent. */
    effective_to: dateOrTime.optional(),
    match: z
      .strictObject({ provider: namePattern.optional(), model: namePattern.optional(), team: namePattern.optional(), environment: namePattern.optional() })
      .refine((m) => Object.keys(m).length > 0, 'must name at least one of provider, model, team, environment'),
    discount_percent: decimalText.refine((text) => Number(text) <= 100, 'must be at most 100').optional(),
    prices: priceSet.optional(),
  })
  .refine((c) => (c.discount_percent === undefined) !== (c.prices === undefined), { message: 'must set exactly one of discount_percent and prices' })
  .refine((c) => c.effective_to === undefined || c.effective_to > c.effective_from, { path: ['effective_to'], message: 'must be after effective_from' });

export const contractsFile = z.strictObject({ contracts: z.array(contractSchema) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.contracts.forEach((contract, index) => {
    if (seen.has(contract.id)) ctx.addIssue({ code: 'custom', path: ['contracts', index, 'id'], message: `repeats contract id ${contract.id}` });
    seen.add(contract.id);
  });
});

export interface ContractCall {
  readonly provider: string;
  readonly model: string;
  readonly team: string | null;
  readonly environment: string | null;
  readonly at: number;
}

export type ContractTerms =
  | { readonly kind: 'discount'; readonly id: string; readonly keepFraction: ExactDecimal }
  | { readonly kind: 'prices'; readonly id: string; readonly prices: CompiledPriceSet };

interface CompiledContract {
  readonly terms: ContractTerms;
  applies(call: ContractCall): boolean;
  /** Whether the contract is about this call at all, whenever it is in force. */
  concerns(call: ContractCall): boolean;
}

export class Contracts {
  static readonly none = new Contracts([]);
  readonly #contracts: readonly CompiledContract[];
  /** Identifies this set of contracts in price versions (changes when the file changes). */
  readonly version: string;

  private constructor(contracts: readonly CompiledContract[], version = 'none') {
    this.#contracts = contracts;
    this.version = version;
  }

  static fromJson(value: unknown, version: string): Contracts {
    const checked = validate(contractsFile, value);
    if (!checked.ok) throw new Error(`invalid contracts: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    return new Contracts(
      checked.value.contracts.map((contract) => {
        const terms: ContractTerms =
          contract.discount_percent !== undefined
            ? { kind: 'discount', id: contract.id, keepFraction: exact(keepFraction(contract.discount_percent)) }
            : { kind: 'prices', id: contract.id, prices: compilePriceSet(contract.prices!) };
        const matchers = Object.entries(contract.match).map(([field, pattern]) => ({ field: field as keyof ContractCall, test: namePredicate(pattern!) }));
        const concerns = (call: ContractCall) => matchers.every(({ field, test }) => test(String(call[field] ?? '')));
        return {
          terms,
          concerns,
          applies: (call: ContractCall) =>
            call.at >= contract.effective_from && (contract.effective_to === undefined || call.at < contract.effective_to) && concerns(call),
        };
      }),
      version,
    );
  }

  static fromFile(path: string): Contracts {
    const text = readFileSync(path, 'utf8');
    return Contracts.fromJson(JSON.parse(text), `contracts-${hash(text)}`);
  }

  /** The contract in force for a call, if any. */
  termsFor(call: ContractCall): ContractTerms | null {
    return this.#contracts.find((contract) => contract.applies(call))?.terms ?? null;
  }

  /** Whether some contract with its own prices covers this call at another time (so "no price in force", not "unknown model"). */
  pricesAtOtherTimes(call: ContractCall): boolean {
    return this.#contracts.some((contract) => contract.terms.kind === 'prices' && contract.concerns(call));
  }
}

/** "15" (percent off) → "0.85" (the fraction of the list price that is paid), exactly. */
function keepFraction(discountPercent: string): string {
  const discount = exact(discountPercent);
  const hundredths = 100n * 10n ** BigInt(discount.scale) - discount.units;
  const scale = discount.scale + 2;
  const digits = hundredths.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}

function namePredicate(pattern: string): (value: string) => boolean {
  const lower = pattern.toLowerCase();
  if (lower.endsWith('*')) {
    const prefix = lower.slice(0, -1);
    return (value) => value.toLowerCase().startsWith(prefix);
  }
  return (value) => value.toLowerCase() === lower;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
