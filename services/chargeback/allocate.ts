import { decimalUnits } from '../money/decimal.ts';
import type { AllocationPool } from './allocation-rules.ts';

/**
 * Chargeback arithmetic, exact: amounts are integer units of 10^-12 USD
 * (Decimal(38, 12)), and every pool is split with the largest-remainder
 * method, so the parts add up to the pool to the last unit — no cent is lost
 * or made up, whatever the proportions.
 */

/** '' is the owner of unattributed spend. */
export const UNATTRIBUTED = '';

export interface AllocationLine {
  readonly owner: string;
  readonly amount: bigint;
  /** The weight the owner's part was computed from: its direct cost, 1 (even) or its percentage. */
  readonly weight: bigint;
}

export interface AllocatedPool {
  readonly pool: AllocationPool;
  readonly amount: bigint;
  /** Owners whose direct cost the pool took over (unattributed spend, a platform team). */
  readonly takenFrom: readonly string[];
  readonly lines: readonly AllocationLine[];
  /** The pool's cost no owner could take (nobody had direct cost to spread over): shown, never dropped. */
  readonly unallocated: bigint;
}

export interface OwnerCharge {
  readonly owner: string;
  /** Direct cost: what the owner's own calls cost. */
  readonly direct: bigint;
  /** Direct cost moved into a shared pool (the owner is itself a shared cost). */
  readonly pooled: bigint;
  readonly allocated: bigint;
  /** direct − pooled + allocated. */
  readonly total: bigint;
}

export interface Chargeback {
  readonly owners: readonly OwnerCharge[];
  readonly pools: readonly AllocatedPool[];
  /** All spend plus fixed fees: the sum of every owner's total and every pool's unallocated rest. */
  readonly grandTotal: bigint;
}

export function allocate(direct: ReadonlyMap<string, bigint>, pools: readonly AllocationPool[]): Chargeback {
  const kept = new Map(direct);
  const pooled = new Map<string, bigint>();
  const allocated = new Map<string, bigint>();
  const results: AllocatedPool[] = [];
  let fixedFees = 0n;

  for (const pool of pools) {
    const takenFrom: string[] = [];
    let amount = 0n;
    const take = (owner: string) => {
      const cost = kept.get(owner);
      if (cost === undefined) return;
      amount += cost;
      pooled.set(owner, (pooled.get(owner) ?? 0n) + cost);
      kept.delete(owner);
      takenFrom.push(owner);
    };
    if ('unattributed' in pool.source) take(UNATTRIBUTED);
    else if ('owners' in pool.source) pool.source.owners.forEach(take);
    else {
      amount = decimalUnits(pool.source.fixed_monthly);
      fixedFees += amount;
    }

    const weights: [string, bigint][] =
      pool.spread.method === 'fixed'
        ? Object.entries(pool.spread.percentages).map(([owner, text]) => [owner, decimalUnits(text)])
        : [...kept.entries()].filter(([owner, cost]) => owner !== UNATTRIBUTED && cost > 0n).map(([owner, cost]) => [owner, pool.spread.method === 'even' ? 1n : cost]);
    const lines = largestRemainder(amount, weights);
    for (const line of lines) allocated.set(line.owner, (allocated.get(line.owner) ?? 0n) + line.amount);
    results.push({ pool, amount, takenFrom, lines, unallocated: amount - lines.reduce((sum, line) => sum + line.amount, 0n) });
  }

  const owners = [...new Set([...direct.keys(), ...allocated.keys()])].map((owner): OwnerCharge => {
    const ownDirect = direct.get(owner) ?? 0n;
    const ownPooled = pooled.get(owner) ?? 0n;
    const ownAllocated = allocated.get(owner) ?? 0n;
    return { owner, direct: ownDirect, pooled: ownPooled, allocated: ownAllocated, total: ownDirect - ownPooled + ownAllocated };
  });
  owners.sort((a, b) => (a.total === b.total ? a.owner.localeCompare(b.owner) : a.total > b.total ? -1 : 1));
  const grandTotal = [...direct.values()].reduce((sum, cost) => sum + cost, 0n) + fixedFees;
  return { owners, pools: results, grandTotal };
}

/**
 * Splits `amount` in proportion to the weights: each part is the floor of its
 * exact share, and the units left over go one each to the largest fractional
 * remainders (ties to the owner first in name order). Empty when no weight is positive.
 */
export function largestRemainder(amount: bigint, weights: readonly (readonly [string, bigint])[]): AllocationLine[] {
  const positive = weights.filter(([, weight]) => weight > 0n);
  const total = positive.reduce((sum, [, weight]) => sum + weight, 0n);
  if (total === 0n || amount === 0n) return [];
  const parts = positive.map(([owner, weight]) => ({ owner, weight, amount: (amount * weight) / total, remainder: (amount * weight) % total }));
  let left = amount - parts.reduce((sum, part) => sum + part.amount, 0n);
  const byRemainder = [...parts].sort((a, b) => (a.remainder === b.remainder ? a.owner.localeCompare(b.owner) : a.remainder > b.remainder ? -1 : 1));
  for (const part of byRemainder) {
    if (left === 0n) break;
    part.amount += 1n;
    left -= 1n;
  }
  return parts.map(({ owner, amount: share, weight }) => ({ owner, amount: share, weight }));
}
