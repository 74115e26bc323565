-- Foundation schema: deployment metadata, accounts and access keys, KMS keys.
-- The same tables as migrations/sqlite/0001_foundation.sql in PostgreSQL types. Times are unix
-- milliseconds (BIGINT). `row_version` columns carry optimistic concurrency: writers update
-- `WHERE row_version = $n` and bump it.
--
-- Every text column that is ordered, paged over or compared uses COLLATE "C" (byte order), which
-- is what SQLite's BINARY collation does: listings and cursors must page identically on both
-- backends whatever the database's default locale.

CREATE TABLE meta (
    name  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    value BYTEA NOT NULL
);

CREATE TABLE accounts (
    account_id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    account_id     TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    principal_arn  TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    -- The secret access key, sealed by the master key (it must be recoverable: SigV4 needs it).
    wrapped_secret BYTEA NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_at     BIGINT NOT NULL
);
CREATE INDEX access_keys_by_account ON access_keys(account_id);

CREATE TABLE kms_keys (
    account_id           TEXT COLLATE "C" NOT NULL,
    region               TEXT COLLATE "C" NOT NULL,
    key_id               TEXT COLLATE "C" NOT NULL,
    description          TEXT NOT NULL,
    key_usage            TEXT NOT NULL,
    key_spec             TEXT NOT NULL,
    origin               TEXT NOT NULL,
    key_manager          TEXT NOT NULL CHECK (key_manager IN ('AWS', 'CUSTOMER')),
    multi_region         BOOLEAN NOT NULL,
    state                TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    deletion_date        BIGINT,
    pending_window_days  INTEGER,
    rotation_enabled     BOOLEAN NOT NULL,
    rotation_period_days INTEGER,
    next_rotation_at     BIGINT,
    policy               TEXT NOT NULL,
    current_material     BIGINT NOT NULL,
    row_version          BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, key_id),
    FOREIGN KEY (account_id) REFERENCES accounts(account_id)
);

CREATE TABLE kms_key_material (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    key_id     TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    -- Sealed by the master key with the key ARN and version as associated data.
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    on_demand  BOOLEAN NOT NULL,
    PRIMARY KEY (account_id, region, key_id, version),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);

CREATE TABLE kms_aliases (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    alias_name TEXT COLLATE "C" NOT NULL,
    key_id     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, alias_name),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);
CREATE INDEX kms_aliases_by_key ON kms_aliases(account_id, region, key_id);

CREATE TABLE kms_key_tags (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    key_id     TEXT COLLATE "C" NOT NULL,
    tag_key    TEXT COLLATE "C" NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, region, key_id, tag_key),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);
