import type { AttributionPolicy } from '../attribution/attribution-policy.ts';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { Budget } from './budget.ts';
import { evaluateBudget, type BudgetEvaluation } from './budget-evaluation.ts';
import type { BudgetStore, BudgetVersion } from './budget-store.ts';

export interface EvaluatedBudget {
  readonly version: BudgetVersion;
  readonly budget: Budget;
  readonly evaluation: BudgetEvaluation;
}

/** What a gateway should do with a call, per the budgets that cover it. */
export interface EnforcementDecision {
  readonly decision: 'allow' | 'block' | 'downgrade';
  /** For downgrade: the model to serve instead. */
  readonly model: string | null;
  readonly budgets: readonly { readonly id: string; readonly state: BudgetEvaluation['state']; readonly used: string; readonly action: Budget['action']['type'] }[];
}

/**
 * Every budget with where it stands, evaluated at most every `maxAgeMs` (one
 * evaluation at a time; callers in between share it), so a gateway asking on
 * every call costs no query.
 */
export class BudgetEvaluator {
  readonly store: BudgetStore;
  readonly #clickhouse: ClickHouse;
  readonly #maxAgeMs: number;
  #cached: { at: number; budgets: EvaluatedBudget[] } | null = null;
  #pending: Promise<EvaluatedBudget[]> | null = null;

  constructor(store: BudgetStore, clickhouse: ClickHouse, maxAgeMs = 5_000) {
    this.store = store;
    this.#clickhouse = clickhouse;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Forget the cache (a budget changed). */
  invalidate(): void {
    this.#cached = null;
  }

  async all(now = Date.now()): Promise<EvaluatedBudget[]> {
    if (this.#cached && now - this.#cached.at < this.#maxAgeMs) return this.#cached.budgets;
    this.#pending ??= (async () => {
      try {
        const versions = await this.store.list();
        const budgets = await Promise.all(
          versions.map(async (version) => ({ version, budget: version.definition!, evaluation: await evaluateBudget(this.#clickhouse, version.definition!, now) })),
        );
        this.#cached = { at: now, budgets };
        return budgets;
      } finally {
        this.#pending = null;
      }
    })();
    return this.#pending;
  }

  /**
   * The decision for a call with these attributes (dimension → value, tags as
   * tag:<key>), spelt as gateways send them and normalized by the policy. A
   * budget covers the call when every dimension of its scope has one of the
   * listed values; the most severe breached budget decides: block, then
   * downgrade, else allow.
   */
  async decide(attributes: Readonly<Record<string, string>>, policy: AttributionPolicy, now = Date.now()): Promise<EnforcementDecision> {
    const normalized = Object.fromEntries(
      Object.entries(attributes).map(([key, value]) => [key, policy.normalize(key.startsWith('tag:') ? `tags.${key.slice(4)}` : key, value) ?? value]),
    );
    const covering = (await this.all(now)).filter(({ budget }) =>
      Object.entries(budget.scope).every(([key, values]) => normalized[key] !== undefined && values.includes(normalized[key])),
    );
    const breached = covering.filter(({ evaluation }) => evaluation.state === 'breached');
    const blocking = breached.find(({ budget }) => budget.action.type === 'block');
    const downgrading = breached.find(({ budget }) => budget.action.type === 'downgrade');
    return {
      decision: blocking ? 'block' : downgrading ? 'downgrade' : 'allow',
      model: !blocking && downgrading?.budget.action.type === 'downgrade' ? downgrading.budget.action.model : null,
      budgets: covering.map(({ budget, evaluation }) => ({ id: budget.id, state: evaluation.state, used: evaluation.used, action: budget.action.type })),
    };
  }
}
