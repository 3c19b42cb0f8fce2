-- Stable views for FinOps analysts who query ClickHouse directly. Their names and
-- columns are a contract: a later change adds a v2 beside them. All read only
-- rows in force (restated events counted once, at their current cost and owner);
-- money is Decimal(38, 12) USD; empty text means "not attributed".
CREATE VIEW IF NOT EXISTS {db:Identifier}.v_cost_daily_v1
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
FROM {db:Identifier}.usage_hourly_costs_v1
GROUP BY day, tenant_id, cost_center, team, feature, environment, provider, model
HAVING requests != 0;

CREATE VIEW IF NOT EXISTS {db:Identifier}.v_chargeback_monthly_v1
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
FROM {db:Identifier}.usage_hourly_costs_v1
GROUP BY month, team, cost_center, tenant_id, environment
HAVING requests != 0;

CREATE VIEW IF NOT EXISTS {db:Identifier}.v_attribution_daily_v1
COMMENT 'Per UTC day, gateway, team and environment: requests and cost by attribution outcome (complete, fixed_by_rule, defaulted, unattributed; empty = before policies)'
AS SELECT
    toDate(occurred_at) AS day,
    gateway_id,
    team,
    environment,
    attribution_status,
    sum(sign) AS requests,
    sum(cost * sign) AS effective_cost
FROM {db:Identifier}.usage_costs_v1
GROUP BY day, gateway_id, team, environment, attribution_status
HAVING requests != 0;
