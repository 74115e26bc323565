//! The audit trail: every call that reaches authentication becomes a CloudTrail-style record,
//! durable before its response is sent.
//!
//! Requests hand their record to one writer task per node and wait. The writer appends everything
//! that queued while the previous append was on disk in one transaction — one fsync for the batch
//! (group commit) — so waiting costs a request about one commit, not one commit per request. (Two
//! appends in flight, the next committing while the previous syncs, measured slower on 2 cores:
//! smaller batches cost more CPU per request than the overlap saved.) If
//! the append fails, every request in the batch fails with its service's internal error: nothing is
//! answered unrecorded. Records extend one hash chain ([`coffer_crypto::chain`]); housekeeping
//! (every 30 s, on the leading node) signs a digest of the head whenever it moved, with a key
//! derived from the master key, which `coffer audit verify` checks. Records appended after the
//! last digest are protected by the chain but could be cut off the end unnoticed: that window is
//! the housekeeping period.

pub mod alerts;
pub mod event;
pub mod verify;

pub use event::{Call, read_only};

use coffer_crypto::MasterKey;
use coffer_store::{AuditDigest, NewAuditEvent, Store};
use coffer_types::SecretBytes;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// At most this many records per append.
const BATCH: usize = 512;
/// Records queued for the writer; beyond this, requests wait for room.
const QUEUE: usize = 16_384;
/// At most this many bytes of records per append.
// 1 MiB: a batch of ordinary records is a few tens of KiB. With 4 MiB, test_hostile (records of
// a megabyte each) once peaked at 307 MiB against its 300 MiB bound in CI; 261 MiB with 1 MiB.
const BATCH_BYTES: usize = 1 << 20;

/// Why a record could not be made durable.
#[derive(Debug, Clone, thiserror::Error)]
#[error("audit trail unavailable: {detail}")]
pub struct AuditUnavailable {
    pub detail: String,
    /// The store is out of reach for now (disk full, database restarting): the client is told
    /// to retry (`ServiceUnavailable`) rather than of an internal failure.
    pub transient: bool,
}

impl AuditUnavailable {
    fn stopped() -> Self {
        Self {
            detail: "writer stopped".to_owned(),
            transient: false,
        }
    }
}

type Pending = (NewAuditEvent, oneshot::Sender<Result<(), AuditUnavailable>>);

/// The audit trail's front door, shared by every request.
#[derive(Clone)]
pub struct Auditor {
    store: Store,
    digest_key: Arc<SecretBytes>,
    writer: Arc<OnceLock<mpsc::Sender<Pending>>>,
    /// Records older than this are pruned, by whole digest periods.
    retention_ms: Option<i64>,
    alerts: Option<Arc<alerts::AlertEngine>>,
    /// Only for measuring what auditing costs, and only in `--dev` mode (the server refuses it
    /// otherwise): records are not written.
    disabled: bool,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor").finish_non_exhaustive()
    }
}

/// What the digest signing key is derived for (`MasterKey::derive`).
pub const DIGEST_PURPOSE: &str = "audit-digest";

/// The key digests are signed with.
pub fn digest_key(master: &MasterKey) -> SecretBytes {
    master.derive(DIGEST_PURPOSE)
}

fn link(prev: &[u8], seq: i64, record: &[u8]) -> Vec<u8> {
    coffer_crypto::chain::link(prev, seq, record).to_vec()
}

impl Auditor {
    pub fn new(store: Store, master: &MasterKey) -> Self {
        Self {
            store,
            digest_key: Arc::new(digest_key(master)),
            writer: Arc::new(OnceLock::new()),
            retention_ms: None,
            alerts: None,
            disabled: false,
        }
    }

    /// Turn recording off. The server allows this only together with `--dev`, to benchmark the
    /// cost of auditing; never in a deployment.
    pub fn disabled_for_benchmarks(mut self) -> Self {
        self.disabled = true;
        self
    }

