-- The audit trail (as migrations/sqlite/0005_audit.sql). Appends lock the one audit_head row, so
-- every node extends a single, totally ordered chain.

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_events (
    seq           BIGINT PRIMARY KEY NOT NULL,
    event_id      TEXT COLLATE "C" NOT NULL UNIQUE,
    event_time    BIGINT NOT NULL,
    account_id    TEXT COLLATE "C" NOT NULL,
    event_source  TEXT COLLATE "C" NOT NULL,
    event_name    TEXT COLLATE "C" NOT NULL,
    read_only     BOOLEAN NOT NULL,
    username      TEXT COLLATE "C",
    access_key_id TEXT COLLATE "C",
    event_json    TEXT NOT NULL,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL
);
CREATE INDEX audit_by_account ON audit_events(account_id, seq);
CREATE INDEX audit_by_name ON audit_events(account_id, event_name, seq);
CREATE INDEX audit_by_user ON audit_events(account_id, username, seq);
CREATE INDEX audit_by_key ON audit_events(account_id, access_key_id, seq);

CREATE TABLE audit_resources (
    id            BIGSERIAL PRIMARY KEY,
    seq           BIGINT NOT NULL REFERENCES audit_events(seq),
    resource_type TEXT COLLATE "C" NOT NULL,
    resource_name TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_resources_by_name ON audit_resources(resource_name, seq);
CREATE INDEX audit_resources_by_type ON audit_resources(resource_type, seq);
CREATE INDEX audit_resources_by_seq ON audit_resources(seq);

CREATE TABLE audit_digests (
    seq       BIGINT PRIMARY KEY NOT NULL,
    hash      BYTEA NOT NULL,
    time      BIGINT NOT NULL,
    signature BYTEA NOT NULL
);
