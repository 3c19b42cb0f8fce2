-- The owner rollup per UTC day: a month is 30 rows per owner and model
-- instead of 720, for reports over whole UTC days (a month's chargeback in UTC,
-- cost per day, week or month). Same rules as the hourly rollups: sums of
-- value × sign per restatement run; usage_daily_owner_costs_v1 counts the runs in force.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db:Identifier}.usage_daily_owner_v1
(
    hour                    DateTime('UTC')                                                    COMMENT 'Start of the UTC day of occurred_at (named hour so that queries read either rollup alike)',
    pricing_run             UInt64                                                             COMMENT 'Restatement run of the rows summed (0 = at ingest); see pricing_runs_v1',
    tenant_id               LowCardinality(String)                                             COMMENT 'Customer, or empty',
    cost_center             LowCardinality(String)                                             COMMENT 'Cost center, or empty',
    team                    LowCardinality(String)                                             COMMENT 'Owning team, or empty',
    feature                 LowCardinality(String)                                             COMMENT 'Product feature, or empty',
    environment             LowCardinality(String)                                             COMMENT 'Deployment environment, or empty',
    provider                LowCardinality(String)                                             COMMENT 'Serving provider',
    model                   LowCardinality(String)                                             COMMENT 'Served model',
    events                  SimpleAggregateFunction(sum, Int64)                                COMMENT 'Requests: sum(sign)',
    error_events            SimpleAggregateFunction(sum, Int64)                                COMMENT 'Requests with status error',
    unpriced_events         SimpleAggregateFunction(sum, Int64)                                COMMENT 'Requests with cost_status unpriced (counted, never free)',
    cost                    SimpleAggregateFunction(sum, Decimal(38, 12))                      COMMENT 'Effective cost, USD',
    list_cost               SimpleAggregateFunction(sum, Decimal(38, 12))                      COMMENT 'List cost, USD',
    input_tokens            SimpleAggregateFunction(sum, Int64)                                COMMENT 'All prompt tokens',
    output_tokens           SimpleAggregateFunction(sum, Int64)                                COMMENT 'All generated tokens',
    cache_read_tokens       SimpleAggregateFunction(sum, Int64)                                COMMENT 'Prompt tokens read from the cache',
    cache_write_tokens      SimpleAggregateFunction(sum, Int64)                                COMMENT 'Prompt tokens written to the cache',
    reasoning_tokens        SimpleAggregateFunction(sum, Int64)                                COMMENT 'Generated tokens spent on reasoning',
    input_audio_tokens      SimpleAggregateFunction(sum, Int64)                                COMMENT 'Prompt tokens that were audio',
    cache_audio_read_tokens SimpleAggregateFunction(sum, Int64)                                COMMENT 'Audio prompt tokens read from the cache',
    output_audio_tokens     SimpleAggregateFunction(sum, Int64)                                COMMENT 'Generated tokens that were audio',
    latency_ms_quantiles    AggregateFunction(quantilesTDigestIf(0.5, 0.95, 0.99), UInt32, UInt8) COMMENT 'Latency p50/p95/p99 state (ms), from the rows written at ingest only: a restatement never changes latency, and counting its rows would count calls twice'
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, environment, team, tenant_id, cost_center, feature, provider, model, pricing_run)
POPULATE
AS SELECT
    toStartOfDay(u.occurred_at) AS hour,
    u.pricing_run AS pricing_run,
    u.tenant_id AS tenant_id,
    u.cost_center AS cost_center,
    u.team AS team,
    u.feature AS feature,
    u.environment AS environment,
    u.provider AS provider,
    u.model AS model,
    toInt64(sum(u.sign)) AS events,
    toInt64(sumIf(u.sign, u.status = 'error')) AS error_events,
    toInt64(sumIf(u.sign, u.cost_status = 'unpriced')) AS unpriced_events,
    sum(u.cost * u.sign) AS cost,
    sum(u.list_cost * u.sign) AS list_cost,
    sum(toInt64(u.input_tokens) * u.sign) AS input_tokens,
    sum(toInt64(u.output_tokens) * u.sign) AS output_tokens,
    sum(toInt64(u.cache_read_tokens) * u.sign) AS cache_read_tokens,
    sum(toInt64(u.cache_write_tokens) * u.sign) AS cache_write_tokens,
    sum(toInt64(u.reasoning_tokens) * u.sign) AS reasoning_tokens,
    sum(toInt64(u.input_audio_tokens) * u.sign) AS input_audio_tokens,
    sum(toInt64(u.cache_audio_read_tokens) * u.sign) AS cache_audio_read_tokens,
    sum(toInt64(u.output_audio_tokens) * u.sign) AS output_audio_tokens,
    quantilesTDigestIfState(0.5, 0.95, 0.99)(assumeNotNull(u.latency_ms), u.pricing_run = 0 AND u.sign = 1 AND u.latency_ms IS NOT NULL) AS latency_ms_quantiles
FROM {db:Identifier}.usage_events_v1 AS u
GROUP BY hour, pricing_run, tenant_id, cost_center, team, feature, environment, provider, model;

CREATE VIEW IF NOT EXISTS {db:Identifier}.usage_daily_owner_costs_v1
COMMENT 'The daily owner rollup in force: committed runs only. Sum its columns (sum(cost), sum(events), ...); merge latency with quantilesTDigestIfMerge(0.5, 0.95, 0.99)(latency_ms_quantiles)'
AS SELECT *
FROM {db:Identifier}.usage_daily_owner_v1
WHERE pricing_run = 0
   OR pricing_run IN (SELECT run_id FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'committed');

-- The FinOps views keep their columns and read the daily rollup: one row per owner and model a day.
CREATE OR REPLACE VIEW {db:Identifier}.v_cost_daily_v1
COMMENT 'Cost per UTC day, owner and model: requests, errors, unpriced requests, effective and list cost (USD), tokens, latency p50/p95 (ms, from calls as ingested)'
AS SELECT
    toDate(hour) AS day,
    tenant_id,
    cost_center,
    team,
    feature,
    environment,
    provider,
    model,
    sum(events) AS requests,
    sum(error_events) AS errors,
    sum(unpriced_events) AS unpriced_requests,
    sum(cost) AS effective_cost,
    sum(list_cost) AS list_cost_usd,
    sum(input_tokens) AS input_token_count,
    sum(output_tokens) AS output_token_count,
    sum(cache_read_tokens) AS cache_read_token_count,
    sum(reasoning_tokens) AS reasoning_token_count,
    quantilesTDigestIfMerge(0.5, 0.95, 0.99)(latency_ms_quantiles)[1] AS latency_p50_ms,
    quantilesTDigestIfMerge(0.5, 0.95, 0.99)(latency_ms_quantiles)[2] AS latency_p95_ms
FROM {db:Identifier}.usage_daily_owner_costs_v1
GROUP BY day, tenant_id, cost_center, team, feature, environment, provider, model
HAVING requests != 0;

CREATE OR REPLACE VIEW {db:Identifier}.v_chargeback_monthly_v1
COMMENT 'Direct cost per UTC calendar month and owner (team, cost center, tenant), before shared-cost allocation (GET /v1/reports/chargeback adds it)'
AS SELECT
    toStartOfMonth(hour) AS month,
    team,
    cost_center,
    tenant_id,
    environment,
    sum(events) AS requests,
    sum(unpriced_events) AS unpriced_requests,
    sum(cost) AS effective_cost,
    sum(list_cost) AS list_cost_usd
FROM {db:Identifier}.usage_daily_owner_costs_v1
GROUP BY month, team, cost_center, tenant_id, environment
HAVING requests != 0;
