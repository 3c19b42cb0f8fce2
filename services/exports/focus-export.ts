import { z } from 'zod';
import type { ClickHouse } from '../clickhouse/clickhouse.ts';
import type { ExportRange, ExportSlice } from './export-plan.ts';
import type { ExportRow } from './export-format.ts';
import { focusRow, type FocusVersion } from './focus.ts';
import { focusGroupsPerRead, SKU_CLASSES } from './focus-groups.ts';
import { buildFocusQuery } from './focus-query.ts';

/**
 * GET /v1/exports/focus: FOCUS rows over a range, read a slice of whole UTC
 * days at a time (a FOCUS row is a day, so a day is never split across two
 * reads). A day with more owner-and-model groups than one read may return is
 * read in parts, each taking the groups whose hash falls in it: every group
 * stays in one part, so no FOCUS row is split either. Each part scans the day
 * again: memory stays bounded at the price of re-reading a very busy day.
 */

const focusSum = z.object({
  period_epoch: z.coerce.number(),
  provider: z.string(),
  model: z.string(),
  tenant_id: z.string(),
  cost_center: z.string(),
  team: z.string(),
  feature: z.string(),
  environment: z.string(),
  user_id: z.string(),
  cost_status: z.string(),
  sku_class: z.enum(SKU_CLASSES),
  consumed_total: z.string().regex(/^-?\d+$/),
  effective_total: z.string(),
  list_total: z.string(),
});

/** FOCUS rows, a slice (or a part of a busy day) at a time, read only when the consumer asks for more. */
export async function* focusExportPages(
  clickhouse: ClickHouse,
  range: ExportRange,
  /** From planExport(…, 'day', sliceRows): whole days, measured in owner-and-model groups. */
  slices: readonly ExportSlice[],
  options: { readonly version: FocusVersion; readonly sliceRows: number },
): AsyncGenerator<ExportRow[]> {
  const groupsPerRead = focusGroupsPerRead(options.sliceRows);
  for (const slice of slices) {
    const parts = Math.max(1, Math.ceil(slice.rows / groupsPerRead));
    for (let index = 0; index < parts; index += 1) {
      const built = buildFocusQuery({ from: slice.from, to: slice.to, scope: range.scope, bucket: parts > 1 ? { index, count: parts } : undefined });
      const sums = await clickhouse.query({ name: 'focus_export_slice', sql: built.sql, params: built.params, schema: focusSum });
      if (sums.length > 0) yield sums.map((sum) => focusRow(sum, options.version, range));
    }
  }
}
