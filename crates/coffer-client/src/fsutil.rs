//! Files holding secrets: written atomically (temporary file in the same directory, fsync,
//! rename, fsync of the directory) so a reader sees the old content or the new, never half.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The default mode of secret files.
pub const DEFAULT_MODE: u32 = 0o600;

/// Parse an octal file mode such as `0600`, `600` or `0o640`.
pub fn parse_mode(s: &str) -> Result<u32> {
    let digits = s.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "file mode {s:?} is not an octal mode like 0600 or 0640"
            ))
        })?;
    Ok(mode)
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// Create `dir` (and parents) if missing; a directory created here is 0700.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::Config(format!("cannot create directory {}: {e}", dir.display())))
}

/// Replace `path` with `contents`, atomically, with permissions `mode`.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let fail = |what: &str, e: std::io::Error| {
        Error::Config(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    ensure_dir(dir)?;
    // tempfile creates the file 0600 with O_EXCL: nobody else can open it meanwhile.
    let mut tmp = tempfile::Builder::new()
        .prefix(".coffer-tmp-")
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file next to", e))?;
    set_mode(tmp.as_file(), mode).map_err(|e| fail("set the mode of", e))?;
    tmp.write_all(contents).map_err(|e| fail("write", e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync", e))?;
    tmp.persist(path)
        .map_err(|e| fail("rename into place", e.error))?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The current content of `path`, or `None` if it does not exist.
pub fn read_existing(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Config(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0600").ok(), Some(0o600));
        assert_eq!(parse_mode("640").ok(), Some(0o640));
        assert_eq!(parse_mode("0o400").ok(), Some(0o400));
        assert!(parse_mode("0800").is_err());
        assert!(parse_mode("rw").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_sets_mode_and_replaces() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("sub/secret");
        write_atomic(&p, b"one", 0o600).unwrap_or_else(|e| panic!("{e}"));
        write_atomic(&p, b"two", 0o640).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::read(&p).unwrap_or_default(), b"two");
        let mode = std::fs::metadata(&p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o640);
        let leftovers = std::fs::read_dir(dir.path().join("sub"))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(leftovers, 1);
    }
}
