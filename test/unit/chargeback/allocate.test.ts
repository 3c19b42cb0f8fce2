import { describe, expect, it } from 'vitest';
import { allocate, largestRemainder, UNATTRIBUTED } from '../../../services/chargeback/allocate.ts';
import { parseAllocationRules, type AllocationPool } from '../../../services/chargeback/allocation-rules.ts';
import { decimalUnits, formatDecimal } from '../../../services/money/decimal.ts';

const usd = (text: string) => decimalUnits(text);
const pools = (value: unknown): readonly AllocationPool[] => parseAllocationRules(JSON.stringify(value)).pools;
const money = (lines: readonly { owner: string; amount: bigint }[]) => Object.fromEntries(lines.map((line) => [line.owner, formatDecimal(line.amount)]));

describe('largestRemainder', () => {
  it('splits exactly in proportion when the shares are whole units', () => {
    expect(money(largestRemainder(usd('10'), [['a', 3n], ['b', 1n]]))).toEqual({ a: '7.5', b: '2.5' });
  });

  it('gives the units left over to the largest remainders, ties in name order, so the parts sum to the whole', () => {
    // 1e-12 × 10 units over three equal weights: 3, 3, 3 and one unit left, to "a".
    const lines = largestRemainder(10n, [['c', 1n], ['a', 1n], ['b', 1n]]);
    expect(lines.map((line) => [line.owner, line.amount])).toEqual([['c', 3n], ['a', 4n], ['b', 3n]]);
  });

  it('never loses or makes up a unit, over many random splits', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let round = 0; round < 2000; round += 1) {
      const amount = BigInt(next()) * BigInt(next());
      const weights = Array.from({ length: 1 + (next() % 9) }, (_, i) => [`o${i}`, BigInt(next() % 1000)] as const);
      const lines = largestRemainder(amount, weights);
      const positive = weights.some(([, weight]) => weight > 0n);
      expect(lines.reduce((sum, line) => sum + line.amount, 0n)).toBe(positive && amount > 0n ? amount : 0n);
      for (const line of lines) expect(line.amount >= 0n).toBe(true);
    }
  });

  it('is empty when no weight is positive', () => {
    expect(largestRemainder(usd('5'), [['a', 0n]])).toEqual([]);
  });
});

describe('allocate', () => {
  const direct = new Map([
    ['search', usd('60')],
    ['ads', usd('30')],
    ['platform', usd('9')],
    [UNATTRIBUTED, usd('10')],
  ]);

  it('shows unattributed spend as its own owner when no pool takes it, and totals every cost', () => {
    const result = allocate(direct, []);
    expect(result.owners.map((o) => [o.owner, formatDecimal(o.total)])).toEqual([['search', '60'], ['ads', '30'], [UNATTRIBUTED, '10'], ['platform', '9']]);
    expect(formatDecimal(result.grandTotal)).toBe('109');
  });

  it('spreads unattributed spend in proportion, a platform team evenly and a fixed fee by percentages, in file order', () => {
    const result = allocate(
      direct,
      pools({
        pools: [
          { id: 'unattributed', source: { unattributed: true }, spread: { method: 'proportional' } },
          { id: 'platform', source: { owners: ['platform'] }, spread: { method: 'even' } },
          { id: 'commit', source: { fixed_monthly: '1000' }, spread: { method: 'fixed', percentages: { search: '70', ads: '30' } } },
        ],
      }),
    );
    // Unattributed 10 over search 60 / ads 30 / platform 9 (platform is still an owner when the first pool runs): 60/99, 30/99, 9/99.
    const [unattributed, platform, commit] = result.pools;
    expect(money(unattributed!.lines)).toEqual({ search: '6.060606060606', ads: '3.030303030303', platform: '0.909090909091' });
    // Then platform's own 9 is a pool, spread evenly over search and ads (platform no longer keeps direct cost).
    expect(money(platform!.lines)).toEqual({ search: '4.5', ads: '4.5' });
    expect(money(commit!.lines)).toEqual({ search: '700', ads: '300' });
    expect(result.owners.map((o) => [o.owner, formatDecimal(o.direct), formatDecimal(o.pooled), formatDecimal(o.allocated), formatDecimal(o.total)])).toEqual([
      ['search', '60', '0', '710.560606060606', '770.560606060606'],
      ['ads', '30', '0', '307.530303030303', '337.530303030303'],
      // platform received part of the unattributed pool before its own cost became a pool: that part stays with it.
      ['platform', '9', '9', '0.909090909091', '0.909090909091'],
      [UNATTRIBUTED, '10', '10', '0', '0'],
    ]);
    // 109 of usage + 1000 of fixed fee, to the unit.
    expect(result.grandTotal).toBe(usd('1109'));
    expect(result.owners.reduce((sum, o) => sum + o.total, 0n) + result.pools.reduce((sum, p) => sum + p.unallocated, 0n)).toBe(result.grandTotal);
  });

  it('keeps a pool nobody can take as unallocated, never dropping it', () => {
    const result = allocate(new Map([[UNATTRIBUTED, usd('5')]]), pools({ pools: [{ id: 'u', source: { unattributed: true }, spread: { method: 'proportional' } }] }));
    expect(formatDecimal(result.pools[0]!.unallocated)).toBe('5');
    expect(result.grandTotal).toBe(usd('5'));
  });
});

describe('allocation rules', () => {
  it.each([
    [{ pools: [{ id: 'x', source: { fixed_monthly: '10' }, spread: { method: 'fixed', percentages: { a: '60', b: '30' } } }] }, 'pools[0].spread.percentages: must sum to exactly 100'],
    [{ pools: [{ id: 'x', source: { fixed_monthly: '-1' }, spread: { method: 'even' } }] }, 'pools[0].source.fixed_monthly: must not be negative'],
    [{ pools: [{ id: 'x', source: {}, spread: { method: 'even' } }] }, 'pools[0].source: must be {"unattributed": true}, {"owners": [...]} or {"fixed_monthly": "amount"}'],
    [{ pools: [{ id: 'x', source: { unattributed: true }, spread: { method: 'even' } }, { id: 'x', source: { owners: ['p'] }, spread: { method: 'even' } }] }, 'pools[1].id: repeats id x'],
  ])('rejects %j naming the field', (file, message) => {
    expect(() => parseAllocationRules(JSON.stringify(file))).toThrow(message);
  });

  it('derives a stable version from the content unless one is given', () => {
    const text = JSON.stringify({ pools: [] });
    expect(parseAllocationRules(text).version).toMatch(/^allocation-[0-9a-f]{12}$/);
    expect(parseAllocationRules(text).version).toBe(parseAllocationRules(text).version);
    expect(parseAllocationRules(JSON.stringify({ version: '2026-10', pools: [] })).version).toBe('2026-10');
  });
});
