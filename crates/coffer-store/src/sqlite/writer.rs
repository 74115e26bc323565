//! SQLite secret writes (CreateSecret's row, every [`SecretChange`]) on a thread of their own,
//! with a connection of their own, concurrent writes grouped into one transaction.
//!
//! Through sqlx every statement of a write is a round trip to the connection's worker thread,
//! and a PutSecretValue is about six statements, all under the write gate: under load the gate
//! was held mostly by wake-ups (issue 18's profile of puts over 100 secrets: sqlx's worker at
//! 55 % futex and scheduling, 34 % `sqlite3_step`). Here a write is one job: the thread takes
//! every job queued meanwhile, runs each in a savepoint of one transaction (a job that fails —
//! a `row_version` moved, a name taken — rolls back alone and is answered with its error),
//! commits once and answers each. Data writes commit with `synchronous=NORMAL`, as the pool's
//! do: the audit record every response waits for makes them durable ([`super`]).
//!
//! The read cache learns of each committed write here, before anyone is answered: only the
//! written secret's entries go ([`ReadCache::invalidate_secret`]) — a secret write changes no
//! other record — so the KMS keys and other secrets a busy writer's neighbours read stay cached.

use super::appender::{open, sqlite_error};
use super::cache::ReadCache;
use crate::records::tags_to_json;
use crate::repo::secrets::sql;
use crate::secrets::{SecretChange, SecretRecord, SecretVersionRecord};
use crate::{Result, StoreError};
use rusqlite::{Connection, Savepoint, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, mpsc};
use tokio::sync::oneshot;

/// The most writes one transaction takes (a bound on how long the gate is held at once).
const MAX_GROUP: usize = 64;

/// One secret write, owned: it crosses to the writer thread.
pub(crate) enum Write {
    Create {
        secret: SecretRecord,
        version: Option<SecretVersionRecord>,
    },
    Change {
        secret: SecretRecord,
        new_version: Option<SecretVersionRecord>,
        stages: Option<Vec<(String, String)>>,
        prune: Vec<String>,
        prune_beyond: Option<(usize, i64)>,
    },
}

impl Write {
    pub fn change(c: &SecretChange<'_>) -> Self {
        Self::Change {
            secret: c.secret.clone(),
            new_version: c.new_version.cloned(),
            stages: c.stages.map(<[_]>::to_vec),
            prune: c.prune.to_vec(),
            prune_beyond: c.prune_beyond,
        }
    }

    fn secret(&self) -> &SecretRecord {
        match self {
            Self::Create { secret, .. } | Self::Change { secret, .. } => secret,
        }
    }
}

type Job = (Write, oneshot::Sender<Result<()>>);

