import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { FileBacked } from '../config/file-backed.ts';
import type { Logger } from '../logging/logger.ts';
import { budgetDefinition, type Budget } from './budget.ts';
import type { BudgetStore } from './budget-store.ts';

/**
 * Budgets as code: SPENDLINE_BUDGETS_FILE holds {"budgets": [...]}, validated
 * like the API's (every problem with its path) and reloaded when it changes. A
 * budget in the file is created or updated to match it (recorded as changed by
 * the file); budgets the file does not name are left to the API.
 */
export const budgetsFile = z.strictObject({ budgets: z.array(budgetDefinition).max(10_000) }).superRefine((file, ctx) => {
  const seen = new Set<string>();
  file.budgets.forEach((budget, index) => {
    if (seen.has(budget.id)) ctx.addIssue({ code: 'custom', path: ['budgets', index, 'id'], message: `repeats budget ${budget.id}` });
    seen.add(budget.id);
  });
});

export class BudgetFile extends FileBacked<readonly Budget[]> {
  readonly file: string;

  constructor(file: string, log: Logger, checkEveryMs = 5_000) {
    super({
      files: [file],
      load: () => {
        const checked = validate(budgetsFile, JSON.parse(readFileSync(file, 'utf8')));
        if (!checked.ok) throw new Error(`invalid budgets file: ${checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
        return checked.value.budgets;
      },
      describe: (budgets) => ({ budgets: budgets.length, file }),
      log: log.child({ component: 'budget-file' }),
      checkEveryMs,
    });
    this.file = file;
  }
}

/** Brings the stored budgets the file names in line with it; returns the ids changed. */
export async function syncBudgetFile(store: BudgetStore, budgets: readonly Budget[], file: string): Promise<string[]> {
  const changed: string[] = [];
  for (const budget of budgets) {
    const stored = await store.get(budget.id);
    if (stored && JSON.stringify(stored.definition) === JSON.stringify(budget)) continue;
    await store.write(budget.id, budget, `config-file ${file}`);
    changed.push(budget.id);
  }
  return changed;
}
