-- Secrets Manager: secrets, sealed versions, staging labels.
-- A label row is unique per (secret, label): no two versions can hold AWSCURRENT.

CREATE TABLE sm_secrets (
    arn                 TEXT PRIMARY KEY NOT NULL,
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT,
    kms_key_id          TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    policy              TEXT,
    owning_service      TEXT,
    primary_region      TEXT,
    replication         TEXT,
    created_at          INTEGER NOT NULL,
    last_changed_at     INTEGER NOT NULL,
    last_accessed_at    INTEGER,
    deleted_at          INTEGER,
    purge_at            INTEGER,
    rotation_enabled    INTEGER NOT NULL DEFAULT 0,
    rotation_lambda_arn TEXT,
    rotation_rules      TEXT,
    last_rotated_at     INTEGER,
    next_rotation_at    INTEGER,
    row_version         INTEGER NOT NULL,
    UNIQUE (account_id, region, name)
);
CREATE INDEX sm_secrets_by_created ON sm_secrets(account_id, region, created_at, arn);
CREATE INDEX sm_secrets_by_changed ON sm_secrets(account_id, region, last_changed_at, arn);
CREATE INDEX sm_secrets_by_accessed ON sm_secrets(account_id, region, COALESCE(last_accessed_at, 0), arn);
CREATE INDEX sm_secrets_purge ON sm_secrets(purge_at) WHERE purge_at IS NOT NULL;
CREATE INDEX sm_secrets_rotation ON sm_secrets(next_rotation_at) WHERE next_rotation_at IS NOT NULL;

CREATE TABLE sm_versions (
    secret_arn       TEXT NOT NULL REFERENCES sm_secrets(arn) ON DELETE CASCADE,
    version_id       TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_accessed_at INTEGER,
    kms_key_arn      TEXT NOT NULL,
    -- The data key as a KMS ciphertext blob, and the value sealed under it. Never plaintext.
    data_key         BLOB NOT NULL,
    ciphertext       BLOB NOT NULL,
    is_binary        INTEGER NOT NULL,
    PRIMARY KEY (secret_arn, version_id)
);

CREATE TABLE sm_stages (
    secret_arn TEXT NOT NULL,
    stage      TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES sm_versions(secret_arn, version_id) ON DELETE CASCADE
);
CREATE INDEX sm_stages_by_version ON sm_stages(secret_arn, version_id);
