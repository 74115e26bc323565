//! Deployment maintenance on the `coffer.admin` prefix, allowed only to the root of the
//! deployment's default account (they concern every account):
//!
//! - `CreateBackup` {PassphraseKey?, Salt?, Iterations?}: take a consistent snapshot of the whole
//!   store ([`coffer_store::snapshot`]) in the background and write it, encrypted
//!   ([`coffer_crypto::backup`]), to `DATA_DIR/backups/ID.cbk` on this node. The file key is
//!   derived from the master key, or is the passphrase key the client derived (the passphrase
//!   itself never reaches the server). Answers {BackupId} at once.
//! - `DescribeBackup` {BackupId}: {Status InProgress|Complete|Failed, RowsDone, RowsTotal,
//!   SizeBytes, Message?}.
//! - `GetBackupChunk` {BackupId, Offset}: up to 1 MiB of the finished file, base64, so the
//!   client streams it to its disk; {Data, NextOffset, SizeBytes}.
//! - `DeleteBackup` {BackupId}: remove the file (the client does once it has it all). Files
//!   left behind are removed after a day.
//! - `RotateMasterKey` {ExpectedKeyId?}: [`super::rekey`].
//!
//! A backup lives on the node that made it: send all calls of one backup to one node.
//! Rows are copied as stored, so no secret value is decrypted.

use super::rekey::{RekeyError, RekeyReport};
use crate::RequestContext;
use base64::Engine as _;
use coffer_crypto::MasterKey;
use coffer_crypto::backup::{FileKey, Sealer};
use coffer_store::Store;
use coffer_types::{AccountId, SecretBytes};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::collections::HashMap;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Largest piece of a backup one GetBackupChunk returns.
const CHUNK_BYTES: u64 = 1024 * 1024;
/// Backups not deleted by their client are removed after this long.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

service_errors! {
    /// The errors of deployment maintenance.
    pub enum MaintenanceError;
    model: None;
    internal: Internal, "An error occurred on the server side.";
    validation: InvalidParameter;
    serialization: Serialization;
    table {
        AccessDenied => ("AccessDeniedException", 400),
        InvalidParameter => ("InvalidParameterException", 400),
        InvalidRequest => ("InvalidRequestException", 400),
        ResourceNotFound => ("ResourceNotFoundException", 400),
        Serialization => ("SerializationException", 400),
        /// Detail for the log only; the client sees a generic message.
        Internal => ("InternalServiceError", 500),
    }
}

impl From<coffer_store::StoreError> for MaintenanceError {
    fn from(e: coffer_store::StoreError) -> Self {
        crate::error::store(e)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    InProgress,
    Complete,
    Failed(String),
}

#[derive(Debug)]
struct Job {
    status: Mutex<Status>,
    rows_done: AtomicU64,
    rows_total: AtomicU64,
}

/// The maintenance operations.
#[derive(Clone)]
pub struct Maintenance {
    store: Store,
    master: Arc<MasterKey>,
    default_account: Option<AccountId>,
    backup_dir: Option<PathBuf>,
    jobs: Arc<Mutex<HashMap<String, Arc<Job>>>>,
    /// One master-key rotation at a time on this node.
    rekeying: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance")
            .field("backup_dir", &self.backup_dir)
            .finish_non_exhaustive()
    }
}

