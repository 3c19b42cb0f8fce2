import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { FileBacked } from '../config/file-backed.ts';
import type { Logger } from '../logging/logger.ts';
import { parseDecimal } from '../money/decimal.ts';

/**
 * Shared-cost allocation, as code: which costs are shared and how they are
 * spread over the owners of a chargeback. A JSON file (SPENDLINE_ALLOCATION_FILE),
 * validated with every problem reported, reloaded when it changes. Pools are
 * taken in file order; each takes its cost out of the direct costs (or adds a
 * fixed fee) and spreads it over the owners that keep direct cost.
 */

const id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"');
const amount = z.string().superRefine((text, ctx) => {
  const parsed = parseDecimal(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.reason });
  else if (parsed.units < 0n) ctx.addIssue({ code: 'custom', message: 'must not be negative' });
});
const percent = z.string().regex(/^\d{1,3}(?:\.\d{1,6})?$/, 'must be a percentage such as "12.5"');

export const CHARGEBACK_DIMENSIONS = { team: 'team', cost_center: 'cost_center', tenant: 'tenant_id', feature: 'feature' } as const;
export type ChargebackDimension = keyof typeof CHARGEBACK_DIMENSIONS;
const dimension = z.enum(Object.keys(CHARGEBACK_DIMENSIONS) as [ChargebackDimension, ...ChargebackDimension[]]);

const source = z.union(
  [
    /** The spend no owner was attributed. */
    z.strictObject({ unattributed: z.literal(true) }),
    /** The direct spend of these owners (a platform team, a shared service). */
    z.strictObject({ owners: z.array(z.string().min(1)).min(1) }),
    /** A fee billed outside usage, per calendar month (a committed-use contract, a support plan), in USD. */
    z.strictObject({ fixed_monthly: amount }),
  ],
  { message: 'must be {"unattributed": true}, {"owners": [...]} or {"fixed_monthly": "amount"}' },
);

const spread = z.union(
  [
    /** In proportion to each owner's direct cost. */
    z.strictObject({ method: z.literal('proportional') }),
    /** The same amount to every owner with direct cost. */
    z.strictObject({ method: z.literal('even') }),
    /** Fixed percentages per owner, summing to 100. */
    z.strictObject({ method: z.literal('fixed'), percentages: z.record(z.string().min(1), percent) }).superRefine((value, ctx) => {
      const total = Object.values(value.percentages).reduce((sum, text) => {
        const parsed = parseDecimal(text);
        return sum + (parsed.ok ? parsed.units : 0n);
      }, 0n);
      if (total !== 100n * 10n ** 12n) ctx.addIssue({ code: 'custom', path: ['percentages'], message: 'must sum to exactly 100' });
    }),
  ],
  { message: 'must be {"method": "proportional"}, {"method": "even"} or {"method": "fixed", "percentages": {...}}' },
);

const poolSchema = z.strictObject({
  id,
  description: z.string().max(500).optional(),
  /** The chargeback dimension the pool applies to (owners and percentages name values of it). */
  by: dimension.default('team'),
  source,
  spread,
});

export const allocationFile = z
  .strictObject({ version: z.string().regex(/^[A-Za-z0-9._:+-]{1,64}$/).optional(), pools: z.array(poolSchema).max(100) })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.pools.forEach((pool, index) => {
      if (seen.has(pool.id)) ctx.addIssue({ code: 'custom', path: ['pools', index, 'id'], message: `repeats id ${pool.id}` });
      seen.add(pool.id);
    });
  });

export type AllocationPool = z.output<typeof poolSchema>;

export interface AllocationRules {
  readonly version: string;
  readonly pools: readonly AllocationPool[];
}

/** No file: nothing is shared; unattributed spend is shown as its own line. */
export const NO_ALLOCATION: AllocationRules = { version: 'none', pools: [] };

export function parseAllocationRules(text: string): AllocationRules {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`allocation file is not JSON: ${(err as Error).message}`);
  }
  const checked = validate(allocationFile, parsed);
  if (!checked.ok) throw new Error(`invalid allocation file: ${checked.issues.map((issue) => `${issue.path || 'file'}: ${issue.message}`).join('; ')}`);
  return { version: checked.value.version ?? `allocation-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`, pools: checked.value.pools };
}

/** The allocation rules in force, reloaded when the file changes (the last good version stays on a bad edit). */
export class AllocationSource extends FileBacked<AllocationRules> {
  constructor(file: string | null, log: Logger, checkEveryMs = 5_000) {
    super({
      files: [file],
      load: () => (file ? parseAllocationRules(readFileSync(file, 'utf8')) : NO_ALLOCATION),
      describe: (rules) => ({ allocation: rules.version, file }),
      log: log.child({ component: 'allocation' }),
      checkEveryMs,
    });
  }
}
