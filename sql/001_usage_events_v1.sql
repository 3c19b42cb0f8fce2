-- One row per usage event, exactly once per event_id (the sink checks the
-- by_event_id projection before inserting). Money is Decimal(38, 12): exact,
-- in units of the currency column. Absent text attributes are stored as ''.
CREATE TABLE IF NOT EXISTS {db:Identifier}.usage_events_v1
(
    event_id            String                                  COMMENT 'Idempotency key chosen by the sender',
    occurred_at         DateTime64(3, 'UTC')                    COMMENT 'When the model call started (UTC, ms)',
    received_at         DateTime64(3, 'UTC')                    COMMENT 'When Spendline took the event in (Kafka timestamp of the raw message)',
    enriched_at         DateTime64(3, 'UTC')                    COMMENT 'When the enricher priced the event',
    inserted_at         DateTime64(3, 'UTC') DEFAULT now64(3)   COMMENT 'When the sink wrote the row',
    provider            LowCardinality(String)                  COMMENT 'Serving provider, lower case',
    model               LowCardinality(String)                  COMMENT 'Served model id',
    api_flavor          LowCardinality(String)                  COMMENT 'Provider API shape (openai.chat, anthropic.messages, ...), or empty',
    operation           LowCardinality(String)                  COMMENT 'chat, embedding, image, audio or other',
    input_tokens        UInt64                                  COMMENT 'All prompt tokens, cached and audio included',
    output_tokens       UInt64                                  COMMENT 'All generated tokens, reasoning and audio included',
    cache_read_tokens   UInt64                                  COMMENT 'Part of input_tokens read from the prompt cache',
    cache_write_tokens  UInt64                                  COMMENT 'Part of input_tokens written to the prompt cache',
    reasoning_tokens    UInt64                                  COMMENT 'Part of output_tokens spent on reasoning',
    input_audio_tokens  UInt64                                  COMMENT 'Part of input_tokens that was audio',
    output_audio_tokens UInt64                                  COMMENT 'Part of output_tokens that was audio',
    provider_usage      String                                  COMMENT 'Provider usage object as JSON text, or empty',
    latency_ms          Nullable(UInt32)                        COMMENT 'Whole-call latency in ms, NULL when not reported',
    ttft_ms             Nullable(UInt32)                        COMMENT 'Time to first token in ms, NULL when not reported',
    status              LowCardinality(String)                  COMMENT 'ok or error',
    error_code          LowCardinality(String)                  COMMENT 'Error code when status is error, or empty',
    team                LowCardinality(String)                  COMMENT 'Owning team, or empty when unattributed',
    feature             LowCardinality(String)                  COMMENT 'Product feature, or empty',
    environment         LowCardinality(String)                  COMMENT 'Deployment environment, or empty',
    user_id             String                                  COMMENT 'End-user id, or empty',
    session_id          String                                  COMMENT 'Session id, or empty',
    agent_run_id        String                                  COMMENT 'Agent run id, or empty',
    api_key_id          String                                  COMMENT 'API key id (never the secret), or empty',
    tags                Map(LowCardinality(String), String)     COMMENT 'Free-form tags',
    gateway_id          LowCardinality(String)                  COMMENT 'Emitting gateway, or empty',
    reported_cost       Nullable(Decimal(38, 12))               COMMENT 'What the gateway thought the call cost (USD), NULL when not reported',
    cost                Decimal(38, 12)                         COMMENT 'Cost Spendline computed, in currency; 0 when unpriced',
    currency            LowCardinality(String)                  COMMENT 'ISO 4217 code of cost',
    cost_status         LowCardinality(String)                  COMMENT 'priced or unpriced',
    unpriced_reason     String                                  COMMENT 'Why the event is unpriced, or empty',
    price_version       LowCardinality(String)                  COMMENT 'Price table that produced cost',
    source_partition    UInt32                                  COMMENT 'Partition of usage.enriched.v1 the row came from (lineage)',
    source_offset       UInt64                                  COMMENT 'Offset in that partition (lineage)',
    PROJECTION by_event_id (SELECT event_id ORDER BY event_id)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toStartOfHour(occurred_at), environment, team, model, event_id)
COMMENT 'Priced, attributed usage events; one row per event_id';
