-- Replication (Secrets Manager replicas, KMS multi-Region keys).
-- A primary secret with replicas to bring up to date: when the replicator should next look at it
-- (set by every change to the primary, pushed back on failure). NULL: nothing to do.
ALTER TABLE sm_secrets ADD COLUMN replication_due_at BIGINT;
CREATE INDEX sm_secrets_replication_due ON sm_secrets(replication_due_at) WHERE replication_due_at IS NOT NULL;
-- A multi-Region key's primary Region (NULL: the key is its own primary, or not multi-Region).
-- Every related key (same account and mrk- id, one per Region) names the same primary.
ALTER TABLE kms_keys ADD COLUMN mrk_primary_region TEXT;
