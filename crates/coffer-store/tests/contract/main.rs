//! The store contract: every backend must pass [`contract`]. SQLite runs always; each backend's
//! test below opens a fresh store and runs the same modules.
#![allow(clippy::unwrap_used)]

mod foundation;
mod parameters;
mod rotation;
mod secrets;

use coffer_store::*;

/// Everything a backend must do, in one pass over a fresh store.
async fn contract(s: &Store) {
    foundation::contract(s).await;
    secrets::contract(s).await;
    parameters::contract(s).await;
    rotation::contract(s).await;
}

#[tokio::test]
async fn sqlite_meets_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("coffer.db").display());
    contract(&open(&url).await.unwrap()).await;

    // Durable across reopen, and private on disk.
    let s = open(&url).await.unwrap();
    assert_eq!(s.init_master_key_check(b"other").await.unwrap(), b"one");
    assert!(
        s.get_key(foundation::A, foundation::R, "k2")
            .await
            .unwrap()
            .is_some()
    );
    #[cfg(unix)]
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", entry.path().display());
    }
}