/// The writer thread's door. Dropping every clone stops the thread.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Start the thread for the database at `path`; it holds the store's write `gate` while it
    /// writes and tells `cache` what it changed.
    pub fn start(
        path: &Path,
        gate: Arc<tokio::sync::Mutex<()>>,
        cache: Arc<ReadCache>,
    ) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let thread = Thread {
            path: path.to_owned(),
            gate,
            cache,
            conn: None,
        };
        std::thread::Builder::new()
            .name("coffer-writer".to_owned())
            .spawn(move || thread.run(&rx))?;
        Ok(Self { jobs })
    }

    /// Apply `write` and wait until it committed (or failed, changing nothing).
    pub async fn write(&self, write: Write) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send((write, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the secret writer stopped".to_owned())
}

struct Thread {
    path: PathBuf,
    gate: Arc<tokio::sync::Mutex<()>>,
    cache: Arc<ReadCache>,
    conn: Option<Connection>,
}

impl Thread {
    fn run(mut self, jobs: &mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let (writes, replies): (Vec<Write>, Vec<_>) = group.into_iter().unzip();
            let results = self.write_group(&writes);
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
    }

    /// One transaction for `writes`: each job's result, all failed if the commit did.
    fn write_group(&mut self, writes: &[Write]) -> Vec<Result<()>> {
        let gate = Arc::clone(&self.gate);
        let _gate = gate.blocking_lock();
        let done = self.transaction(writes);
        // Whatever happened, tell the cache before anyone is answered. A failed commit may
        // still have changed something: forget everything then.
        match &done {
            Ok(results) => {
                for (w, r) in writes.iter().zip(results) {
                    if r.is_ok() {
                        let s = w.secret();
                        self.cache
                            .invalidate_secret(&s.arn, &s.account_id, &s.region, &s.name);
                    }
                }
            }
            Err(_) => self.cache.invalidate(),
        }
        match done {
            Ok(results) => results,
            Err(e) => {
                // The next group starts on a new connection, whatever state this one is in
                // (SQLite may have rolled the transaction back by itself on a full disk).
                self.conn = None;
                writes.iter().map(|_| Err(e.clone())).collect()
            }
        }
    }

    fn transaction(&mut self, writes: &[Write]) -> Result<Vec<Result<()>>> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(open(&self.path).map_err(sqlite_error)?),
        };
        let mut tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite_error)?;
        let mut results = Vec::with_capacity(writes.len());
        for w in writes {
            let sp = tx.savepoint().map_err(sqlite_error)?;
            match apply(&sp, w) {
                Ok(()) => {
                    sp.commit().map_err(sqlite_error)?;
                    results.push(Ok(()));
                }
                // A refusal of this write alone; its savepoint undoes what it did.
                Err(Failed::Refused(e)) => {
                    sp.finish().map_err(sqlite_error)?;
                    results.push(Err(e));
                }
                Err(Failed::Sqlite(e)) => return Err(sqlite_error(e)),
            }
        }
        tx.commit().map_err(sqlite_error)?;
        Ok(results)
    }
}

enum Failed {
    /// The write is refused (`Conflict`: a `row_version` moved, a key is taken); the
    /// transaction is sound.
    Refused(StoreError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Failed {
    fn from(e: rusqlite::Error) -> Self {
        match sqlite_error_refusal(&e) {
            Some(refusal) => Self::Refused(refusal),
            None => Self::Sqlite(e),
        }
    }
}

/// A constraint violation aborts only its statement: the write is refused, not the group. A
/// taken key is `Conflict`, as `super::backend` reports sqlx's unique violations.
fn sqlite_error_refusal(e: &rusqlite::Error) -> Option<StoreError> {
    const UNIQUE: i32 = 2067;
    const PRIMARY_KEY: i32 = 1555;
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(if matches!(f.extended_code, UNIQUE | PRIMARY_KEY) {
                StoreError::Conflict
            } else {
                StoreError::Backend(e.to_string())
            })
        }
        _ => None,
    }
}

/// The statements of one write (the sqlx bodies in `repo/secrets.rs` run the same SQL).
fn apply(c: &Savepoint<'_>, w: &Write) -> std::result::Result<(), Failed> {
    match w {
        Write::Create { secret, version } => {
            insert_secret(c, secret)?;
            if let Some(v) = version {
                insert_version(c, &secret.arn, v)?;
                let stages = v.stages.iter().map(|l| (l.as_str(), v.version_id.as_str()));
                insert_stages(c, &secret.arn, stages)?;
            }
        }
        Write::Change {
            secret,
            new_version,
            stages,
            prune,
            prune_beyond,
        } => {
            if update_meta(c, secret)? != 1 {
                return Err(Failed::Refused(StoreError::Conflict));
            }
            if let Some(v) = new_version {
                insert_version(c, &secret.arn, v)?;
            }
            if let Some(stages) = stages {
                c.prepare_cached(&SQL.delete_stages)?
                    .execute([&secret.arn])?;
                let stages = stages.iter().map(|(l, v)| (l.as_str(), v.as_str()));
                insert_stages(c, &secret.arn, stages)?;
            }
            if let Some((keep, created_before)) = prune_beyond {
                prune_versions(c, &secret.arn, *keep, *created_before)?;
            }
            for version_id in prune {
                c.prepare_cached(&SQL.delete_version)?
                    .execute([&secret.arn, version_id])?;
            }
        }
    }
    Ok(())
}

