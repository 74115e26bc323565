//! Break-glass incidents: a request to activate a break-glass role, its approval by a second
//! principal, the session window it opens, and what was read with the session's credentials.
//! The rules (two people, time boxes, who may do what) are the service's; the store keeps the
//! records and changes a request's state only from the state the caller read (compare-and-set).

use crate::Result;
use crate::records::Millis;
use async_trait::async_trait;

/// One break-glass request and, once approved, its session window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BreakGlassRecord {
    pub request_id: String,
    pub account_id: String,
    pub role_arn: String,
    pub requester_arn: String,
    pub reason: String,
    pub duration_seconds: i64,
    /// `Pending`, `Approved`, `Revoked`.
    pub state: String,
    pub created_at: Millis,
    /// A pending request not approved by then has expired.
    pub request_expires_at: Millis,
    pub approver_arn: Option<String>,
    pub approved_at: Option<Millis>,
    /// End of the session window (approval + duration).
    pub session_expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// When the after-window work (rotations, alerts) was done.
    pub closed_at: Option<Millis>,
}

/// A secret or parameter read with an incident's credentials.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BreakGlassReadRecord {
    pub request_id: String,
    pub resource_arn: String,
    /// `secret` or `parameter`.
    pub kind: String,
    pub first_read_at: Millis,
    pub reads: i64,
    /// `pending`, `rotated`, `manual` (no rotation function: a person must rotate it) or
    /// `failed`.
    pub rotation: String,
    pub rotation_at: Option<Millis>,
}

#[async_trait]
pub trait BreakGlassStore: Send + Sync {
    async fn create_breakglass(&self, r: &BreakGlassRecord) -> Result<()>;
    async fn get_breakglass(&self, request_id: &str) -> Result<Option<BreakGlassRecord>>;
    /// Replace a request's mutable columns if its stored state is still `expected_state`;
    /// `Conflict` otherwise (someone approved or revoked it meanwhile).
    async fn update_breakglass(&self, r: &BreakGlassRecord, expected_state: &str) -> Result<()>;
    /// Approved or revoked requests whose window has ended by `now` and that are not closed.
    async fn ended_breakglass(&self, now: Millis) -> Result<Vec<BreakGlassRecord>>;
    /// Count one read of `resource_arn` under the incident (the first read inserts it).
    async fn record_breakglass_read(
        &self,
        request_id: &str,
        resource_arn: &str,
        kind: &str,
        at: Millis,
    ) -> Result<()>;
    async fn breakglass_reads(&self, request_id: &str) -> Result<Vec<BreakGlassReadRecord>>;
    async fn set_breakglass_rotation(
        &self,
        request_id: &str,
        resource_arn: &str,
        rotation: &str,
        at: Millis,
    ) -> Result<()>;
}
