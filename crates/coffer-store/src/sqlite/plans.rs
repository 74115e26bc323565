//! Query plans on SQLite.
#![allow(clippy::unwrap_used)]

use super::SqliteStore;
use crate::parameters::ParameterScope;
use crate::repo::parameters::list_sql;
use sqlx::Row;

/// The `detail` lines of SQLite's plan for `sql`.
async fn plan(store: &SqliteStore, sql: &str) -> Vec<String> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&store.pool)
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect()
}

/// A new store in a directory of its own (kept while the store is used).
async fn fresh_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("plan.db"))
        .await
        .unwrap();
    (dir, store)
}

/// Every listing is a range search of an index in key order: no table scan, no sort of the
/// matching rows. That is what keeps a page from a 100,000-parameter store as cheap as one
/// from a small store. (Each row's label lists are ordered by a sort of that one parameter's
/// labels, `group_concat(ORDER BY)`, as PostgreSQL's `ARRAY(... ORDER BY)` is.)
#[tokio::test]
async fn listings_use_indexes() {
    let (_dir, store) = fresh_store().await;
    for scope in [
        ParameterScope::All,
        ParameterScope::Prefix("a/"),
        ParameterScope::Children("a"),
    ] {
        let plan = plan(&store, &list_sql::<SqliteStore>(scope)).await;
        let sorts_rows = |d: &str| d.contains("TEMP B-TREE") && !d.contains("group_concat");
        assert!(
            plan.iter()
                .all(|d| !d.starts_with("SCAN") && !sorts_rows(d)),
            "{scope:?}: {plan:?}"
        );
    }
    let due = plan(
        &store,
        "SELECT account_id, region, name_key FROM ssm_parameters
         WHERE next_event_at IS NOT NULL AND next_event_at <= 1 ORDER BY next_event_at LIMIT 5",
    )
    .await;
    for d in &due {
        assert!(!d.starts_with("SCAN") && !d.contains("TEMP B-TREE"), "{d}");
    }
}

/// PutSecretValue reads the labelled versions of a secret by its labels, not by scanning all
/// its versions.
#[tokio::test]
async fn labelled_versions_are_probed_by_label() {
    let (_dir, store) = fresh_store().await;
    let sql = crate::repo::secrets::version_sql::<SqliteStore>(
        &crate::repo::secrets::label_columns::<SqliteStore>(),
        crate::repo::secrets::LABELLED_VERSIONS,
    );
    let plan = plan(&store, &sql).await;
    assert!(
        plan.iter()
            .any(|d| d.starts_with("SEARCH v USING INDEX") && d.contains("version_id=?")),
        "{plan:?}"
    );
    assert!(plan.iter().all(|d| !d.starts_with("SCAN")), "{plan:?}");
}
