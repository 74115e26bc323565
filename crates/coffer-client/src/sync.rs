//! `coffer sync`: the objects of a CSI `SecretProviderClass` as files in a directory, rewritten
//! when a new version appears.
//!
//! Each round fetches every object (a few at a time). A Secrets Manager object already written
//! is revalidated with DescribeSecret: its value is fetched again only when the version behind
//! its stage changed. A file is rewritten (atomically, with the configured mode) only when its
//! content or mode differs from what is on disk; `--on-change` runs after a round that rewrote
//! anything. With `--once` a round is all or nothing: if any object fails, nothing is written.

use crate::api::SecretSelector;
use crate::client::AwsClient;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::objects::{ObjectKind, ObjectSpec, Objects, jmes_extract};
use coffer_types::SecretBytes;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Objects fetched at the same time.
const CONCURRENCY: usize = 8;

pub type ProgressFn = dyn Fn(usize, usize) + Send + Sync;

pub struct SyncOptions {
    pub dir: PathBuf,
    pub mode: u32,
    pub interval: Duration,
    pub once: bool,
    /// A shell command run after a round that changed files.
    pub on_change: Option<String>,
    /// Called with (done, total) as objects are fetched.
    pub progress: Option<Arc<ProgressFn>>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("dir", &self.dir)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("interval", &self.interval)
            .field("once", &self.once)
            .field("on_change", &self.on_change)
            .finish_non_exhaustive()
    }
}

/// Parse an interval: `30s`, `5m`, `1h`, `1h30m`, `250ms`, or plain seconds.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || {
        Error::Invalid(format!(
            "interval {s:?} is not a duration like 30s, 5m, 1h30m or 45"
        ))
    };
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs)).and_then(|d| nonzero(d, s));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return Err(bad()),
        };
        total += unit;
        rest = &rest[unit_len..];
    }
    nonzero(total, s)
}

fn nonzero(d: Duration, s: &str) -> Result<Duration> {
    if d.is_zero() {
        return Err(Error::Invalid(format!(
            "interval {s:?} must be more than zero"
        )));
    }
    Ok(d)
}

/// One object's fetched content: the files it makes and the version they come from.
/// One object as read: its version (VersionId, or the parameter's version number) and its
/// files (its own, then one per jmesPath entry), relative to the target directory.
#[derive(Debug)]
pub struct Fetched {
    pub version: String,
    pub files: Vec<(PathBuf, SecretBytes)>,
}

/// Read `spec` now, whatever was read before (the CSI provider's Mount).
pub async fn fetch_object(client: &AwsClient, spec: &ObjectSpec) -> Result<Fetched> {
    fetch(client, spec, None)
        .await?
        .ok_or_else(|| Error::Invalid(format!("{} was not read", spec.display())))
}

/// What the sync remembers between rounds: the version each object was last written from.
#[derive(Debug, Default)]
pub struct SyncState {
    versions: HashMap<usize, String>,
}

/// The outcome of one round.
#[derive(Debug, Default)]
pub struct RoundReport {
    /// Files rewritten, relative to the directory.
    pub changed: Vec<PathBuf>,
    /// Objects that failed, with why.
    pub failed: Vec<(String, Error)>,
    pub objects: usize,
}

async fn fetch(
    client: &AwsClient,
    spec: &ObjectSpec,
    known: Option<&str>,
) -> Result<Option<Fetched>> {
    let (version, bytes) = match spec.kind {
        ObjectKind::SecretsManager => {
            let sel = SecretSelector {
                secret_id: spec.name.clone(),
                version_id: spec.version.clone(),
                version_stage: spec.label.clone(),
            };
            if let Some(known) = known {
                let d = client.describe_secret(&spec.name).await?;
                let unchanged = !d.deleted
                    && match &sel.version_id {
                        Some(v) => v == known && d.versions_to_stages.contains_key(v),
                        None => d.version_with_stage(sel.stage()) == Some(known),
                    };
                if unchanged {
                    return Ok(None);
                }
            }
            let v = client.get_secret_value(&sel).await?;
            let bytes = SecretBytes::from(v.bytes());
            (v.version_id, bytes)
        }
        ObjectKind::SsmParameter => {
            let p = client.get_parameter(&spec.parameter_name(), true).await?;
            (p.version.to_string(), p.value)
        }
    };
    let mut files = Vec::with_capacity(1 + spec.jmes.len());
    for j in &spec.jmes {
        let picked = jmes_extract(bytes.expose(), &j.path, &spec.display())?;
        files.push((j.file.clone(), SecretBytes::new(picked)));
    }
    files.insert(0, (spec.file.clone(), bytes));
    Ok(Some(Fetched { version, files }))
}

