import cron, { type ScheduledTask } from 'node-cron';
import type { AvroSchemaRegistry } from '../avro/schema-registry.ts';
import { periodAt } from '../budgets/budget.ts';
import type { BudgetEvaluator } from '../budgets/budget-evaluator.ts';
import { SCHEMA_NAMES } from '../events/schema-names.ts';
import type { SerialProducer } from '../kafka/serial-producer.ts';
import type { Logger } from '../logging/logger.ts';
import type { AlertStore } from './alert-store.ts';
import { budgetAlertChanges, resolved, type AlertEvent } from './budget-alerts.ts';

export interface BudgetAlertPublisherOptions {
  readonly evaluator: BudgetEvaluator;
  readonly store: AlertStore;
  readonly producer: SerialProducer;
  readonly registry: AvroSchemaRegistry;
  readonly topic: string;
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
 * not fire again.
 */
export class BudgetAlertPublisher {
  readonly #options: BudgetAlertPublisherOptions;
  readonly #log: Logger;
  #task: ScheduledTask | null = null;
  #running: Promise<number> | null = null;
  /** What this replica published and the notifier may not have recorded yet: not published again meanwhile. */
  readonly #published = new Map<string, AlertEvent['state']>();

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
    const { evaluator, store, producer, registry, topic } = this.#options;
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
    if (fresh.length === 0) return 0;
    await producer.send([{ topic, messages: fresh.map((alert) => ({ key: alert.alert_id, value: registry.encode(SCHEMA_NAMES.alert, alert) })) }]);
    for (const alert of fresh) this.#published.set(alert.alert_id, alert.state);
    this.#log.info({ alerts: fresh.map((alert) => `${alert.alert_id}:${alert.state}`) }, 'published budget alert changes');
    return fresh.length;
  }
}