    /// Evaluate `engine`'s rules on every recorded call.
    pub fn with_alerts(mut self, engine: alerts::AlertEngine) -> Self {
        self.alerts = Some(Arc::new(engine));
        self
    }

    /// Keep records for `days` (by whole digest periods); `None` keeps everything.
    pub fn with_retention(mut self, days: Option<u32>) -> Self {
        self.retention_ms = days.map(|d| i64::from(d) * 86_400_000);
        self
    }

    /// Record `call` durably. Returns once the record is committed.
    pub async fn record(&self, call: &Call) -> Result<(), AuditUnavailable> {
        if self.disabled {
            return Ok(());
        }
        let event = event::record(call);
        let builtin = builtin_alert(call).map(|rule| (rule, event.event_json.clone()));
        let observed = self.alerts.as_ref().map(|_| {
            let names: Vec<String> = event.resources.iter().map(|r| r.name.clone()).collect();
            (event.event_json.clone(), names)
        });
        let sender = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(writer(self.store.clone(), rx));
            tx
        });
        let (done, wait) = oneshot::channel();
        // A full queue means the writer is behind: wait for room (backpressure) rather than
        // refuse; only a stopped writer fails the request.
        sender
            .send((event, done))
            .await
            .map_err(|_| AuditUnavailable::stopped())?;
        match wait.await {
            Ok(Ok(())) => {
                if let (Some(engine), Some((json, names))) = (&self.alerts, observed) {
                    engine.observe(call, &json, &names);
                }
                if let Some((rule, json)) = builtin {
                    self.alert(rule, serde_json::from_str(&json).unwrap_or_default());
                }
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(AuditUnavailable::stopped()),
        }
    }
}

/// The alerts every deployment raises, whatever its rules: each step of a break-glass incident
/// and every call made with a break-glass session's credentials.
fn builtin_alert(call: &Call) -> Option<&'static str> {
    let incident = call
        .principal
        .as_ref()
        .and_then(|p| p.session.as_ref())
        .is_some_and(|s| s.incident.is_some());
    if incident {
        return Some("break-glass-use");
    }
    if call.error.is_some() {
        return None;
    }
    match call.operation.as_str() {
        "RequestBreakGlass" => Some("break-glass-requested"),
        "ApproveBreakGlass" => Some("break-glass-approved"),
        "RevokeBreakGlass" => Some("break-glass-revoked"),
        _ => None,
    }
}

impl Auditor {
    /// Raise the alert `rule` (to the log, and to the alert sink if one is configured).
    pub fn alert(&self, rule: &str, event: serde_json::Value) {
        tracing::warn!(target: "coffer::alert", rule, "audit alert");
        if let Some(engine) = &self.alerts {
            engine.deliver(rule, event);
        }
    }
}

/// LookupEvents' index is brought up to date this often while records are written (lookups
/// read the unindexed tail of the log directly, so this bounds their work, not what they see).
const INDEX_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

async fn writer(store: Store, mut rx: mpsc::Receiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
    let indexer = Indexer::new(store.clone());
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        // Appended in parts of at most BATCH_BYTES of records: a batch is encoded whole in
        // memory, and hostile requests can make records of a megabyte each.
        while !batch.is_empty() {
            let mut bytes = 0;
            let take = batch
                .iter()
                .take_while(|(e, _)| {
                    bytes += e.event_json.len();
                    bytes <= BATCH_BYTES
                })
                .count()
                .max(1);
            let rest = batch.split_off(take);
            append_part(&store, std::mem::replace(&mut batch, rest)).await;
        }
        indexer.kick();
    }
}

