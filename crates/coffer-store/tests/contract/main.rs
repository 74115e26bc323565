//! The store contract: every backend must pass every behaviour of it. [`behaviours!`] makes
//! each behaviour (a function of one of the modules below) a test per backend on a fresh store.
//! PostgreSQL runs in a private schema of the server `COFFER_TEST_POSTGRES_URL` names (see
//! `pg.rs`).
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod audit;
mod breakglass;
mod foundation;
mod grants;
mod iam;
mod maintenance;
mod parameters;
mod pg;
mod rotation;
mod secrets;

use coffer_store::*;
use std::future::Future;

/// Each behaviour of the contract, as one test per backend on a fresh store (`sqlite::NAME`,
/// `postgres::NAME`), so one failure does not hide the others.
macro_rules! behaviours {
    ($($name:ident => $test:path),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::on_sqlite(|s| async move { $test(&s).await }).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    crate::on_postgres(|s| async move { $test(&s).await }).await;
                }
            )*
        }
    };
}

behaviours! {
    meta_and_identity => crate::foundation::meta_and_identity,
    kms => crate::foundation::kms,
    kms_grants => crate::grants::contract,
    breakglass => crate::breakglass::contract,
    secrets => crate::secrets::contract,
    secrets_replication_due => crate::secrets::replication_due,
    secrets_labelled_versions_and_pruning => crate::secrets::labelled_versions_and_pruning,
    secrets_concurrent_changes => crate::secrets::concurrent_changes,
    kms_multi_region => crate::foundation::multi_region_keys,
    parameter_versions_and_cas => crate::parameters::versions_and_cas,
    parameter_sealed_values => crate::parameters::sealed_values,
    parameter_labels => crate::parameters::labels,
    parameter_listings => crate::parameters::listings,
    parameter_tiers => crate::parameters::tiers,
    parameter_housekeeping_index => crate::parameters::housekeeping_index,
    parameter_settings => crate::parameters::settings,
    parameter_resource_policies => crate::parameters::resource_policies,
    rotation => crate::rotation::contract,
    audit => crate::audit::contract,
    iam => crate::iam::contract,
    maintenance_meta_and_sealed => crate::maintenance::meta_and_sealed,
    maintenance_snapshot_round_trip => crate::maintenance::snapshot_round_trip,
}

/// Run `test` on a fresh SQLite store in a temporary directory.
async fn on_sqlite<F: Future<Output = ()>>(test: impl FnOnce(Store) -> F) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("coffer.db").display());
    test(open(&url).await.unwrap()).await;
}

/// Run `test` on a fresh PostgreSQL store in a private schema (dropped afterwards).
async fn on_postgres<F: Future<Output = ()> + Send + 'static>(
    test: impl FnOnce(Store) -> F + Send + 'static,
) {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move { test(open(&url).await.unwrap()).await })
        .await;
}

/// What a reopened store must still hold after [`foundation::meta_and_identity`] and
/// [`foundation::kms`].
async fn write_then_reopen(url: &str) {
    let s = open(url).await.unwrap();
    foundation::meta_and_identity(&s).await;
    foundation::kms(&s).await;
    drop(s);
    let s = open(url).await.unwrap();
    assert_eq!(s.init_master_key_check(b"other").await.unwrap(), b"one");
    assert!(
        s.get_key(foundation::A, foundation::R, "k2")
            .await
            .unwrap()
            .is_some()
    );
}

/// Durable across reopen, and private on disk.
#[tokio::test]
async fn sqlite_is_durable_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("coffer.db").display());
    write_then_reopen(&url).await;
    #[cfg(unix)]
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        use std::os::unix::fs::PermissionsExt;
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is {mode:o}", entry.path().display());
    }
}

/// SQLite serves the secret, its version and the KMS key from its read cache, one record at a
/// time; PostgreSQL reads all three in one statement.
#[tokio::test]
async fn sqlite_secret_with_staged_version() {
    on_sqlite(|s| async move { secrets::secret_with_staged_version(&s, false).await }).await;
}

#[tokio::test]
async fn postgres_secret_with_staged_version() {
    on_postgres(|s| async move { secrets::secret_with_staged_version(&s, true).await }).await;
}

/// Durable across reopen; reopening finds the migrations applied.
#[tokio::test]
async fn postgres_is_durable() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move { write_then_reopen(&url).await })
        .await;
}

/// Nodes starting together on a fresh schema all migrate it cleanly: one applies the
/// migrations under the advisory lock, the others wait and find nothing left to do.
#[tokio::test]
async fn postgres_concurrent_opens_migrate_once() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let opens: Vec<_> = (0..4)
                .map(|_| {
                    let url = url.clone();
                    tokio::spawn(async move { open(&url).await })
                })
                .collect();
            let mut stores = Vec::new();
            for o in opens {
                stores.push(o.await.unwrap().expect("every node opens and migrates"));
            }
            // All of them see one schema: a write through one is read through another.
            assert_eq!(
                stores[0].init_master_key_check(b"one").await.unwrap(),
                b"one"
            );
            assert_eq!(
                stores[3].init_master_key_check(b"two").await.unwrap(),
                b"one"
            );
        })
        .await;
}

/// Three nodes appending audit batches at once on one schema extend one chain.
#[tokio::test]
async fn postgres_nodes_append_one_chain() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let mut nodes = Vec::new();
            for _ in 0..3 {
                nodes.push(open(&url).await.unwrap());
            }
            audit::nodes_append_one_chain(&nodes).await;
        })
        .await;
}

/// Background-job leadership: one holder per job and schema; released when the holder closes.
#[tokio::test]
async fn postgres_leadership_is_exclusive_and_moves() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let a = coffer_store::postgres::PostgresStore::open(&url)
                .await
                .unwrap();
            let b = coffer_store::postgres::PostgresStore::open(&url)
                .await
                .unwrap();
            assert!(a.try_lead("purge").await.unwrap());
            assert!(!b.try_lead("purge").await.unwrap(), "one leader per job");
            assert!(
                a.try_lead("purge").await.unwrap(),
                "the leader keeps leading"
            );
            assert!(
                b.try_lead("other").await.unwrap(),
                "jobs lead independently"
            );
            assert!(!a.try_lead("other").await.unwrap());
            a.close().await;
            assert!(
                b.try_lead("purge").await.unwrap(),
                "a closed leader's jobs move to another node"
            );
            b.close().await;
        })
        .await;
}

/// With `sslmode=require` every connection of the store is encrypted (rustls). Needs a server
/// with TLS on (Debian's PostgreSQL has it, with its snake-oil certificate); on one without,
/// there is nothing to test and the test says so.
#[tokio::test]
async fn postgres_over_tls() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    if !pg::server_has_tls().await {
        eprintln!("the test PostgreSQL has ssl=off: TLS not exercised");
        return schema.run(async {}).await;
    }
    let app = format!("{}_tls", schema.name);
    let url = format!("{}&sslmode=require&application_name={app}", schema.url);
    schema
        .run(async move {
            let s = open(&url).await.unwrap();
            assert_eq!(s.init_master_key_check(b"one").await.unwrap(), b"one");
            let (tls, all) = pg::tls_connections(&app).await;
            assert!(all > 0, "the store's connections are named {app}");
            assert_eq!(tls, all, "every connection of the store uses TLS");
        })
        .await;
}

#[tokio::test]
async fn sqlite_always_leads() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&format!("sqlite://{}", dir.path().join("c.db").display()))
        .await
        .unwrap();
    assert!(s.try_lead("purge").await.unwrap());
    assert!(s.try_lead("purge").await.unwrap());
}
