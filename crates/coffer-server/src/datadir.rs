//! The data directory: created 0700, every file in it 0600. Holds the master key (unless the
//! environment supplies it), the SQLite database, and the generated administrator credentials.

use anyhow::{Context as _, bail};
use coffer_crypto::MasterKey;
use coffer_service::identity::NewAccessKey;
use coffer_types::SecretBytes;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub const MASTER_KEY_FILE: &str = "master.key";
pub const CREDENTIALS_FILE: &str = "credentials";

/// The master key of an existing data directory, for offline tools: `COFFER_MASTER_KEY` if given,
/// else the key file. Never creates one.
pub fn existing_master_key(dir: &Path, from_env: Option<SecretBytes>) -> anyhow::Result<MasterKey> {
    if let Some(bytes) = from_env {
        return MasterKey::from_bytes(bytes)
            .context("COFFER_MASTER_KEY must be the base64 of exactly 32 bytes");
    }
    let path = dir.join(MASTER_KEY_FILE);
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read {}: point --data-dir at the server's data directory, or set COFFER_MASTER_KEY",
            path.display()
        )
    })?;
    MasterKey::from_bytes(SecretBytes::new(bytes))
        .with_context(|| format!("{} must hold exactly 32 bytes", path.display()))
}

/// Hold an exclusive lock on the SQLite database at `db` for as long as the returned file lives
/// (`db` + `.lock`). One server owns a SQLite file: its read cache is exact only because every
/// write goes through it, so a second server on the same file must refuse to start.
pub fn lock_sqlite(db: &Path) -> anyhow::Result<std::fs::File> {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create the lock file {}", path.display()))?;
    set_mode(&path, 0o600)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another coffer server: stop it, or give this one its own --data-dir \
             (several nodes share one store on PostgreSQL, not SQLite)",
            db.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Create (or tighten) the data directory, without touching any key file.
pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    set_mode(dir, 0o700)
}

/// Create (or tighten) the directory and load or create the master key.
pub fn prepare(dir: &Path, from_env: Option<SecretBytes>) -> anyhow::Result<MasterKey> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))?;
    set_mode(dir, 0o700)?;
    if let Some(bytes) = from_env {
        return MasterKey::from_bytes(bytes)
            .context("COFFER_MASTER_KEY must be the base64 of exactly 32 bytes");
    }
    let path = dir.join(MASTER_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            set_mode(&path, 0o600)?;
            MasterKey::from_bytes(SecretBytes::new(bytes)).with_context(|| {
                format!(
                    "{} must hold exactly 32 bytes; restore it from your backup",
                    path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dir.join("coffer.db").exists() {
                bail!(
                    "{} is missing but the data directory already holds data: restore the key file from your backup \
                     or supply COFFER_MASTER_KEY (a new key could not read the existing data)",
                    path.display()
                );
            }
            let key = MasterKey::generate()?;
            write_private(&path, key.expose())?;
            tracing::info!(path = %path.display(), "generated a new 256-bit master key; back it up: without it the data cannot be read");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Write generated administrator credentials in AWS shared-credentials format, once.
pub fn write_credentials(dir: &Path, key: &NewAccessKey) -> anyhow::Result<PathBuf> {
    let path = dir.join(CREDENTIALS_FILE);
    let mut text = zeroize::Zeroizing::new(String::new());
    text.push_str("[default]\naws_access_key_id = ");
    text.push_str(&key.access_key_id);
    text.push_str("\naws_secret_access_key = ");
    text.push_str(
        std::str::from_utf8(key.secret_access_key.expose()).context("generated secret is ASCII")?,
    );
    text.push('\n');
    write_private(&path, text.as_bytes())?;
    Ok(path)
}

/// Create `path` with mode 0600, refusing to overwrite.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}