/// Append `part` and answer each of its requests.
async fn append_part(store: &Store, part: Vec<Pending>) {
    {
        let (events, waiting): (Vec<NewAuditEvent>, Vec<_>) = part.into_iter().unzip();
        let started = std::time::Instant::now();
        let result = store
            .append_audit(&events, &link)
            .await
            .map_err(|e| AuditUnavailable {
                transient: matches!(e, coffer_store::StoreError::Unavailable(_)),
                detail: e.to_string(),
            });
        let elapsed = started.elapsed();
        tracing::debug!(
            records = events.len(),
            micros = elapsed.as_micros(),
            "audit batch appended"
        );
        let metrics = crate::metrics::global();
        #[allow(clippy::cast_precision_loss)] // a batch holds at most BATCH records
        metrics.audit_batch_records.observe(events.len() as f64);
        metrics.audit_commit_seconds.observe(elapsed.as_secs_f64());
        if let Err(e) = &result {
            metrics.audit_failures.inc();
            tracing::error!(error = %e.detail, records = events.len(), "audit append failed; failing the requests");
        }
        for done in waiting {
            let _ = done.send(result.clone().map(|_| ()));
        }
    }
}

/// Runs `index_audit` behind the writer: at most one run at a time, at most one start per
/// [`INDEX_EVERY`], never in the way of an append.
struct Indexer {
    store: Store,
    running: Arc<std::sync::atomic::AtomicBool>,
    last: std::sync::Mutex<std::time::Instant>,
}

impl Indexer {
    fn new(store: Store) -> Self {
        Self {
            store,
            running: Arc::default(),
            last: std::sync::Mutex::new(std::time::Instant::now()),
        }
    }

    fn kick(&self) {
        use std::sync::atomic::Ordering;
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed() < INDEX_EVERY || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        *last = std::time::Instant::now();
        let (store, running) = (self.store.clone(), self.running.clone());
        tokio::spawn(async move {
            if let Err(e) = index_all(&store).await {
                tracing::warn!(error = %e, "audit index not brought up to date; lookups read the log");
            }
            running.store(false, Ordering::Release);
        });
    }
}

/// Index everything appended so far.
pub async fn index_all(store: &Store) -> Result<u64, coffer_store::StoreError> {
    let mut total = 0;
    loop {
        let n = store.index_audit().await?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
    }
}

impl Auditor {
    /// Sign a digest of the chain's head if it moved since the last one (housekeeping).
    pub async fn sign_digest(&self) -> Result<Option<i64>, coffer_store::StoreError> {
        sign_head(&self.store, &self.digest_key).await
    }

    /// Housekeeping: sign a digest, then apply retention — prune through the newest digest older
    /// than the retention period, which stays as the anchor the rest of the chain verifies from.
    pub async fn housekeeping(&self, now: i64) -> Result<u64, coffer_store::StoreError> {
        index_all(&self.store).await?;
        self.sign_digest().await?;
        let Some(keep) = self.retention_ms else {
            return Ok(0);
        };
        let cutoff = now - keep;
        let anchor = self
            .store
            .list_audit_digests()
            .await?
            .into_iter()
            .filter(|d| d.time < cutoff)
            .map(|d| d.seq)
            .max();
        match anchor {
            Some(seq) => self.store.prune_audit(seq).await,
            None => Ok(0),
        }
    }
}

/// Sign a digest of the chain's head unless one exists for it. Returns its sequence number.
pub async fn sign_head(
    store: &Store,
    key: &SecretBytes,
) -> Result<Option<i64>, coffer_store::StoreError> {
    let Some((seq, hash)) = store.audit_head().await? else {
        return Ok(None);
    };
    let last = store.last_audit_digest().await?.map(|d| d.seq);
    if last == Some(seq) {
        return Ok(None);
    }
    let time = crate::now_millis();
    let signature = coffer_crypto::chain::sign_digest(key.expose(), seq, &hash, time).to_vec();
    match store
        .put_audit_digest(&AuditDigest {
            seq,
            hash,
            time,
            signature,
        })
        .await
    {
        // Another node signed this head already.
        Err(coffer_store::StoreError::Conflict) | Ok(()) => Ok(Some(seq)),
        Err(e) => Err(e),
    }
}
