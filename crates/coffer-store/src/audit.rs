//! The audit trail: CloudTrail-style records in one hash chain, signed digests, and the lookups
//! LookupEvents needs.
//!
//! The chain is global to the store: appends take the chain head under a lock (SQLite's write
//! lock; PostgreSQL's row lock on `audit_head`), so several nodes sharing a database still form a
//! single, totally ordered chain. Each append is one row of an append-only log; LookupEvents'
//! index is built behind it (`crate::audit_log`).

use crate::Result;
use crate::records::Millis;
use async_trait::async_trait;

/// A resource an event touched, as LookupEvents reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResource {
    pub resource_type: String,
    pub name: String,
}

/// An event to append. Fields duplicate parts of `event_json` so lookups need not parse it;
/// `coffer audit verify` checks they agree with it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NewAuditEvent {
    pub event_id: String,
    pub event_time: Millis,
    /// Empty when the caller could not be identified.
    pub account_id: String,
    pub event_source: String,
    pub event_name: String,
    pub read_only: bool,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    /// Not a column of the tables the trail used before its log (`audit_resources` held them).
    #[sqlx(skip)]
    pub resources: Vec<AuditResource>,
    /// The full CloudTrail record (JSON), already free of secret values.
    pub event_json: String,
}

/// A stored event with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    #[sqlx(flatten)]
    pub event: NewAuditEvent,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// A signed statement that the chain reached `seq` with `hash` at `time`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditDigest {
    pub seq: i64,
    pub hash: Vec<u8>,
    pub time: Millis,
    pub signature: Vec<u8>,
}

/// LookupEvents' one lookup attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditAttribute {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

/// One page of an account's events, newest first.
#[derive(Debug, Clone)]
pub struct AuditQuery<'a> {
    pub account_id: &'a str,
    pub start: Option<Millis>,
    pub end: Option<Millis>,
    pub attribute: Option<&'a AuditAttribute>,
    /// Only events older than this sequence number (the page cursor).
    pub before_seq: Option<i64>,
    pub limit: usize,
}

/// Computes a record's chain hash from the previous hash, its sequence number and its JSON.
pub type ChainLink = dyn Fn(&[u8], i64, &[u8]) -> Vec<u8> + Send + Sync;

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append `events` at the head of the chain in one transaction (one fsync for the batch).
    /// Returns the sequence numbers given to them.
    async fn append_audit(&self, events: &[NewAuditEvent], link: &ChainLink) -> Result<Vec<i64>>;
    /// Build LookupEvents' index over the records appended since the last run (a bounded number
    /// of batches per call). Lookups are complete without it; it keeps them fast. Returns how
    /// many records it indexed.
    async fn index_audit(&self) -> Result<u64>;
    /// The last record's sequence number and hash.
    async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>>;
    async fn put_audit_digest(&self, digest: &AuditDigest) -> Result<()>;
    /// The newest digest.
    async fn last_audit_digest(&self) -> Result<Option<AuditDigest>>;
    /// Every digest, oldest first.
    async fn list_audit_digests(&self) -> Result<Vec<AuditDigest>>;
    async fn lookup_audit(&self, query: &AuditQuery<'_>) -> Result<Vec<AuditRecord>>;
    /// Retention: remove every record up to and including `through_seq` (which must be a digest's
    /// sequence number: that digest stays, as the signed anchor the remaining chain starts from)
    /// and the digests before it. Returns how many records went.
    async fn prune_audit(&self, through_seq: i64) -> Result<u64>;
    /// Records in chain order after `after_seq` (for verification and export).
    async fn scan_audit(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditRecord>>;
}
