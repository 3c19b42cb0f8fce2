/** Full Avro names of the records in schemas/, as messages carry them. */
export const SCHEMA_NAMES = {
  usageEvent: 'dev.spendline.usage.UsageEvent',
  enrichedUsageEvent: 'dev.spendline.usage.EnrichedUsageEvent',
  deadLetter: 'dev.spendline.dlq.DeadLetter',
  alert: 'dev.spendline.alerts.Alert',
  budgetStatus: 'dev.spendline.budgets.BudgetStatus',
} as const;
