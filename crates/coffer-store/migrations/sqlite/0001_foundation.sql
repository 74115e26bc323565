-- Foundation schema: deployment metadata, accounts and access keys, KMS keys.
-- Times are unix milliseconds. `row_version` columns carry optimistic concurrency: writers update
-- `WHERE row_version = ?` and bump it, which PostgreSQL can keep identically.

CREATE TABLE meta (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE access_keys (
    access_key_id  TEXT PRIMARY KEY NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts(account_id),
    principal_arn  TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    -- The secret access key, sealed by the master key (it must be recoverable: SigV4 needs it).
    wrapped_secret BLOB NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_at     INTEGER NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys(account_id);

CREATE TABLE kms_keys (
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    key_id               TEXT NOT NULL,
    description          TEXT NOT NULL,
    key_usage            TEXT NOT NULL,
    key_spec             TEXT NOT NULL,
    origin               TEXT NOT NULL,
    key_manager          TEXT NOT NULL CHECK (key_manager IN ('AWS', 'CUSTOMER')),
    multi_region         INTEGER NOT NULL,
    state                TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    deletion_date        INTEGER,
    pending_window_days  INTEGER,
    rotation_enabled     INTEGER NOT NULL,
    rotation_period_days INTEGER,
    next_rotation_at     INTEGER,
    policy               TEXT NOT NULL,
    current_material     INTEGER NOT NULL,
    row_version          INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, key_id),
    FOREIGN KEY (account_id) REFERENCES accounts(account_id)
);

CREATE TABLE kms_key_material (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    -- Sealed by the master key with the key ARN and version as associated data.
    wrapped    BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    on_demand  INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, key_id, version),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);

CREATE TABLE kms_aliases (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    alias_name TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, alias_name),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);
CREATE INDEX kms_aliases_by_key ON kms_aliases(account_id, region, key_id);

CREATE TABLE kms_key_tags (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, region, key_id, tag_key),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);
