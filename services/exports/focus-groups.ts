/**
 * What a FOCUS row is kept apart by, shared by the FOCUS query and the plan
 * that sizes its reads: a group is one day's usage of one model by one owner
 * (and pricing status), split into one row per SKU class it used.
 */

/** Token classes in the pricing engine's order (cost_breakdown keys): a model's SKUs. */
export const SKU_CLASSES = ['input', 'cache_read', 'cache_write', 'input_audio', 'cache_audio_read', 'output', 'output_audio', 'requests'] as const;
export type SkuClass = (typeof SKU_CLASSES)[number];

/** The owner dimensions a FOCUS row is kept apart by (x_ columns and Tags). */
export const FOCUS_OWNER_COLUMNS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'user_id'] as const;

/** Columns of a group (with the UTC day and the SKU class, the key of a FOCUS row). */
export const FOCUS_GROUP_COLUMNS = ['provider', 'model', ...FOCUS_OWNER_COLUMNS, 'cost_status'] as const;

/** Groups one read may hold when it may return `sliceRows` rows: a group yields at most one row per SKU class. */
export function focusGroupsPerRead(sliceRows: number): number {
  return Math.max(1, Math.floor(sliceRows / SKU_CLASSES.length));
}
