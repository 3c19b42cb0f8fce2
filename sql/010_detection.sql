-- Anomaly and drift detection: what the detectors have learnt, and what
-- on-call people did about their alerts.
--
-- detector_state_v1: one row per detector series (a metric of a scope at a
-- resolution) and its learnt baseline as JSON, written as the detectors run;
-- the latest row per key is the state a restart resumes from, so baselines
-- survive restarts and an incident already alerted is not alerted again.
CREATE TABLE IF NOT EXISTS {db:Identifier}.detector_state_v1
(
    detector_key  String                  COMMENT 'Series identity: resolution/kind/scope/metric, e.g. minute/anomaly/team=search/cost',
    state         String                  COMMENT 'Learnt state as JSON (baselines, streaming detector, open incident)',
    last_bucket   DateTime64(3, 'UTC')    COMMENT 'Start of the last bucket learnt',
    updated_at    DateTime64(3, 'UTC')    COMMENT 'When the state was written; the latest per key is in force'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY detector_key
TTL toDateTime(updated_at) + INTERVAL 30 DAY
COMMENT 'Detector baselines and state; read with FINAL (or argMax by updated_at). A series not written for 30 days (no longer among the busiest) is dropped';

-- Silences: alerts whose scope matches are recorded but nobody is told, until ends_at.
CREATE TABLE IF NOT EXISTS {db:Identifier}.alert_silences_v1
(
    silence_id    String                  COMMENT 'Silence id',
    scope         Map(String, String)     COMMENT 'Dimension → value an alert scope must have to be silenced (all must match)',
    kinds         Array(String)           COMMENT 'Alert kinds silenced (budget, anomaly, runaway, ...); empty: every kind',
    starts_at     DateTime64(3, 'UTC')    COMMENT 'From',
    ends_at       DateTime64(3, 'UTC')    COMMENT 'Until (exclusive)',
    reason        String                  COMMENT 'Why, in words',
    created_by    String                  COMMENT 'Who silenced (token fingerprint)',
    created_at    DateTime64(3, 'UTC')    COMMENT 'When',
    cancelled_at  Nullable(DateTime64(3, 'UTC')) COMMENT 'When it was lifted early, or NULL',
    cancelled_by  String                  COMMENT 'Who lifted it early (token fingerprint), or empty',
    updated_at    DateTime64(3, 'UTC')    COMMENT 'Version: the latest row per silence_id is in force'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY silence_id
COMMENT 'Alert silences; read with FINAL';

-- Acknowledgements: someone is on it.
CREATE TABLE IF NOT EXISTS {db:Identifier}.alert_acks_v1
(
    alert_id         String               COMMENT 'Alert acknowledged',
    acknowledged_by  String               COMMENT 'Who (token fingerprint)',
    note             String               COMMENT 'What they said',
    acknowledged_at  DateTime64(3, 'UTC') COMMENT 'When'
)
ENGINE = MergeTree
ORDER BY (alert_id, acknowledged_at)
COMMENT 'Alert acknowledgements, one row per acknowledgement';
