import { USAGE_EVENT_SCHEMA_NAME } from '@spendline/emitter/avro';

/** Full Avro names of the records in schemas/ (and the usage event's, which @spendline/emitter owns), as messages carry them. */
export const SCHEMA_NAMES = {
  usageEvent: USAGE_EVENT_SCHEMA_NAME,
  enrichedUsageEvent: 'dev.spendline.usage.EnrichedUsageEvent',
  deadLetter: 'dev.spendline.dlq.DeadLetter',
  alert: 'dev.spendline.alerts.Alert',
  budgetStatus: 'dev.spendline.budgets.BudgetStatus',
} as const;
