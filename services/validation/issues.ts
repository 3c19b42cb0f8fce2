/**
 * Transitional: field issues now live in @spendline/emitter.
 * Import them from '@spendline/emitter/field-issues'; this file goes once nothing imports it.
 */
export * from '@spendline/emitter/field-issues';
