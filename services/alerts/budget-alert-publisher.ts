import type { AvroSchemaRegistry } from '@spendline/emitter/avro';
import type { SerialProducer } from '@spendline/emitter/kafka';
import cron, { type ScheduledTask } from 'node-cron';
import { periodAt } from '../budgets/budget.ts';
import type { BudgetEvaluator } from '../budgets/budget-evaluator.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import type { Logger } from '../logging/logger.ts';
import type { AlertStore } from './alert-store.ts';
import { budgetAlertChanges } from './budget-alerts.ts';
import { resolved, type AlertEvent } from './alert-event.ts';
import type { Budget } from '../budgets/budget.ts';
import { syncBudgetFile, type BudgetFile } from '../budgets/budget-file.ts';
import type { BudgetEvaluation } from '../budgets/budget-evaluation.ts';

/** Mirrors schemas/budget-status-v1.avsc. */
export interface BudgetStatus {
  readonly budget_id: string;
  readonly scope: Readonly<Record<string, readonly string[]>>;
  readonly state: BudgetEvaluation['state'];
  readonly decision: 'allow' | 'block' | 'downgrade';
  readonly downgrade_model: string | null;
  readonly period: string;
  readonly amount: string;
  readonly spent: string;
  readonly used: string;
  readonly evaluated_at: number;
}

/** What a gateway does with a call the budget covers, now. */
export function budgetStatus(budget: Budget, evaluation: BudgetEvaluation, now: number): BudgetStatus {
  const breached = evaluation.state === 'breached';
  const decision = breached && budget.action.type === 'block' ? 'block' : breached && budget.action.type === 'downgrade' ? 'downgrade' : 'allow';
  return {
    budget_id: budget.id,
    scope: budget.scope,
    state: evaluation.state,
    decision,
    downgrade_model: decision === 'downgrade' && budget.action.type === 'downgrade' ? budget.action.model : null,
    period: evaluation.period.label,
    amount: budget.amount,
    spent: evaluation.spent,
    used: evaluation.used,
    evaluated_at: now,
  };
}

const statusKey = ({ evaluated_at: _at, ...status }: BudgetStatus) => JSON.stringify(status);

export interface BudgetAlertPublisherOptions {
  readonly evaluator: BudgetEvaluator;
  readonly store: AlertStore;
  readonly producer: SerialProducer;
  readonly registry: AvroSchemaRegistry;
  readonly topic: string;
  /** The compacted budget.status.v1 topic gateways follow. */
  readonly statusTopic: string;
  /** Budgets as code, synced before each evaluation when the file changed. */
  readonly budgetFile?: BudgetFile | null;
  /** node-cron expression of the evaluation (with seconds), e.g. every 10 s. */
  readonly schedule: string;
  readonly log: Logger;
}

/**
 * Evaluates every budget on a schedule (node-cron) against ClickHouse — so a
 * restart or a restatement is reconciled at the next tick — and publishes the
 * alert state changes to alerts.v1, keyed by alert id. Any number of replicas
 * may run it: they publish the same alert ids, and the notifier acts on each
 * state once. Known states come from the notifier's record, so a restart does
 * not fire again. Each budget's status also goes to the compacted
 * budget.status.v1 when it changes (spend included, so a gateway sees it move),
 * for gateways that follow it instead of asking GET /v1/budgets/status.
 */
export class BudgetAlertPublisher {
  readonly #options: BudgetAlertPublisherOptions;
  readonly #log: Logger;
  #task: ScheduledTask | null = null;
  #running: Promise<number> | null = null;
  /** What this replica published and the notifier may not have recorded yet: not published again meanwhile. */
  readonly #published = new Map<string, AlertEvent['state']>();
  /** The budgets file content last synced. */
  #synced: readonly Budget[] | null = null;
  /** The last status this replica published per budget (without its time), to publish changes only. */
  readonly #statuses = new Map<string, string>();

  constructor(options: BudgetAlertPublisherOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'budget-alerts' });
  }

  start(): void {
    this.#task = cron.schedule(this.#options.schedule, () => {
      this.tick().catch((err: unknown) => this.#log.error({ err }, 'budget evaluation failed; retrying at the next tick'));
    });
  }

  async stop(): Promise<void> {
    await this.#task?.stop();
    await this.#running?.catch(() => 0);
  }

  /** One evaluation: publishes the changes and returns how many. One at a time. */
  tick(now = Date.now()): Promise<number> {
    this.#running ??= this.#evaluate(now).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #evaluate(now: number): Promise<number> {
    const { evaluator, store, producer, registry, topic, budgetFile } = this.#options;
    const fromFile = budgetFile?.current(now);
    if (budgetFile && fromFile && fromFile !== this.#synced) {
      const changed = await syncBudgetFile(evaluator.store, fromFile, budgetFile.file);
      if (changed.length > 0) this.#log.info({ budgets: changed, file: budgetFile.file }, 'budgets file changed; budgets updated');
      this.#synced = fromFile;
    }
    evaluator.invalidate();
    const [budgets, known] = await Promise.all([evaluator.all(now), store.latest({ kind: 'budget' })]);
    const knownBySource = new Map<string, AlertEvent[]>();
    for (const alert of known) knownBySource.set(alert.source_id, [...(knownBySource.get(alert.source_id) ?? []), alert]);
    const changes: AlertEvent[] = [];
    for (const { budget, evaluation } of budgets) {
      changes.push(...budgetAlertChanges(budget, evaluation, periodAt(budget, now), knownBySource.get(budget.id) ?? [], now));
      knownBySource.delete(budget.id);
    }
    // Budgets deleted since their alerts fired: resolve what still fires.
    for (const alerts of knownBySource.values()) for (const alert of alerts) if (alert.state === 'firing') changes.push(resolved(alert, 'the budget was deleted', now));

    const recorded = new Map(known.map((alert) => [alert.alert_id, alert.state]));
    for (const [id, state] of this.#published) if (recorded.get(id) === state) this.#published.delete(id);
    const fresh = changes.filter((change) => this.#published.get(change.alert_id) !== change.state);

    // Statuses for gateways: a message when a budget's status changes; a tombstone when it is gone.
    const statuses = budgets.map(({ budget, evaluation }) => budgetStatus(budget, evaluation, now));
    const changedStatuses = statuses.filter((status) => this.#statuses.get(status.budget_id) !== statusKey(status));
    const gone = [...this.#statuses.keys()].filter((id) => !statuses.some((status) => status.budget_id === id));

    const batches = [
      ...(fresh.length > 0 ? [{ topic, messages: fresh.map((alert) => ({ key: alert.alert_id, value: registry.encode(SCHEMA_NAMES.alert, alert) })) }] : []),
      ...(changedStatuses.length + gone.length > 0
        ? [
            {
              topic: this.#options.statusTopic,
              messages: [
                ...changedStatuses.map((status) => ({ key: status.budget_id, value: registry.encode(SCHEMA_NAMES.budgetStatus, status) })),
                ...gone.map((id) => ({ key: id, value: null })),
              ],
            },
          ]
        : []),
    ];
    if (batches.length === 0) return 0;
    await producer.send(batches);
    for (const alert of fresh) this.#published.set(alert.alert_id, alert.state);
    for (const status of changedStatuses) this.#statuses.set(status.budget_id, statusKey(status));
    for (const id of gone) this.#statuses.delete(id);
    if (fresh.length > 0) this.#log.info({ alerts: fresh.map((alert) => `${alert.alert_id}:${alert.state}`) }, 'published budget alert changes');
    return fresh.length;
  }
}
