-- SSM Parameter Store (as migrations/sqlite/0003_parameters.sql): parameters, their versions,
-- labels, tier counts, service settings and resource policies.
--
-- `name_key` is the parameter's name without its leading '/', so `/db` and `db` (one ARN,
-- `parameter/db`) are one parameter. It is compared bytewise (COLLATE "C", as SQLite's BINARY):
-- path listings are range scans over it. `parent` is the key's hierarchy above the last '/'
-- ('' at the top level), so a one-level listing is an indexed equality scan.

CREATE TABLE ssm_parameters (
    account_id         TEXT COLLATE "C" NOT NULL,
    region             TEXT COLLATE "C" NOT NULL,
    name_key           TEXT COLLATE "C" NOT NULL,
    parent             TEXT COLLATE "C" NOT NULL,
    name               TEXT NOT NULL,
    param_type         TEXT NOT NULL,
    tier               TEXT NOT NULL,
    data_type          TEXT NOT NULL,
    key_id             TEXT,
    description        TEXT,
    allowed_pattern    TEXT,
    policies           TEXT,
    version            BIGINT NOT NULL,
    last_modified_at   BIGINT NOT NULL,
    last_modified_user TEXT NOT NULL,
    tags               TEXT NOT NULL DEFAULT '[]',
    expires_at         BIGINT,
    next_event_at      BIGINT,
    row_version        BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name_key)
);
CREATE INDEX ssm_parameters_by_parent ON ssm_parameters(account_id, region, parent, name_key);
CREATE INDEX ssm_parameters_due ON ssm_parameters(next_event_at) WHERE next_event_at IS NOT NULL;

CREATE TABLE ssm_versions (
    account_id         TEXT COLLATE "C" NOT NULL,
    region             TEXT COLLATE "C" NOT NULL,
    name_key           TEXT COLLATE "C" NOT NULL,
    version            BIGINT NOT NULL,
    param_type         TEXT NOT NULL,
    tier               TEXT NOT NULL,
    data_type          TEXT NOT NULL,
    key_id             TEXT,
    description        TEXT,
    allowed_pattern    TEXT,
    policies           TEXT,
    last_modified_at   BIGINT NOT NULL,
    last_modified_user TEXT NOT NULL,
    -- String and StringList values, unencrypted at the application level as on AWS.
    plain_value        TEXT,
    -- SecureString: the KMS key that wrapped the data key, the data key as a KMS ciphertext blob,
    -- and the value sealed under it. Never plaintext.
    key_arn            TEXT,
    data_key           BYTEA,
    ciphertext         BYTEA,
    PRIMARY KEY (account_id, region, name_key, version),
    FOREIGN KEY (account_id, region, name_key)
        REFERENCES ssm_parameters(account_id, region, name_key) ON DELETE CASCADE
);

-- A label names one version of one parameter: unique per (parameter, label).
CREATE TABLE ssm_labels (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    name_key   TEXT COLLATE "C" NOT NULL,
    label      TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name_key, label),
    FOREIGN KEY (account_id, region, name_key, version)
        REFERENCES ssm_versions(account_id, region, name_key, version) ON DELETE CASCADE
);
CREATE INDEX ssm_labels_by_version ON ssm_labels(account_id, region, name_key, version);

-- How many parameters each tier holds per account and region: the quota check is one row, and
-- its upsert's row lock serialises concurrent creators across nodes.
CREATE TABLE ssm_tier_counts (
    account_id TEXT COLLATE "C" NOT NULL,
    region     TEXT COLLATE "C" NOT NULL,
    tier       TEXT COLLATE "C" NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, tier)
);

CREATE TABLE ssm_service_settings (
    account_id         TEXT COLLATE "C" NOT NULL,
    region             TEXT COLLATE "C" NOT NULL,
    setting_id         TEXT COLLATE "C" NOT NULL,
    value              TEXT NOT NULL,
    last_modified_at   BIGINT NOT NULL,
    last_modified_user TEXT NOT NULL,
    PRIMARY KEY (account_id, region, setting_id)
);

CREATE TABLE ssm_resource_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    name_key    TEXT COLLATE "C" NOT NULL,
    policy_id   TEXT COLLATE "C" NOT NULL,
    policy_hash TEXT NOT NULL,
    policy      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name_key, policy_id),
    FOREIGN KEY (account_id, region, name_key)
        REFERENCES ssm_parameters(account_id, region, name_key) ON DELETE CASCADE
);
