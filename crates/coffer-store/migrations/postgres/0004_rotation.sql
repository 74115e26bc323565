-- Secrets Manager rotation (as migrations/sqlite/0004_rotation.sql).
--
-- sm_rotations: the rotation in progress of a secret, at most one (the primary key): its
-- ClientRequestToken, the next step to run, the attempts so far and when the next may start
-- (a lease while a step runs, the backoff after a failure). Starting a rotation inserts the row in
-- the transaction that checks the secret's row_version; completing or cancelling it deletes the
-- row in the transaction that writes LastRotatedDate/NextRotationDate, so a rotation is never
-- started twice for one due date, across restarts and across nodes.
CREATE TABLE sm_rotations (
    secret_arn      TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES sm_secrets(arn) ON DELETE CASCADE,
    token           TEXT NOT NULL,
    function_arn    TEXT NOT NULL,
    step            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    started_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    row_version     BIGINT NOT NULL
);
CREATE INDEX sm_rotations_due ON sm_rotations(next_attempt_at);

-- What happened to each rotation, step by step (newest kept; never secret values).
CREATE TABLE sm_rotation_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    secret_arn TEXT COLLATE "C" NOT NULL REFERENCES sm_secrets(arn) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    token      TEXT NOT NULL,
    step       TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    message    TEXT
);
CREATE INDEX sm_rotation_events_by_secret ON sm_rotation_events(secret_arn, id);

-- Rotation functions reached over HTTP, per account and region, by the function name of the
-- RotationLambdaARN. The HMAC signing key is sealed with the master key.
CREATE TABLE sm_rotation_functions (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    url         TEXT NOT NULL,
    timeout_ms  BIGINT NOT NULL,
    signing_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
