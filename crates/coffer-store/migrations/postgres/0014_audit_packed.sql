-- Audit batches packed (as migrations/sqlite/0014_audit_packed.sql): zstd of the batch's JSON
-- lines in `packed`, `records` empty; rows written before keep their text.
ALTER TABLE audit_log ADD COLUMN packed BYTEA;
