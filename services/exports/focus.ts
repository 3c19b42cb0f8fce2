import { divideRoundHalfEven, formatDecimal, parseDecimal } from '../money/decimal.ts';
import type { ExportRow } from './export-format.ts';
import { modelIdentity } from './model-identity.ts';
import { PLAN_PERIODS } from './export-plan.ts';
import type { SkuClass } from './focus-groups.ts';

/**
 * FOCUS rows (FinOps Open Cost and Usage Specification) from the per-day,
 * per-owner, per-SKU sums of focus-query.ts. Column definitions followed:
 * FOCUS_Spec `specification/columns/*.md` (1.2) and
 * `specification/datasets/cost_and_usage/columns/*.md` (1.3), and the FOCUS
 * "FOCUS for AI" guidance (focus.finops.org): tokens as ConsumedQuantity /
 * ConsumedUnit, the model and price point as SkuId / SkuPriceId, ServiceCategory
 * "AI and Machine Learning".
 *
 * - One row per UTC day (ChargePeriod, clipped to the asked range) × owner
 *   (tenant, cost center, team, feature, environment, user) × provider ×
 *   model × SKU; a SKU is a token class of a model: input, cached input read,
 *   cache write, input audio, cached audio read, output, output audio, or the
 *   per-request fee.
 * - BilledCost = EffectiveCost = ContractedCost: the effective cost Spendline
 *   computed (negotiated contract prices included; nothing is amortized).
 *   ListCost: the catalog list cost (under a contract, the event's list cost
 *   shared among its SKUs by effective cost: see focus-query.ts). Amounts are
 *   exact decimal strings.
 * - ConsumedQuantity: tokens (requests for the fee); PricingQuantity the same
 *   per million tokens (per thousand requests), exactly; ListUnitPrice and
 *   ContractedUnitPrice are cost ÷ PricingQuantity, exact when the row has one
 *   price (rounded half-even to 18 decimals when it mixes prices — a tier, a
 *   price change within the day, a contract; null when unpriced).
 * - ChargeClass is null: a restated event is exported at its corrected cost,
 *   never as a correction row.
 * - Provider, invoice issuer and billing account are the serving provider as
 *   Spendline stores it ("openai"); the publisher is the model's developer.
 * - Unpriced usage is exported at cost 0 with x_CostStatus "unpriced" and no
 *   unit prices, so it is visible, never shown as free.
 * - FOCUS 1.3 adds ServiceProviderName and HostProviderName (the serving
 *   provider: it does not show its hosts), and the Allocated* columns, null:
 *   each event has one owner, so no row is a provider-calculated split.
 */

export const FOCUS_VERSIONS = ['1.2', '1.3'] as const;
export type FocusVersion = (typeof FOCUS_VERSIONS)[number];

const FOCUS_1_2_COLUMNS = [
  'BilledCost',
  'BillingAccountId',
  'BillingAccountName',
  'BillingCurrency',
  'BillingPeriodEnd',
  'BillingPeriodStart',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'ChargeFrequency',
  'ChargePeriodEnd',
  'ChargePeriodStart',
  'ConsumedQuantity',
  'ConsumedUnit',
  'ContractedCost',
  'ContractedUnitPrice',
  'EffectiveCost',
  'InvoiceIssuerName',
  'ListCost',
  'ListUnitPrice',
  'PricingCategory',
  'PricingQuantity',
  'PricingUnit',
  'ProviderName',
  'PublisherName',
  'ServiceCategory',
  'ServiceName',
  'ServiceSubcategory',
  'SkuId',
  'SkuMeter',
  'SkuPriceDetails',
  'SkuPriceId',
  'Tags',
] as const;

const FOCUS_1_3_ADDED = ['AllocatedMethodDetails', 'AllocatedMethodId', 'AllocatedResourceId', 'AllocatedResourceName', 'AllocatedTags', 'HostProviderName', 'ServiceProviderName'] as const;

