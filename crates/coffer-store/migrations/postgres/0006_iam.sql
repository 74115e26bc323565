-- IAM: users, roles and groups (one table, by kind), inline and managed policies with versions
-- and attachments, group membership, OpenID Connect providers. Access keys of users live in
-- `access_keys` with the user's ARN as `principal_arn`.

CREATE TABLE iam_entities (
    account_id           TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    kind                 TEXT COLLATE "C" NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    name                 TEXT COLLATE "C" NOT NULL,
    entity_id            TEXT COLLATE "C" NOT NULL UNIQUE,
    path                 TEXT COLLATE "C" NOT NULL,
    arn                  TEXT COLLATE "C" NOT NULL,
    created_at           BIGINT NOT NULL,
    tags                 TEXT COLLATE "C" NOT NULL,
    trust_policy         TEXT,
    max_session_duration BIGINT,
    description          TEXT,
    -- ARN of the managed policy that bounds the permissions of a user or role.
    permissions_boundary TEXT,
    row_version          BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, name)
);

CREATE TABLE iam_inline_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    owner_kind  TEXT COLLATE "C" NOT NULL,
    owner_name  TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    document    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, owner_kind, owner_name, policy_name),
    FOREIGN KEY (account_id, owner_kind, owner_name) REFERENCES iam_entities(account_id, kind, name) ON DELETE CASCADE
);

CREATE TABLE iam_managed_policies (
    account_id      TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    name            TEXT COLLATE "C" NOT NULL,
    policy_id       TEXT COLLATE "C" NOT NULL UNIQUE,
    path            TEXT COLLATE "C" NOT NULL,
    arn             TEXT COLLATE "C" NOT NULL,
    description     TEXT COLLATE "C" NOT NULL,
    default_version TEXT COLLATE "C" NOT NULL,
    next_version    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    row_version     BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE UNIQUE INDEX iam_managed_policies_by_arn ON iam_managed_policies(account_id, arn);

CREATE TABLE iam_policy_versions (
    account_id  TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    version_id  TEXT COLLATE "C" NOT NULL,
    document    TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, policy_name, version_id),
    FOREIGN KEY (account_id, policy_name) REFERENCES iam_managed_policies(account_id, name) ON DELETE CASCADE
);

CREATE TABLE iam_attachments (
    account_id TEXT COLLATE "C" NOT NULL,
    owner_kind TEXT COLLATE "C" NOT NULL,
    owner_name TEXT COLLATE "C" NOT NULL,
    policy_arn TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, owner_kind, owner_name, policy_arn),
    FOREIGN KEY (account_id, owner_kind, owner_name) REFERENCES iam_entities(account_id, kind, name) ON DELETE CASCADE
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments(account_id, policy_arn);

CREATE TABLE iam_group_members (
    account_id TEXT COLLATE "C" NOT NULL,
    group_name TEXT COLLATE "C" NOT NULL,
    user_name  TEXT COLLATE "C" NOT NULL,
    group_kind TEXT COLLATE "C" NOT NULL DEFAULT 'group' CHECK (group_kind = 'group'),
    user_kind  TEXT COLLATE "C" NOT NULL DEFAULT 'user' CHECK (user_kind = 'user'),
    PRIMARY KEY (account_id, group_name, user_name),
    FOREIGN KEY (account_id, group_kind, group_name) REFERENCES iam_entities(account_id, kind, name) ON DELETE CASCADE,
    FOREIGN KEY (account_id, user_kind, user_name) REFERENCES iam_entities(account_id, kind, name) ON DELETE CASCADE
);
CREATE INDEX iam_group_members_by_user ON iam_group_members(account_id, user_name);

CREATE TABLE iam_oidc_providers (
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
    arn         TEXT COLLATE "C" NOT NULL,
    url         TEXT COLLATE "C" NOT NULL,
    client_ids  TEXT COLLATE "C" NOT NULL,
    thumbprints TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, arn)
);

CREATE INDEX access_keys_by_principal ON access_keys(account_id, principal_arn);
