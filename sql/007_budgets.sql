-- Budgets, durable and auditable: every version of every budget is a row, never
-- updated or deleted, so the table is both the state (the latest version of
-- each budget that is not deleted) and the history of who changed what, when.
CREATE TABLE IF NOT EXISTS {db:Identifier}.budget_versions_v1
(
    budget_id   String                  COMMENT 'Budget id (lower-case slug)',
    version     UInt32                  COMMENT 'Version number, from 1; the highest is in force',
    action      LowCardinality(String)  COMMENT 'created, updated or deleted',
    definition  String                  COMMENT 'The budget as JSON (empty when deleted)',
    actor       String                  COMMENT 'Who made the change: the caller''s declared name and token fingerprint, or config-file',
    changed_at  DateTime64(3, 'UTC')    COMMENT 'When the change was recorded'
)
ENGINE = MergeTree
ORDER BY (budget_id, version)
COMMENT 'Every version of every budget; the latest per budget_id is in force unless its action is deleted';