/** Spendline's own columns, x_-prefixed as FOCUS requires of custom columns. */
const CUSTOM_COLUMNS = ['x_CostCenter', 'x_CostStatus', 'x_Environment', 'x_Feature', 'x_TenantId', 'x_Team', 'x_UserId'] as const;

/** Columns of a FOCUS export, in order: the version's columns alphabetically, then the custom ones. */
export function focusColumns(version: FocusVersion): readonly string[] {
  const columns: string[] = version === '1.3' ? [...FOCUS_1_2_COLUMNS, ...FOCUS_1_3_ADDED].sort() : [...FOCUS_1_2_COLUMNS];
  return [...columns, ...CUSTOM_COLUMNS];
}

interface SkuDescription {
  /** Part of SkuId: `<provider>/<model>/<slug>`. */
  readonly slug: string;
  /** SkuMeter and the start of ChargeDescription. */
  readonly meter: string;
  readonly details: Readonly<Record<string, string>>;
  readonly consumedUnit: 'Tokens' | 'Requests';
  /** Consumed units in one pricing unit. */
  readonly perPricingUnit: bigint;
  readonly pricingUnit: string;
}

const TOKENS = { consumedUnit: 'Tokens', perPricingUnit: 1_000_000n, pricingUnit: '1000000 Tokens' } as const;

export const SKUS: Readonly<Record<SkuClass, SkuDescription>> = {
  input: { slug: 'input', meter: 'Input Tokens', details: { TokenDirection: 'Input' }, ...TOKENS },
  cache_read: { slug: 'cached-input-read', meter: 'Cached Input Tokens', details: { TokenDirection: 'Input', CacheAction: 'Read' }, ...TOKENS },
  cache_write: { slug: 'cache-write', meter: 'Cache Write Tokens', details: { TokenDirection: 'Input', CacheAction: 'Write' }, ...TOKENS },
  input_audio: { slug: 'input-audio', meter: 'Audio Input Tokens', details: { TokenDirection: 'Input', Modality: 'Audio' }, ...TOKENS },
  cache_audio_read: { slug: 'cached-audio-input-read', meter: 'Cached Audio Input Tokens', details: { TokenDirection: 'Input', CacheAction: 'Read', Modality: 'Audio' }, ...TOKENS },
  output: { slug: 'output', meter: 'Output Tokens', details: { TokenDirection: 'Output' }, ...TOKENS },
  output_audio: { slug: 'output-audio', meter: 'Audio Output Tokens', details: { TokenDirection: 'Output', Modality: 'Audio' }, ...TOKENS },
  requests: { slug: 'requests', meter: 'Requests', details: {}, consumedUnit: 'Requests', perPricingUnit: 1_000n, pricingUnit: '1000 Requests' },
};

/** One row of focus-query.ts's result. */
export interface FocusSum {
  /** Start of the UTC day, epoch seconds. */
  readonly period_epoch: number;
  readonly provider: string;
  readonly model: string;
  readonly tenant_id: string;
  readonly cost_center: string;
  readonly team: string;
  readonly feature: string;
  readonly environment: string;
  readonly user_id: string;
  readonly cost_status: string;
  readonly sku_class: SkuClass;
  /** Integer text. */
  readonly consumed_total: string;
  /** Exact decimal text, USD. */
  readonly effective_total: string;
  readonly list_total: string;
}

