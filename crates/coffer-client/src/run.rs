//! `coffer run`: start a program with its secrets — ECS-style start-up injection without the
//! environment. The objects are written into a private directory (0700, on tmpfs when
//! `/dev/shm` is there) named by `COFFER_SECRETS_DIR`; `--env NAME=REF` values are resolved into
//! the program's environment for programs that insist. Everything is fetched before the program
//! starts (a failure starts nothing); signals are passed on; the directory is removed when the
//! program exits.

use crate::client::AwsClient;
use crate::error::{Error, Result};
use crate::objects::Objects;
use crate::resolve;
use crate::sync::{self, ProgressFn, SyncOptions, SyncState};
use coffer_types::SecretBytes;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub struct RunOptions {
    pub objects: Option<Objects>,
    /// `(NAME, REF)` pairs for the environment.
    pub env: Vec<(String, String)>,
    pub command: Vec<OsString>,
    /// The variable that tells the program where its files are.
    pub dir_env: String,
    pub mode: u32,
    /// Where to make the private directory [default: /dev/shm if usable, else the temp dir].
    pub tmp_parent: Option<PathBuf>,
    pub progress: Option<Arc<ProgressFn>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("objects", &self.objects.as_ref().map(|o| o.objects.len()))
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("command", &self.command)
            .field("dir_env", &self.dir_env)
            .finish_non_exhaustive()
    }
}

fn default_parent() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && tempfile::Builder::new()
            .prefix(".coffer-probe-")
            .tempfile_in(shm)
            .is_ok()
    {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

#[cfg(unix)]
fn os_value(v: SecretBytes) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(v.expose().to_vec())
}

#[cfg(not(unix))]
fn os_value(v: SecretBytes) -> OsString {
    OsString::from(String::from_utf8_lossy(v.expose()).into_owned())
}

/// Run the program; its exit code (128 + signal number when a signal ended it).
pub async fn run(client: &AwsClient, opts: RunOptions) -> Result<i32> {
    let Some((program, args)) = opts.command.split_first() else {
        return Err(Error::Invalid(
            "no command: write it after --, as in `coffer run --objects FILE -- myapp --flag`"
                .into(),
        ));
    };
    for (name, _) in &opts.env {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(Error::Invalid(format!(
                "--env {name:?}: the variable name must be non-empty, without = or NUL"
            )));
        }
    }

    client.check_credentials().await?;
    let mut env_values = Vec::with_capacity(opts.env.len());
    let mut failures = Vec::new();
    for (name, reference) in &opts.env {
        match resolve::resolve_value(client, reference).await {
            Ok(v) => env_values.push((name.clone(), os_value(v))),
            Err(e) => failures.push(format!("  --env {name}: {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(Error::Invalid(format!(
            "the command was not started: {} value(s) could not be resolved:\n{}",
            failures.len(),
            failures.join("\n")
        )));
    }

    let parent = opts.tmp_parent.clone().unwrap_or_else(default_parent);
    // Created 0700 (whatever the umask); removed when `dir` drops, on every path out.
    let mut builder = tempfile::Builder::new();
    builder.prefix("coffer-run-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder.tempdir_in(&parent).map_err(|e| {
        Error::Config(format!(
            "cannot create a private directory in {}: {e} (choose another with --tmpdir)",
            parent.display()
        ))
    })?;
    if let Some(objects) = &opts.objects {
        let sync_opts = SyncOptions {
            dir: dir.path().to_path_buf(),
            mode: opts.mode,
            interval: Duration::from_secs(1),
            once: true,
            on_change: None,
            progress: opts.progress.clone(),
        };
        let report = sync::round(client, objects, &mut SyncState::default(), &sync_opts).await?;
        if !report.failed.is_empty() {
            let list = report
                .failed
                .iter()
                .map(|(o, e)| format!("  {o}: {e}"))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(Error::Config(format!(
                "the command was not started: {} of {} objects could not be fetched:\n{list}",
                report.failed.len(),
                report.objects
            )));
        }
    }

    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env(&opts.dir_env, dir.path());
    for (name, value) in env_values {
        cmd.env(name, value);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Config(format!("cannot start {}: {e}", program.to_string_lossy())))?;
    let status = wait_forwarding_signals(&mut child).await?;
    drop(dir);
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return 128 + sig;
        }
    }
    1
}

#[cfg(unix)]
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
) -> Result<std::process::ExitStatus> {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
        SignalKind::user_defined1(),
        SignalKind::user_defined2(),
    ];
    let mut streams = Vec::with_capacity(kinds.len());
    for k in kinds {
        let s = signal(k)
            .map_err(|e| Error::Config(format!("cannot install a signal handler: {e}")))?;
        streams.push((k, s));
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = tokio::task::JoinSet::new();
    for (kind, mut stream) in streams {
        let tx = tx.clone();
        listeners.spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(kind.as_raw_value()).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let pid = child.id();
    let status = loop {
        tokio::select! {
            status = child.wait() => {
                break status.map_err(|e| Error::Config(format!("waiting for the command: {e}")))?;
            }
            Some(sig) = rx.recv() => {
                if let Some(pid) = pid {
                    forward(pid, sig);
                }
            }
        }
    };
    listeners.abort_all();
    Ok(status)
}

#[cfg(not(unix))]
async fn wait_forwarding_signals(
    child: &mut tokio::process::Child,
) -> Result<std::process::ExitStatus> {
    child
        .wait()
        .await
        .map_err(|e| Error::Config(format!("waiting for the command: {e}")))
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn forward(pid: u32, sig: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child's id.
    unsafe {
        libc::kill(pid, sig);
    }
}
