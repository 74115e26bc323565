-- KMS grants (CreateGrant, ListGrants, RetireGrant, RevokeGrant). A grant belongs to its key and
-- goes with it. `operations` is a JSON array of GrantOperation names; `constraints` the JSON of
-- AWS's GrantConstraints shape, or NULL. Listings go in creation order (created_at, then grant_id).
-- <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>
CREATE TABLE kms_grants (
    account_id         TEXT NOT NULL,
    region             TEXT NOT NULL,
    key_id             TEXT NOT NULL,
    grant_id           TEXT NOT NULL,
    name               TEXT NOT NULL,
    grantee_principal  TEXT NOT NULL,
    retiring_principal TEXT,
    operations         TEXT NOT NULL,
    constraints        TEXT,
    issuing_account    TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, key_id, grant_id),
    FOREIGN KEY (account_id, region, key_id) REFERENCES kms_keys(account_id, region, key_id) ON DELETE CASCADE
);
CREATE INDEX kms_grants_by_key ON kms_grants(account_id, region, key_id, created_at, grant_id);
CREATE INDEX kms_grants_by_retiring ON kms_grants(region, retiring_principal, created_at, grant_id);
