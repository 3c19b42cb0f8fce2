-- Trace context: the OpenTelemetry trace and span of a call, so a FinOps query
-- can join spend to traces, and so the same call arriving by two paths (an
-- OTLP span and a gateway callback, say) is one event: such an event's
-- event_id is span-<trace_id>-<span_id> (see schemas/usage-event-v1.avsc).
ALTER TABLE {db:Identifier}.usage_events_v1
    ADD COLUMN IF NOT EXISTS trace_id String DEFAULT '' COMMENT 'OpenTelemetry trace id (32 lower-case hex digits), or empty' AFTER gateway_id,
    ADD COLUMN IF NOT EXISTS span_id String DEFAULT '' COMMENT 'OpenTelemetry span id (16 lower-case hex digits), or empty' AFTER trace_id;

-- A view's columns are fixed when it is created: recreate it so it shows the new ones.
CREATE OR REPLACE VIEW {db:Identifier}.usage_costs_v1
COMMENT 'Usage rows in force: committed ledger rows only. Totals: sum(cost * sign), sum(input_tokens * sign), sum(sign) for events'
AS SELECT *
FROM {db:Identifier}.usage_events_v1
WHERE pricing_run = 0
   OR pricing_run IN (SELECT run_id FROM {db:Identifier}.pricing_runs_v1 FINAL WHERE status = 'committed');
