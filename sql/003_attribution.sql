-- Attribution: the two dimensions events gained (tenant, cost center) and how
-- the attribution policy resolved each row. team, feature, environment, ... hold
-- the resolved values; attribution_lineage records every change the policy
-- made, so the values as received are the lineage undone and a later policy
-- can restate them (a re-attribution run, recorded in pricing_runs_v1 beside
-- repricing runs: both are restatements of the same ledger).
ALTER TABLE {db:Identifier}.usage_events_v1
    ADD COLUMN IF NOT EXISTS tenant_id LowCardinality(String) DEFAULT '' COMMENT 'Customer the call was made for (SaaS chargeback), or empty' AFTER error_code,
    ADD COLUMN IF NOT EXISTS cost_center LowCardinality(String) DEFAULT '' COMMENT 'Finance cost center that pays, or empty' AFTER tenant_id,
    ADD COLUMN IF NOT EXISTS attribution_status LowCardinality(String) DEFAULT '' COMMENT 'complete (arrived with every mandatory dimension), fixed_by_rule, defaulted, unattributed; empty for rows stored before attribution policies' AFTER gateway_id,
    ADD COLUMN IF NOT EXISTS attribution_missing Array(LowCardinality(String)) COMMENT 'Mandatory dimensions that arrived absent and no rule filled (before any default)' AFTER attribution_status,
    ADD COLUMN IF NOT EXISTS attribution_requirement LowCardinality(String) DEFAULT '' COMMENT 'Policy requirement that named the mandatory dimensions, or empty' AFTER attribution_missing,
    ADD COLUMN IF NOT EXISTS attribution_rules Array(LowCardinality(String)) COMMENT 'Rules that changed the row, in order, once each (normalize, api_key:<id>, rule:<id>, default:<id>)' AFTER attribution_requirement,
    ADD COLUMN IF NOT EXISTS attribution_lineage String DEFAULT '[]' COMMENT 'Every change the policy made, as a JSON array of {rule, dimension, from, to}' AFTER attribution_rules,
    ADD COLUMN IF NOT EXISTS attribution_policy LowCardinality(String) DEFAULT '' COMMENT 'Version of the attribution policy that resolved the row' AFTER attribution_lineage;

ALTER TABLE {db:Identifier}.pricing_runs_v1
    ADD COLUMN IF NOT EXISTS kind LowCardinality(String) DEFAULT 'reprice' COMMENT 'reprice (new prices) or reattribute (new attribution policy; events whose owner changed are priced again)' AFTER run_id,
    ADD COLUMN IF NOT EXISTS policy_version LowCardinality(String) DEFAULT '' COMMENT 'Attribution policy version of a reattribute run' AFTER price_version;

-- A view's columns are fixed when it is created: recreate it so it shows the new ones.
CREATE OR REPLACE VIEW {db:Identifier}.usage_costs_v1
COMMENT 'Usage rows in force: committed ledger rows only. Totals: sum(cost * sign), sum(input_tokens * sign), sum(sign) for events'
AS SELECT *
FROM {db:Identifier}.usage_events_v1
WHERE pricing_run = 0
   OR pricing_run IN (SELECT run_id FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'committed');