fn file_matches(path: &Path, content: &[u8], mode: u32) -> Result<bool> {
    let Some(existing) = fsutil::read_existing(path)? else {
        return Ok(false);
    };
    let existing = SecretBytes::new(existing);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        if current != mode {
            return Ok(false);
        }
    }
    Ok(existing.expose() == content)
}

/// One round: fetch everything, then write what changed.
pub async fn round(
    client: &AwsClient,
    objects: &Objects,
    state: &mut SyncState,
    opts: &SyncOptions,
) -> Result<RoundReport> {
    let total = objects.objects.len();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, spec) in objects.objects.iter().enumerate() {
        let client = client.clone();
        let spec = spec.clone();
        let semaphore = semaphore.clone();
        // A file removed by hand is written again, whatever the version says.
        let all_present = spec.files().all(|f| opts.dir.join(f).exists());
        let known = state.versions.get(&i).filter(|_| all_present).cloned();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            (i, fetch(&client, &spec, known.as_deref()).await)
        });
    }
    let mut results: Vec<Option<Result<Option<Fetched>>>> = (0..total).map(|_| None).collect();
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, r) = joined.map_err(|e| Error::Config(format!("a fetch task failed: {e}")))?;
        results[i] = Some(r);
        done += 1;
        if let Some(p) = &opts.progress {
            p(done, total);
        }
    }
    let mut report = RoundReport {
        objects: total,
        ..RoundReport::default()
    };
    let mut fetched = Vec::with_capacity(total);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(f)) => fetched.push((i, f)),
            Some(Err(e)) => report.failed.push((objects.objects[i].display(), e)),
            None => {}
        }
    }
    if opts.once && !report.failed.is_empty() {
        return Ok(report);
    }
    for (i, f) in fetched {
        let Some(f) = f else { continue };
        for (rel, content) in &f.files {
            let path = opts.dir.join(rel);
            if !file_matches(&path, content.expose(), opts.mode)? {
                fsutil::write_atomic(&path, content.expose(), opts.mode)?;
                report.changed.push(rel.clone());
            }
        }
        state.versions.insert(i, f.version);
    }
    Ok(report)
}

async fn run_on_change(cmd: &str, dir: &Path, changed: &[PathBuf]) -> Result<()> {
    let list = changed
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .env("COFFER_SYNC_DIR", dir)
        .env("COFFER_CHANGED_FILES", list)
        .stdin(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| Error::Config(format!("cannot run --on-change command {cmd:?}: {e}")))?;
    if !status.success() {
        return Err(Error::Config(format!(
            "--on-change command {cmd:?} exited with {status}"
        )));
    }
    Ok(())
}

fn failure_summary(failed: &[(String, Error)]) -> String {
    failed
        .iter()
        .map(|(o, e)| format!("  {o}: {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run the sync: one round with `once`, else a round every interval until `shutdown` resolves.
pub async fn run(
    client: &AwsClient,
    objects: &Objects,
    opts: &SyncOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    fsutil::ensure_dir(&opts.dir)?;
    if opts.once {
        client.check_credentials().await?;
    }
    let mut state = SyncState::default();
    tokio::pin!(shutdown);
    loop {
        let report = round(client, objects, &mut state, opts).await?;
        if opts.once {
            if !report.failed.is_empty() {
                return Err(Error::Config(format!(
                    "{} of {} objects could not be fetched, so nothing was written:\n{}",
                    report.failed.len(),
                    report.objects,
                    failure_summary(&report.failed)
                )));
            }
            tracing::info!(objects = report.objects, changed = report.changed.len(), dir = %opts.dir.display(), "synced");
            if !report.changed.is_empty()
                && let Some(cmd) = &opts.on_change
            {
                run_on_change(cmd, &opts.dir, &report.changed).await?;
            }
            return Ok(());
        }
        for (object, e) in &report.failed {
            tracing::error!(object = %object, error = %e, "could not fetch; the file keeps its previous content, retrying next round");
        }
        if !report.changed.is_empty() {
            let files: Vec<String> = report
                .changed
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            tracing::info!(files = ?files, "files updated");
            if let Some(cmd) = &opts.on_change
                && let Err(e) = run_on_change(cmd, &opts.dir, &report.changed).await
            {
                tracing::error!(error = %e, "--on-change failed");
            }
        } else {
            tracing::debug!(objects = report.objects, "no change");
        }
        tokio::select! {
            () = tokio::time::sleep(opts.interval) => {}
            () = &mut shutdown => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("30s").ok(), Some(Duration::from_secs(30)));
        assert_eq!(parse_interval("45").ok(), Some(Duration::from_secs(45)));
        assert_eq!(
            parse_interval("1h30m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_interval("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        for bad in ["", "0", "0s", "s", "5x", "1.5s", "-1"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
