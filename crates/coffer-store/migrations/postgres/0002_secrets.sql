-- Secrets Manager: secrets, sealed versions, staging labels (as migrations/sqlite/0002_secrets.sql).
-- A label row is unique per (secret, label): no two versions can hold AWSCURRENT, whichever node
-- writes.

CREATE TABLE sm_secrets (
    arn                 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    account_id          TEXT COLLATE "C" NOT NULL,
    region              TEXT COLLATE "C" NOT NULL,
    name                TEXT COLLATE "C" NOT NULL,
    description         TEXT,
    kms_key_id          TEXT,
    tags                TEXT NOT NULL DEFAULT '[]',
    policy              TEXT,
    owning_service      TEXT,
    primary_region      TEXT,
    replication         TEXT,
    created_at          BIGINT NOT NULL,
    last_changed_at     BIGINT NOT NULL,
    last_accessed_at    BIGINT,
    deleted_at          BIGINT,
    purge_at            BIGINT,
    rotation_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    rotation_lambda_arn TEXT,
    rotation_rules      TEXT,
    last_rotated_at     BIGINT,
    next_rotation_at    BIGINT,
    row_version         BIGINT NOT NULL,
    UNIQUE (account_id, region, name)
);
CREATE INDEX sm_secrets_by_created ON sm_secrets(account_id, region, created_at, arn);
CREATE INDEX sm_secrets_by_changed ON sm_secrets(account_id, region, last_changed_at, arn);
CREATE INDEX sm_secrets_by_accessed ON sm_secrets(account_id, region, (COALESCE(last_accessed_at, 0)), arn);
CREATE INDEX sm_secrets_purge ON sm_secrets(purge_at) WHERE purge_at IS NOT NULL;
CREATE INDEX sm_secrets_rotation ON sm_secrets(next_rotation_at) WHERE next_rotation_at IS NOT NULL;

CREATE TABLE sm_versions (
    secret_arn       TEXT COLLATE "C" NOT NULL REFERENCES sm_secrets(arn) ON DELETE CASCADE,
    version_id       TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    last_accessed_at BIGINT,
    kms_key_arn      TEXT NOT NULL,
    -- The data key as a KMS ciphertext blob, and the value sealed under it. Never plaintext.
    data_key         BYTEA NOT NULL,
    ciphertext       BYTEA NOT NULL,
    is_binary        BOOLEAN NOT NULL,
    PRIMARY KEY (secret_arn, version_id)
);

CREATE TABLE sm_stages (
    secret_arn TEXT COLLATE "C" NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (secret_arn, stage),
    FOREIGN KEY (secret_arn, version_id) REFERENCES sm_versions(secret_arn, version_id) ON DELETE CASCADE
);
CREATE INDEX sm_stages_by_version ON sm_stages(secret_arn, version_id);