/// The shared statements number their parameters `$N` (PostgreSQL's form, which sqlx's SQLite
/// driver binds by number); SQLite itself reads `$N` as a *named* parameter numbered by first
/// appearance, so for rusqlite's positional binding they become `?N`. (No statement holds a
/// `$` anywhere else.)
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The shared statements, renumbered once.
struct Statements {
    insert_secret: String,
    update_meta: String,
    insert_version: String,
    delete_stages: String,
    delete_version: String,
    oldest_version: String,
    prune_beyond: String,
}

static SQL: LazyLock<Statements> = LazyLock::new(|| Statements {
    insert_secret: numbered(sql::INSERT_SECRET),
    update_meta: numbered(sql::UPDATE_META),
    insert_version: numbered(sql::INSERT_VERSION),
    delete_stages: numbered(sql::DELETE_STAGES),
    delete_version: numbered(sql::DELETE_VERSION),
    oldest_version: numbered(sql::OLDEST_VERSION),
    prune_beyond: numbered(sql::PRUNE_BEYOND),
});

fn insert_secret(c: &Connection, s: &SecretRecord) -> rusqlite::Result<()> {
    c.prepare_cached(&SQL.insert_secret)?.execute(params![
        s.arn,
        s.account_id,
        s.region,
        s.name,
        s.description,
        s.kms_key_id,
        tags_to_json(&s.tags),
        s.policy,
        s.owning_service,
        s.primary_region,
        s.replication,
        s.created_at,
        s.last_changed_at,
        s.last_accessed_at,
        s.deleted_at,
        s.purge_at,
        s.rotation_enabled,
        s.rotation_lambda_arn,
        s.rotation_rules,
        s.last_rotated_at,
        s.next_rotation_at,
        s.row_version,
        s.tags_listed,
        s.replication_due_at,
    ])?;
    Ok(())
}

/// Rows changed: 1, or 0 if `row_version` moved.
fn update_meta(c: &Connection, s: &SecretRecord) -> rusqlite::Result<usize> {
    c.prepare_cached(&SQL.update_meta)?.execute(params![
        s.description,
        s.kms_key_id,
        tags_to_json(&s.tags),
        s.policy,
        s.owning_service,
        s.primary_region,
        s.replication,
        s.last_changed_at,
        s.last_accessed_at,
        s.deleted_at,
        s.purge_at,
        s.rotation_enabled,
        s.rotation_lambda_arn,
        s.rotation_rules,
        s.last_rotated_at,
        s.next_rotation_at,
        s.arn,
        s.row_version,
        s.tags_listed,
        s.replication_due_at,
    ])
}

fn insert_version(c: &Connection, arn: &str, v: &SecretVersionRecord) -> rusqlite::Result<()> {
    c.prepare_cached(&SQL.insert_version)?.execute(params![
        arn,
        v.version_id,
        v.created_at,
        v.last_accessed_at,
        v.kms_key_arn,
        v.data_key,
        v.ciphertext,
        v.binary,
    ])?;
    Ok(())
}

fn insert_stages<'a>(
    c: &Connection,
    arn: &str,
    stages: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> rusqlite::Result<()> {
    if stages.len() == 0 {
        return Ok(());
    }
    let mut statement = c.prepare_cached(&numbered(&sql::insert_stages(stages.len())))?;
    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&arn];
    let pairs: Vec<(&str, &str)> = stages.collect();
    for (stage, version_id) in &pairs {
        values.push(stage);
        values.push(version_id);
    }
    statement.execute(values.as_slice())?;
    Ok(())
}

fn prune_versions(
    c: &Connection,
    arn: &str,
    keep: usize,
    created_before: i64,
) -> rusqlite::Result<()> {
    let oldest: Option<i64> = c
        .prepare_cached(&SQL.oldest_version)?
        .query_row([arn], |row| row.get(0))?;
    if oldest.is_none_or(|t| t > created_before) {
        return Ok(());
    }
    c.prepare_cached(&SQL.prune_beyond)?.execute(params![
        arn,
        created_before,
        i64::try_from(keep).unwrap_or(i64::MAX)
    ])?;
    Ok(())
}
