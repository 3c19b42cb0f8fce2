/**
 * Transitional: the usage event contract now lives in @spendline/emitter.
 * Import it from '@spendline/emitter/usage-event'; this file goes once nothing imports it.
 */
export * from '@spendline/emitter/usage-event';
