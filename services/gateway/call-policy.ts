import { z } from 'zod';
import type { BudgetStatus } from '../alerts/budget-alert-publisher.ts';

/**
 * What the gateway allows a call, before it goes up: the models a team may use
 * in an environment (allow and deny lists in the gateway file), the models a
 * key may use, and the budgets that cover the call (block, or downgrade to a
 * cheaper model). Pure: the proxy asks, these answer.
 */

const modelPattern = z.string().regex(/^[^*\s]*\*?$/, 'must be a model id, or a prefix ending in * (e.g. gpt-4o*), or * alone').min(1);
const values = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((value) => (Array.isArray(value) ? value : [value]));

export const modelRuleSchema = z
  .strictObject({
    /** Which calls the rule is about (absent: any team / environment). */
    team: values.optional(),
    environment: values.optional(),
    /** The only models allowed (absent: no allow list). */
    allow_models: z.array(modelPattern).min(1).max(500).optional(),
    /** Models refused, whatever the allow lists say. */
    deny_models: z.array(modelPattern).min(1).max(500).optional(),
  })
  .refine((rule) => rule.allow_models || rule.deny_models, { message: 'a rule needs allow_models or deny_models' });
export type ModelRule = z.output<typeof modelRuleSchema>;

export const matchesModel = (pattern: string, model: string) => (pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : model === pattern);

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * A model is refused when a rule for the call's team and environment denies
 * it, when a rule for them allows a list it is not on, or when the key allows
 * a list it is not on.
 */
export function modelVerdict(rules: readonly ModelRule[], call: { team: string | null; environment: string | null; model: string; keyModels: readonly string[] }): Verdict {
  const where = `team ${call.team ?? '(none)'} in environment ${call.environment ?? '(none)'}`;
  for (const [index, rule] of rules.entries()) {
    if (rule.team && !(call.team && rule.team.includes(call.team))) continue;
    if (rule.environment && !(call.environment && rule.environment.includes(call.environment))) continue;
    if (rule.deny_models?.some((pattern) => matchesModel(pattern, call.model))) return { ok: false, message: `model ${call.model} is denied for ${where} (policy rule ${index + 1})` };
    if (rule.allow_models && !rule.allow_models.some((pattern) => matchesModel(pattern, call.model))) {
      return { ok: false, message: `model ${call.model} is not among the models allowed for ${where} (policy rule ${index + 1}: ${rule.allow_models.join(', ')})` };
    }
  }
  if (call.keyModels.length > 0 && !call.keyModels.includes(call.model)) return { ok: false, message: `model ${call.model} is not among the models this gateway key may use (${call.keyModels.join(', ')})` };
  return { ok: true };
}

export type BudgetAction = { readonly action: 'allow' } | { readonly action: 'block'; readonly status: BudgetStatus } | { readonly action: 'downgrade'; readonly status: BudgetStatus; readonly model: string };

/**
 * What the budgets covering a call say: a budget covers it when the call has
 * one of the values of every dimension of the budget's scope. Any block
 * wins; else the first downgrade (by budget id, so replicas agree).
 */
export function budgetAction(statuses: Iterable<BudgetStatus>, call: Readonly<Record<string, unknown>> & { readonly tags?: Readonly<Record<string, string>> }): BudgetAction {
  // One pass, no sorting or copies: this runs on every call, and most statuses allow.
  let block: BudgetStatus | null = null;
  let downgrade: BudgetStatus | null = null;
  for (const status of statuses) {
    if (status.decision === 'allow' || !covers(status.scope, call)) continue;
    if (status.decision === 'block') {
      if (!block || status.budget_id.localeCompare(block.budget_id) < 0) block = status;
    } else if (status.decision === 'downgrade' && status.downgrade_model) {
      if (!downgrade || status.budget_id.localeCompare(downgrade.budget_id) < 0) downgrade = status;
    }
  }
  if (block) return { action: 'block', status: block };
  if (downgrade) return { action: 'downgrade', status: downgrade, model: downgrade.downgrade_model! };
  return { action: 'allow' };
}

/** A budget covers a call when the call has one of the values of every dimension of its scope. */
function covers(scope: BudgetStatus['scope'], call: Readonly<Record<string, unknown>> & { readonly tags?: Readonly<Record<string, string>> }): boolean {
  for (const dimension in scope) {
    const value = dimension.startsWith('tag:') ? call.tags?.[dimension.slice(4)] : call[dimension];
    if (typeof value !== 'string' || !scope[dimension]!.includes(value)) return false;
  }
  return true;
}