operations!(Maintenance, MaintenanceError, no_model;
    CreateBackup => create_backup,
    DescribeBackup => describe_backup,
    GetBackupChunk => get_backup_chunk,
    DeleteBackup => delete_backup,
    RotateMasterKey => rotate_master_key,
);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateInput {
    /// Base64 of the 32-byte PBKDF2 key of the passphrase, with its salt and iterations.
    passphrase_key: Option<String>,
    salt: Option<String>,
    iterations: Option<u32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOutput {
    backup_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IdInput {
    backup_id: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeOutput {
    backup_id: String,
    status: &'static str,
    rows_done: u64,
    rows_total: u64,
    size_bytes: Option<u64>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChunkInput {
    backup_id: String,
    offset: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChunkOutput {
    data: String,
    next_offset: u64,
    size_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Empty {}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RotateInput {
    /// The key id (`coffer admin rotate-master-key` prints it from the new key file) the server
    /// must hold as its current key.
    expected_key_id: Option<String>,
}

impl Maintenance {
    pub fn new(store: Store, master: Arc<MasterKey>) -> Self {
        Self {
            store,
            master,
            default_account: None,
            backup_dir: None,
            jobs: Arc::default(),
            rekeying: Arc::default(),
        }
    }

    /// The account whose root may call these.
    pub fn with_default_account(mut self, account: AccountId) -> Self {
        self.default_account = Some(account);
        self
    }

    /// Where backups are written (`DATA_DIR/backups`); without one, CreateBackup is refused.
    pub fn with_backup_dir(mut self, dir: PathBuf) -> Self {
        self.backup_dir = Some(dir);
        self
    }

    /// Only the default account's root: these concern every account.
    pub async fn authorize(
        &self,
        ctx: &RequestContext,
        op: &str,
        _input: &serde_json::Value,
    ) -> Result<(), MaintenanceError> {
        let allowed = self.default_account.as_ref().is_some_and(|default| {
            ctx.principal.account_id == *default
                && ctx.principal.arn == format!("arn:aws:iam::{default}:root")
        });
        if allowed {
            return Ok(());
        }
        Err(MaintenanceError::AccessDenied(format!(
            "User: {} is not authorized to perform: coffer:{op} (only the root of the deployment's default account backs up or re-keys the deployment)",
            ctx.principal.arn
        )))
    }

    fn dir(&self) -> Result<&Path, MaintenanceError> {
        self.backup_dir.as_deref().ok_or_else(|| {
            MaintenanceError::InvalidRequest(
                "This server has no data directory for backups.".to_owned(),
            )
        })
    }

    fn path(&self, id: &str) -> Result<PathBuf, MaintenanceError> {
        let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Err(MaintenanceError::InvalidParameter(
                "BackupId must be the 32 hex digits CreateBackup returned.".to_owned(),
            ));
        }
        Ok(self.dir()?.join(format!("{id}.cbk")))
    }

    fn job(&self, id: &str) -> Result<Arc<Job>, MaintenanceError> {
        let jobs = self.jobs.lock().map_err(|_| internal("jobs lock"))?;
        jobs.get(id).cloned().ok_or_else(|| {
            MaintenanceError::ResourceNotFound(format!(
                "No backup {id} on this node: send every call of one backup to the node that made it (not through a load balancer)."
            ))
        })
    }
}

fn internal(what: &str) -> MaintenanceError {
    MaintenanceError::Internal(what.to_owned())
}

fn file_key(master: &MasterKey, input: &CreateInput) -> Result<FileKey, MaintenanceError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let bad = |m: &str| MaintenanceError::InvalidParameter(m.to_owned());
    match (&input.passphrase_key, &input.salt, input.iterations) {
        (None, None, None) => FileKey::from_master(master).map_err(|e| internal(&e.to_string())),
        (Some(key), Some(salt), Some(iterations)) => {
            let key = b64
                .decode(key)
                .map_err(|_| bad("PassphraseKey must be base64."))?;
            let salt = b64.decode(salt).map_err(|_| bad("Salt must be base64."))?;
            FileKey::passphrase_parts(&salt, iterations, SecretBytes::new(key))
                .map_err(|e| bad(&e.to_string()))
        }
        _ => Err(bad(
            "Give PassphraseKey, Salt and Iterations together, or none of them.",
        )),
    }
}

/// Remove backups older than a day that nobody deleted.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write the snapshot, sealed, to `partial`, then rename it to `path`.
async fn write_backup(
    store: Store,
    key: FileKey,
    partial: PathBuf,
    path: PathBuf,
    job: Arc<Job>,
) -> Result<(), String> {
    let file = create_private(&partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let mut sealer = Sealer::new(std::io::BufWriter::new(file), &key).map_err(|e| e.to_string())?;
    let mut sink = |item: coffer_store::snapshot::Item| -> coffer_store::Result<()> {
        if let coffer_store::snapshot::Item::Header { tables, .. } = &item {
            job.rows_total
                .store(tables.iter().map(|(_, n)| n).sum(), Ordering::Relaxed);
        }
        if matches!(item, coffer_store::snapshot::Item::Row { .. }) {
            job.rows_done.fetch_add(1, Ordering::Relaxed);
        }
        let io = |e: std::io::Error| coffer_store::StoreError::Backend(e.to_string());
        serde_json::to_writer(&mut sealer, &item)
            .map_err(|e| coffer_store::StoreError::Backend(e.to_string()))?;
        sealer.write_all(b"\n").map_err(io)
    };
    store
        .export_snapshot(&mut sink)
        .await
        .map_err(|e| e.to_string())?;
    let out = sealer.finish().map_err(|e| e.to_string())?;
    let file = out.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &path).map_err(|e| e.to_string())
}

fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

async fn create_backup(
    m: &Maintenance,
    _ctx: &RequestContext,
    input: CreateInput,
) -> Result<CreateOutput, MaintenanceError> {
    let key = file_key(&m.master, &input)?;
    let dir = m.dir()?.to_owned();
    let running = m
        .jobs
        .lock()
        .map_err(|_| internal("jobs lock"))?
        .values()
        .any(|j| j.status.lock().is_ok_and(|s| *s == Status::InProgress));
    if running {
        return Err(MaintenanceError::InvalidRequest(
            "A backup is already being made on this node: wait for it (DescribeBackup) and try again.".to_owned(),
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| internal(&format!("{}: {e}", dir.display())))?;
    remove_stale(&dir);
    let id: String = coffer_crypto::random::secret_bytes(16)
        .map_err(|e| internal(&e.to_string()))?
        .expose()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = m.path(&id)?;
    let partial = dir.join(format!("{id}.cbk.partial"));
    let job = Arc::new(Job {
        status: Mutex::new(Status::InProgress),
        rows_done: AtomicU64::new(0),
        rows_total: AtomicU64::new(0),
    });
    m.jobs
        .lock()
        .map_err(|_| internal("jobs lock"))?
        .insert(id.clone(), job.clone());
    let store = m.store.clone();
    tokio::spawn(async move {
        let outcome = write_backup(store, key, partial.clone(), path, job.clone()).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "backup failed");
            let _ = std::fs::remove_file(&partial);
        }
        if let Ok(mut s) = job.status.lock() {
            *s = match outcome {
                Ok(()) => Status::Complete,
                Err(e) => Status::Failed(e),
            };
        }
    });
    Ok(CreateOutput { backup_id: id })
}

async fn describe_backup(
    m: &Maintenance,
    _ctx: &RequestContext,
    input: IdInput,
) -> Result<DescribeOutput, MaintenanceError> {
    let path = m.path(&input.backup_id)?;
    let job = m.job(&input.backup_id)?;
    let status = job.status.lock().map_err(|_| internal("job lock"))?.clone();
    let size = std::fs::metadata(&path).ok().map(|md| md.len());
    let (status, message) = match status {
        Status::InProgress => ("InProgress", None),
        Status::Complete => ("Complete", None),
        Status::Failed(e) => ("Failed", Some(e)),
    };
    Ok(DescribeOutput {
        backup_id: input.backup_id,
        status,
        rows_done: job.rows_done.load(Ordering::Relaxed),
        rows_total: job.rows_total.load(Ordering::Relaxed),
        size_bytes: size,
        message,
    })
}

async fn get_backup_chunk(
    m: &Maintenance,
    _ctx: &RequestContext,
    input: ChunkInput,
) -> Result<ChunkOutput, MaintenanceError> {
    let path = m.path(&input.backup_id)?;
    let job = m.job(&input.backup_id)?;
    if *job.status.lock().map_err(|_| internal("job lock"))? != Status::Complete {
        return Err(MaintenanceError::InvalidRequest(
            "The backup is not complete: wait until DescribeBackup says Complete.".to_owned(),
        ));
    }
    let mut file =
        std::fs::File::open(&path).map_err(|e| internal(&format!("{}: {e}", path.display())))?;
    let size = file.metadata().map_err(|e| internal(&e.to_string()))?.len();
    if input.offset > size {
        return Err(MaintenanceError::InvalidParameter(format!(
            "Offset {} is past the end of the backup ({size} bytes).",
            input.offset
        )));
    }
    file.seek(std::io::SeekFrom::Start(input.offset))
        .map_err(|e| internal(&e.to_string()))?;
    let mut data = Vec::new();
    file.take(CHUNK_BYTES)
        .read_to_end(&mut data)
        .map_err(|e| internal(&e.to_string()))?;
    Ok(ChunkOutput {
        next_offset: input.offset + data.len() as u64,
        data: base64::engine::general_purpose::STANDARD.encode(&data),
        size_bytes: size,
    })
}

async fn delete_backup(
    m: &Maintenance,
    _ctx: &RequestContext,
    input: IdInput,
) -> Result<Empty, MaintenanceError> {
    let path = m.path(&input.backup_id)?;
    let _ = m.job(&input.backup_id)?;
    let _ = std::fs::remove_file(&path);
    m.jobs
        .lock()
        .map_err(|_| internal("jobs lock"))?
        .remove(&input.backup_id);
    Ok(Empty {})
}

async fn rotate_master_key(
    m: &Maintenance,
    _ctx: &RequestContext,
    input: RotateInput,
) -> Result<RekeyReport, MaintenanceError> {
    let _one = m.rekeying.lock().await;
    super::rekey::rotate(&m.store, &m.master, input.expected_key_id.as_deref())
        .await
        .map_err(|e| match e {
            RekeyError::Refused(msg) => MaintenanceError::InvalidRequest(msg),
            RekeyError::Store(s) => s.into(),
        })
}
