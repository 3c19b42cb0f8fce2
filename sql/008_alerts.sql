-- Alerts as the notifier accepted them: one row per state change of an alert
-- (firing, resolved), written once the change has been handed to its channels.
-- The latest row per alert_id is the alert's state; a change already recorded
-- is never notified again, whoever published it and however often.
CREATE TABLE IF NOT EXISTS {db:Identifier}.alert_states_v1
(
    alert_id     String                  COMMENT 'Stable alert identity (budget/<id>/<period>/<type>-<percent>)',
    state        LowCardinality(String)  COMMENT 'firing or resolved',
    kind         LowCardinality(String)  COMMENT 'budget (detectors later)',
    source_id    String                  COMMENT 'Budget (or detector) id',
    severity     LowCardinality(String)  COMMENT 'info, warning or critical',
    period       String                  COMMENT 'Period label, e.g. 2026-11',
    alert        String                  COMMENT 'The alert event as JSON',
    recorded_at  DateTime64(3, 'UTC')    COMMENT 'When the notifier recorded the change'
)
ENGINE = MergeTree
ORDER BY (alert_id, recorded_at)
COMMENT 'Alert state changes; the latest per alert_id is its state';

CREATE TABLE IF NOT EXISTS {db:Identifier}.alert_deliveries_v1
(
    alert_id     String                  COMMENT 'Alert delivered',
    state        LowCardinality(String)  COMMENT 'State delivered: firing or resolved',
    channel      String                  COMMENT 'Channel name from the channels file',
    channel_type LowCardinality(String)  COMMENT 'webhook, slack, pagerduty or alertmanager',
    attempts     UInt8                   COMMENT 'Attempts made',
    outcome      LowCardinality(String)  COMMENT 'delivered or failed',
    status_code  UInt16                  COMMENT 'Last HTTP status, 0 when no answer',
    error        String                  COMMENT 'Last error, or empty',
    delivered_at DateTime64(3, 'UTC')    COMMENT 'When the last attempt ended'
)
ENGINE = MergeTree
ORDER BY (alert_id, delivered_at)
COMMENT 'Delivery log: one row per alert state and channel';
