-- Gateway API keys: what a team's caller presents to the gateway, mapped to the
-- owner its calls are attributed to and the limits they run under. Only the
-- SHA-256 of a key's secret part is stored; the secret itself is shown once,
-- when the key is issued, and is nowhere else. Each change (issue, revoke)
-- writes a new version of the key's row; the latest per key_id is in force.
CREATE TABLE IF NOT EXISTS {db:Identifier}.gateway_keys_v1
(
    key_id               String                          COMMENT 'Public key id: the 12 lower-case base32 characters after slk_ in the key; safe to log and show',
    secret_sha256        String                          COMMENT 'Lower-case hex SHA-256 of the key''s secret part (the text after slk_<key_id>_); never the secret',
    name                 String                          COMMENT 'What the key is for, in words, as given when issued',
    team                 String                          COMMENT 'Owner: team the calls made with the key are attributed to (always set)',
    feature              String                          COMMENT 'Owner: feature the calls are attributed to; empty when unset',
    environment          String                          COMMENT 'Owner: environment (prod, staging, ...) the calls are attributed to; empty when unset',
    tenant_id            String                          COMMENT 'Owner: customer tenant the calls are attributed to; empty when unset',
    cost_center          String                          COMMENT 'Owner: cost center the calls are charged to; empty when unset',
    user_id              String                          COMMENT 'Owner: user the calls are attributed to; empty when unset',
    allowed_models       Array(String)                   COMMENT 'Model names the key may call, as callers name them; empty: any model',
    requests_per_minute  UInt32                          COMMENT 'Most calls per minute the key may make; 0: unlimited',
    tokens_per_minute    UInt64                          COMMENT 'Most tokens (input plus output) per minute the key may use; 0: unlimited',
    created_at           DateTime64(3, 'UTC')            COMMENT 'When the key was issued',
    created_by           String                          COMMENT 'Who issued it: the caller''s declared name and admin token fingerprint',
    revoked_at           Nullable(DateTime64(3, 'UTC'))  COMMENT 'When the key was revoked, or NULL while it is valid',
    revoked_by           String                          COMMENT 'Who revoked it (declared name and token fingerprint); empty while it is valid',
    updated_at           DateTime64(3, 'UTC')            COMMENT 'Version: the row with the latest updated_at per key_id is in force'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key_id
COMMENT 'Gateway API keys, stored hashed, with owner and limits; read with FINAL';
