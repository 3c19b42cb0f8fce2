import { readFileSync } from 'node:fs';
import { validate } from '@spendline/emitter/field-issues';
import { z } from 'zod';
import { parseDecimal } from '../money/decimal.ts';

/**
 * Which scopes and metrics the detectors watch, and how loud they may be: a
 * JSON file (SPENDLINE_DETECTION_FILE), every field optional with the
 * defaults below. The defaults watch what usually explains spend (team,
 * feature, model per minute; tenant, API key and user as well per hour).
 */

/** Dimensions a series can be kept per (usage_events_v1 columns). */
export const SERIES_DIMENSIONS = ['tenant_id', 'cost_center', 'team', 'feature', 'environment', 'model', 'provider', 'user_id', 'api_key_id', 'gateway_id'] as const;
export type SeriesDimension = (typeof SERIES_DIMENSIONS)[number];

/** What a bucket of a series is measured by. */
export const SERIES_METRICS = ['cost', 'requests', 'error_rate', 'input_tokens_per_request', 'output_tokens_per_request', 'latency_p95_ms'] as const;
export type SeriesMetric = (typeof SERIES_METRICS)[number];

const usd = z.string().refine((text) => parseDecimal(text).ok && !text.startsWith('-'), 'must be a non-negative decimal amount in USD, e.g. "25" or "0.5"');
const resolution = (scopes: SeriesDimension[], metrics: SeriesMetric[]) =>
  z
    .strictObject({
      scopes: z.array(z.enum(SERIES_DIMENSIONS)).max(SERIES_DIMENSIONS.length).default(scopes),
      metrics: z.array(z.enum(SERIES_METRICS)).max(SERIES_METRICS.length).default(metrics),
    })
    .prefault({});
const toggle = z.strictObject({ enabled: z.boolean().default(true) }).prefault({});

export const detectionSettings = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Channels (names from the channels file) told about detector alerts. */
    channels: z.array(z.string().min(1)).max(20).default([]),
    /** Minute series run every minute, on the freshest closed minute: sudden spikes (retry storms, loops, error bursts). */
    minute: resolution(['team', 'feature', 'model'], ['cost', 'requests', 'error_rate']),
    /** Hourly series: slower shifts, more scopes (per-request metrics need volume). */
    hourly: resolution(['tenant_id', 'team', 'feature', 'model', 'api_key_id', 'user_id'], ['cost', 'requests', 'error_rate', 'input_tokens_per_request', 'output_tokens_per_request', 'latency_p95_ms']),
    /** Busiest values kept per dimension (by requests over the last week): a long tail of tiny users is not watched one by one. */
    max_series_per_scope: z.int().min(1).max(10_000).default(100),
    /** Requests a bucket needs before a per-request metric (error rate, tokens per request, latency) is judged, and before any anomaly is raised. */
    min_requests: z.int().min(1).max(1_000_000).default(20),
    /** A series anomaly with less money at stake per hour is not raised (latency and error rate excepted: they cost reliability, not money). */
    min_at_stake_per_hour: usd.default('1'),
    /** Money at stake per hour from which an alert is a warning, and critical. */
    severity: z.strictObject({ warning_per_hour: usd.default('10'), critical_per_hour: usd.default('100') }).prefault({}),
    /** How long after a minute ends its events are taken as complete (sink delay). */
    lateness_seconds: z.int().min(0).max(600).default(30),
    /** Findings that share a scope within this many minutes of an incident's start join it: one incident, one page. */
    group_window_minutes: z.int().min(1).max(24 * 60).default(30),
    runaway: toggle,
    model_mix_drift: toggle,
    token_drift: toggle,
    price_drift: toggle,
    unpriced_usage: toggle,
    /** Silence watches every gateway, and the values of these dimensions (busy teams or features can pause for minutes; gateways should not). */
    silence: z.strictObject({ enabled: z.boolean().default(true), scopes: z.array(z.enum(SERIES_DIMENSIONS)).max(SERIES_DIMENSIONS.length).default([]) }).prefault({}),
  })
  .prefault({});

export type DetectionSettings = z.output<typeof detectionSettings>;

export const DEFAULT_DETECTION: DetectionSettings = detectionSettings.parse({});

/** Reads and validates the detection file; unset: the defaults. */
export function loadDetectionSettings(file: string | null): DetectionSettings {
  if (!file) return DEFAULT_DETECTION;
  const checked = validate(detectionSettings, JSON.parse(readFileSync(file, 'utf8')));
  if (!checked.ok) throw new Error(`invalid detection file ${file}: ${checked.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
  return checked.value;
}
