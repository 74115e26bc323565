//! Query plans on PostgreSQL (needs the test server, like the contract suite).
#![allow(clippy::unwrap_used)]

use super::PostgresStore;
use super::test_pg as pg;
use crate::parameters::ParameterScope;
use crate::repo::parameters::list_sql;

/// The plan of `sql` with text `binds` and then, if given, a BIGINT limit.
async fn plan(
    conn: &mut sqlx::PgConnection,
    sql: String,
    binds: &[&str],
    limit: Option<i64>,
) -> Vec<String> {
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
    for b in binds {
        q = q.bind(*b);
    }
    if let Some(l) = limit {
        q = q.bind(l);
    }
    q.fetch_all(conn).await.unwrap()
}

/// As on SQLite: every listing is an index range scan in key order, never a table scan or a
/// sort of the matching rows, so a page costs the same in a store of any size. (Seq scans
/// are disabled: on empty tables the planner would rightly prefer them.)
#[tokio::test]
async fn listings_use_indexes() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let store = PostgresStore::open(&url).await.unwrap();
            let mut conn = store.pool.acquire().await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            let cases: [(ParameterScope<'_>, &[&str]); 3] = [
                (ParameterScope::All, &["a", "r", ""]),
                (
                    ParameterScope::Prefix("a/"),
                    &["a", "r", "a/", "a/\u{10FFFF}", ""],
                ),
                (ParameterScope::Children("a"), &["a", "r", "a", ""]),
            ];
            for (scope, binds) in cases {
                let lines =
                    plan(&mut conn, list_sql::<PostgresStore>(scope), binds, Some(10)).await;
                assert!(
                    lines
                        .iter()
                        .all(|l| !l.contains("Seq Scan") && !l.contains("Sort Key: p.name_key")),
                    "{scope:?}: {lines:#?}"
                );
            }
            let lines = plan(
                &mut conn,
                "SELECT account_id, region, name_key FROM ssm_parameters
                 WHERE next_event_at IS NOT NULL AND next_event_at <= 1
                 ORDER BY next_event_at LIMIT 5"
                    .to_owned(),
                &[],
                None,
            )
            .await;
            assert!(
                lines
                    .iter()
                    .all(|l| !l.contains("Seq Scan") && !l.contains("Sort Key")),
                "{lines:#?}"
            );
            drop(conn);
            store.close().await;
        })
        .await;
}
