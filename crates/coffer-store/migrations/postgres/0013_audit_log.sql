-- The audit trail as an append-first log (as migrations/sqlite/0013_audit_log.sql): one row per
-- group commit, LookupEvents' posting lists built behind it.

CREATE TABLE audit_log (
    last_seq  BIGINT PRIMARY KEY NOT NULL,
    first_seq BIGINT NOT NULL,
    min_time  BIGINT NOT NULL,
    max_time  BIGINT NOT NULL,
    prev_hash BYTEA NOT NULL,
    keys      TEXT NOT NULL,
    records   TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log(min_time);

CREATE TABLE audit_postings (
    key       TEXT COLLATE "C" NOT NULL,
    last_seq  BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    min_time  BIGINT NOT NULL,
    max_time  BIGINT NOT NULL,
    seqs      TEXT NOT NULL,
    PRIMARY KEY (key, last_seq)
);

CREATE TABLE audit_index_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO audit_index_head (id, seq) VALUES (1, 0);

-- PutSecretValue prunes versions past AWS's limit with one query that first asks for the secret's
-- oldest version: one probe of this index while no version is old enough to go.
CREATE INDEX sm_versions_by_age ON sm_versions(secret_arn, created_at);
