-- A read-only ClickHouse user for FinOps analysts, on a ClickHouse server
-- (embedded chDB has no users). Run once as an administrator, after replacing
-- the password and, if needed, the database name (spendline). The user may only
-- read Spendline's database, cannot change settings that lift the limits below,
-- and its queries are bounded so an ad-hoc query cannot starve ingestion.
CREATE USER IF NOT EXISTS spendline_finops IDENTIFIED WITH sha256_password BY 'change-me' SETTINGS readonly = 1, max_execution_time = 60, max_memory_usage = 4000000000, max_result_rows = 1000000, result_overflow_mode = 'throw';
GRANT SELECT ON spendline.* TO spendline_finops;
