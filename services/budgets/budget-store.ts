import { z } from 'zod';
import { clickHouseTimeToIso, formatDateTime64, type ClickHouse } from '../clickhouse/clickhouse.ts';
import { budgetDefinition, type Budget } from './budget.ts';

/**
 * Budgets in ClickHouse (sql/007): each change appends a version; nothing is
 * rewritten, so state survives restarts and the history says who did what.
 */

export interface BudgetVersion {
  readonly budget_id: string;
  readonly version: number;
  readonly action: 'created' | 'updated' | 'deleted';
  readonly definition: Budget | null;
  readonly actor: string;
  readonly changed_at: string;
}

export class BudgetVersionConflict extends Error {
  constructor(id: string, expected: number, actual: number) {
    super(`budget ${id} is at version ${actual}, not ${expected}: someone changed it meanwhile; read it again`);
    this.name = 'BudgetVersionConflict';
  }
}

const versionRow = z.object({ budget_id: z.string(), version: z.coerce.number(), action: z.enum(['created', 'updated', 'deleted']), definition: z.string(), actor: z.string(), changed_at: z.string() });

function toVersion(row: z.infer<typeof versionRow>): BudgetVersion {
  return {
    ...row,
    definition: row.action === 'deleted' ? null : budgetDefinition.parse(JSON.parse(row.definition)),
    changed_at: clickHouseTimeToIso(row.changed_at),
  };
}

export class BudgetStore {
  readonly #clickhouse: ClickHouse;

  constructor(clickhouse: ClickHouse) {
    this.#clickhouse = clickhouse;
  }

  /** Every budget in force (latest version, not deleted), by id. */
  async list(): Promise<BudgetVersion[]> {
    const rows = await this.#clickhouse.query({
      name: 'budgets_in_force',
      sql: [
        'SELECT budget_id, version, action, definition, actor, toString(changed_at) AS changed_at',
        'FROM {db:Identifier}.budget_versions_v1',
        'ORDER BY budget_id, version DESC',
        'LIMIT 1 BY budget_id',
      ].join('\n'),
      schema: versionRow,
    });
    return rows.filter((row) => row.action !== 'deleted').map(toVersion);
  }

  async get(id: string): Promise<BudgetVersion | null> {
    const [latest] = await this.history(id, 1);
    return latest && latest.action !== 'deleted' ? latest : null;
  }

  /** The versions of one budget, latest first. */
  async history(id: string, limit = 1000): Promise<BudgetVersion[]> {
    const rows = await this.#clickhouse.query({
      name: 'budget_history',
      sql: [
        'SELECT budget_id, version, action, definition, actor, toString(changed_at) AS changed_at',
        'FROM {db:Identifier}.budget_versions_v1 WHERE budget_id = {id:String}',
        'ORDER BY version DESC LIMIT {limit:UInt32}',
      ].join('\n'),
      params: { id, limit },
      schema: versionRow,
    });
    return rows.map(toVersion);
  }

  /**
   * Records a new version. `expectedVersion` (the version the caller read)
   * guards against two people changing one budget at once: a mismatch is a
   * conflict, not a silent overwrite.
   */
  async write(id: string, definition: Budget | null, actor: string, expectedVersion?: number): Promise<BudgetVersion> {
    const [latest] = await this.history(id, 1);
    const current = latest?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== current) throw new BudgetVersionConflict(id, expectedVersion, current);
    const exists = latest !== undefined && latest.action !== 'deleted';
    const action = definition === null ? 'deleted' : exists ? 'updated' : 'created';
    const row = { budget_id: id, version: current + 1, action, definition: definition === null ? '' : JSON.stringify(definition), actor, changed_at: formatDateTime64(Date.now()) };
    await this.#clickhouse.insert('budget_version', 'budget_versions_v1', [row]);
    return toVersion(versionRow.parse(row));
  }
}
