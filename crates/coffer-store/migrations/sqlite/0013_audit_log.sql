-- The audit trail as an append-first log (issue 18): a group commit writes its batch of records as
-- ONE row (`records`: one JSON line per record), so a commit appends a few sequential pages
-- instead of a row plus nine index entries per record. LookupEvents' index is built behind the
-- log, many batches at a time, as posting lists; lookups read the not-yet-indexed tail of the
-- log directly. Records of `audit_events`/`audit_resources` are moved into the log when the
-- store opens (coffer_store::audit_sql, `convert_legacy_audit`).

CREATE TABLE audit_log (
    last_seq  INTEGER PRIMARY KEY NOT NULL,
    first_seq INTEGER NOT NULL,
    min_time  INTEGER NOT NULL,
    max_time  INTEGER NOT NULL,
    prev_hash BLOB NOT NULL,
    keys      TEXT NOT NULL,
    records   TEXT NOT NULL
);
-- Event ids are UUIDv7: a lookup by id finds its batch by time.
CREATE INDEX audit_log_by_time ON audit_log(min_time);

CREATE TABLE audit_postings (
    key       TEXT NOT NULL,
    last_seq  INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    min_time  INTEGER NOT NULL,
    max_time  INTEGER NOT NULL,
    seqs      TEXT NOT NULL,
    PRIMARY KEY (key, last_seq)
) WITHOUT ROWID;

-- The last record the postings cover.
CREATE TABLE audit_index_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO audit_index_head (id, seq) VALUES (1, 0);

-- PutSecretValue prunes versions past AWS's limit with one query that first asks for the secret's
-- oldest version: one probe of this index while no version is old enough to go.
CREATE INDEX sm_versions_by_age ON sm_versions(secret_arn, created_at);
