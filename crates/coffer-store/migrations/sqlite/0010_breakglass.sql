-- Break-glass incidents: a request to activate a break-glass role, its approval by a second
-- principal, the session window, and what was read with the session's credentials (each read
-- secret is rotated, or listed for manual rotation, once the window ends).
CREATE TABLE breakglass_requests (
    request_id         TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL,
    role_arn           TEXT NOT NULL,
    requester_arn      TEXT NOT NULL,
    reason             TEXT NOT NULL,
    duration_seconds   INTEGER NOT NULL,
    state              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    request_expires_at INTEGER NOT NULL,
    approver_arn       TEXT,
    approved_at        INTEGER,
    session_expires_at INTEGER,
    revoked_at         INTEGER,
    closed_at          INTEGER,
    FOREIGN KEY (account_id) REFERENCES accounts(account_id)
);
CREATE INDEX breakglass_open ON breakglass_requests(state, session_expires_at);

CREATE TABLE breakglass_reads (
    request_id     TEXT NOT NULL,
    resource_arn   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    first_read_at  INTEGER NOT NULL,
    reads          INTEGER NOT NULL,
    rotation       TEXT NOT NULL,
    rotation_at    INTEGER,
    PRIMARY KEY (request_id, resource_arn),
    FOREIGN KEY (request_id) REFERENCES breakglass_requests(request_id) ON DELETE CASCADE
);
