-- The pricing engine's results on every usage row, and the cost ledger that
-- makes repricing safe. usage_events_v1 becomes a ledger: the sink writes one
-- row per event (sign +1, pricing_run 0); a repricing run that changes an
-- event's cost writes a -1 copy of the row in force and a +1 row with the new
-- cost, both under its own run id. A run's rows count only once the run is
-- committed in pricing_runs_v1, so totals move from the old prices to the new
-- ones at one instant. Totals are sums of column × sign over committed rows;
-- the view usage_costs_v1 does the filtering.
ALTER TABLE {db:Identifier}.usage_events_v1
    ADD COLUMN IF NOT EXISTS cache_audio_read_tokens UInt64 DEFAULT 0 COMMENT 'Audio input tokens read from the prompt cache (part of cache_read_tokens and input_audio_tokens)' AFTER input_audio_tokens,
    ADD COLUMN IF NOT EXISTS list_cost Decimal(38, 12) DEFAULT cost COMMENT 'Cost at the catalog list price, in currency (FOCUS ListCost); cost is the effective cost' AFTER cost,
    ADD COLUMN IF NOT EXISTS input_cost Decimal(38, 12) DEFAULT 0 COMMENT 'Part of cost for input-side classes (plain, cached, cache-write and audio input), in currency' AFTER list_cost,
    ADD COLUMN IF NOT EXISTS output_cost Decimal(38, 12) DEFAULT 0 COMMENT 'Part of cost for output-side classes (text with reasoning, audio), in currency' AFTER input_cost,
    ADD COLUMN IF NOT EXISTS cost_breakdown Map(LowCardinality(String), Decimal(38, 12)) COMMENT 'Effective cost per priced class (input, cache_read, cache_write, input_audio, cache_audio_read, output, output_audio, requests), in currency' AFTER output_cost,
    ADD COLUMN IF NOT EXISTS catalog_model LowCardinality(String) DEFAULT '' COMMENT 'Price catalog model the row was priced as; empty when unpriced' AFTER price_version,
    ADD COLUMN IF NOT EXISTS contract_id LowCardinality(String) DEFAULT '' COMMENT 'Contract that set the effective cost, or empty' AFTER catalog_model,
    ADD COLUMN IF NOT EXISTS unpriced_code LowCardinality(String) DEFAULT '' COMMENT 'Why unpriced: unknown_provider, unknown_model, usage_not_extractable, inconsistent_usage, no_price_in_force; empty when priced' AFTER unpriced_reason,
    ADD COLUMN IF NOT EXISTS sign Int8 DEFAULT 1 COMMENT '+1 for a cost in force, -1 for the cancellation of an earlier row of the same event; totals are sum(column * sign)',
    ADD COLUMN IF NOT EXISTS pricing_run UInt64 DEFAULT 0 COMMENT 'Repricing run that wrote the row (pricing_runs_v1); 0 = priced when ingested',
    ADD COLUMN IF NOT EXISTS priced_at DateTime64(3, 'UTC') DEFAULT enriched_at COMMENT 'When this cost was computed (UTC, ms)';

CREATE TABLE IF NOT EXISTS {db:Identifier}.pricing_runs_v1
(
    run_id          UInt64                  COMMENT 'Run number, from 1; 0 is reserved for pricing at ingest',
    status          LowCardinality(String)  COMMENT 'running, committed (its rows count) or abandoned (its rows never count)',
    range_from      DateTime64(3, 'UTC')    COMMENT 'Start of the repriced occurred_at range (inclusive)',
    range_to        DateTime64(3, 'UTC')    COMMENT 'End of the repriced occurred_at range (exclusive)',
    filters         String                  COMMENT 'Provider/model filters of the run, as JSON',
    price_version   LowCardinality(String)  COMMENT 'Catalog (and contracts) version the run priced with',
    events_examined UInt64                  COMMENT 'Events in range the run looked at',
    events_changed  UInt64                  COMMENT 'Events whose cost the run changed',
    started_at      DateTime64(3, 'UTC')    COMMENT 'When the run started',
    updated_at      DateTime64(3, 'UTC')    COMMENT 'When this status was recorded; the latest row per run_id is its state'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY run_id
COMMENT 'Repricing runs; read with FINAL';

CREATE VIEW IF NOT EXISTS {db:Identifier}.usage_costs_v1
COMMENT 'Usage rows in force: committed ledger rows only. Totals: sum(cost * sign), sum(input_tokens * sign), sum(sign) for events'
AS SELECT *
FROM {db:Identifier}.usage_events_v1
WHERE pricing_run = 0
   OR pricing_run IN (SELECT run_id FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'committed');