export function focusRow(sum: FocusSum, version: FocusVersion, range: { from: number; to: number }): ExportRow {
  const sku = SKUS[sum.sku_class];
  const identity = modelIdentity(sum.provider, sum.model);
  const dayStart = sum.period_epoch * 1000;
  const consumed = BigInt(sum.consumed_total);
  const priced = sum.cost_status === 'priced';
  const skuId = `${sum.provider}/${sum.model}/${sku.slug}`;
  const owner = (value: string) => (value === '' ? null : value);
  const tags = Object.fromEntries(
    (['tenant_id', 'cost_center', 'team', 'feature', 'environment'] as const).flatMap((key) => (sum[key] === '' ? [] : [[key, sum[key]]])),
  );
  const row: Record<string, ExportRow[string]> = {
    BilledCost: sum.effective_total,
    BillingAccountId: sum.provider,
    BillingAccountName: sum.provider,
    BillingCurrency: 'USD',
    BillingPeriodEnd: focusTime(monthStart(dayStart, 1)),
    BillingPeriodStart: focusTime(monthStart(dayStart, 0)),
    ChargeCategory: 'Usage',
    ChargeClass: null,
    ChargeDescription: `${sku.meter} of ${sum.model} (${sum.provider})${priced ? '' : ', not priced'}`,
    ChargeFrequency: 'Usage-Based',
    ChargePeriodEnd: focusTime(Math.min(dayStart + PLAN_PERIODS.day, range.to)),
    ChargePeriodStart: focusTime(Math.max(dayStart, range.from)),
    ConsumedQuantity: sum.consumed_total,
    ConsumedUnit: sku.consumedUnit,
    ContractedCost: sum.effective_total,
    ContractedUnitPrice: priced ? unitPrice(sum.effective_total, consumed, sku.perPricingUnit) : null,
    EffectiveCost: sum.effective_total,
    InvoiceIssuerName: sum.provider,
    ListCost: sum.list_total,
    ListUnitPrice: priced ? unitPrice(sum.list_total, consumed, sku.perPricingUnit) : null,
    PricingCategory: 'Standard',
    PricingQuantity: pricingQuantity(consumed, sku.perPricingUnit),
    PricingUnit: sku.pricingUnit,
    ProviderName: sum.provider,
    PublisherName: identity.developer,
    ServiceCategory: 'AI and Machine Learning',
    ServiceName: `${sum.provider} API`,
    ServiceSubcategory: 'Generative AI',
    SkuId: skuId,
    SkuMeter: sku.meter,
    SkuPriceDetails: { ModelDeveloper: identity.developer, ModelId: identity.id, ...(identity.version ? { ModelVersion: identity.version } : {}), ...sku.details },
    // A SKU has one price point at a time; the amount itself is never part of the id (FOCUS SkuPriceId).
    SkuPriceId: skuId,
    Tags: Object.keys(tags).length > 0 ? tags : null,
    x_CostCenter: owner(sum.cost_center),
    x_CostStatus: sum.cost_status,
    x_Environment: owner(sum.environment),
    x_Feature: owner(sum.feature),
    x_TenantId: owner(sum.tenant_id),
    x_Team: owner(sum.team),
    x_UserId: owner(sum.user_id),
  };
  if (version === '1.3') {
    Object.assign(row, {
      AllocatedMethodDetails: null,
      AllocatedMethodId: null,
      AllocatedResourceId: null,
      AllocatedResourceName: null,
      AllocatedTags: null,
      HostProviderName: sum.provider,
      ServiceProviderName: sum.provider,
    });
  }
  return row;
}

/** FOCUS date/time format: UTC, seconds, 'Z' ("2026-11-01T00:00:00Z"). */
export function focusTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Start of the UTC calendar month holding the instant, `ahead` months on. */
function monthStart(epochMs: number, ahead: number): number {
  const at = new Date(epochMs);
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + ahead, 1);
}

const PRICE_SCALE = 18;

/** Consumed units in pricing units, exactly (1,500 tokens → "0.0015"). */
export function pricingQuantity(consumed: bigint, perPricingUnit: bigint): string {
  return formatDecimal(consumed, perPricingUnit.toString().length - 1);
}

/** cost ÷ (consumed ÷ perPricingUnit), half-even at 18 decimals (exact for any one catalog price); null without usage. */
export function unitPrice(cost: string, consumed: bigint, perPricingUnit: bigint): string | null {
  if (consumed <= 0n) return null;
  const parsed = parseDecimal(cost);
  if (!parsed.ok) throw new Error(`not a stored amount: ${cost}`);
  // units of 10^-12 × perPricingUnit / consumed, carried to 10^-18.
  return formatDecimal(divideRoundHalfEven(parsed.units * perPricingUnit * 10n ** BigInt(PRICE_SCALE - 12), consumed), PRICE_SCALE);
}
