-- The audit trail: one hash chain of CloudTrail-style records, resources for lookups, digests.

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE audit_events (
    seq           INTEGER PRIMARY KEY NOT NULL,
    event_id      TEXT NOT NULL UNIQUE,
    event_time    INTEGER NOT NULL,
    account_id    TEXT NOT NULL,
    event_source  TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    read_only     INTEGER NOT NULL,
    username      TEXT,
    access_key_id TEXT,
    event_json    TEXT NOT NULL,
    prev_hash     BLOB NOT NULL,
    hash          BLOB NOT NULL
);
CREATE INDEX audit_by_account ON audit_events(account_id, seq);
CREATE INDEX audit_by_name ON audit_events(account_id, event_name, seq);
CREATE INDEX audit_by_user ON audit_events(account_id, username, seq);
CREATE INDEX audit_by_key ON audit_events(account_id, access_key_id, seq);

CREATE TABLE audit_resources (
    seq           INTEGER NOT NULL REFERENCES audit_events(seq),
    resource_type TEXT NOT NULL,
    resource_name TEXT NOT NULL
);
CREATE INDEX audit_resources_by_name ON audit_resources(resource_name, seq);
CREATE INDEX audit_resources_by_type ON audit_resources(resource_type, seq);
CREATE INDEX audit_resources_by_seq ON audit_resources(seq);

CREATE TABLE audit_digests (
    seq       INTEGER PRIMARY KEY NOT NULL,
    hash      BLOB NOT NULL,
    time      INTEGER NOT NULL,
    signature BLOB NOT NULL
);
