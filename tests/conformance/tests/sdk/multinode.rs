//! Several `coffer server` nodes on one PostgreSQL schema, driven by the AWS SDK for Rust:
//! read-your-writes across nodes, concurrent writes to one secret through three nodes, one
//! node leading the background jobs and another taking over when it dies, and a node with another
//! master key refusing to start.
//!
//! PostgreSQL: `COFFER_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); each
//! test runs in its own schema, dropped afterwards (the helper is the store contract suite's).

use crate::common::{ACCESS_KEY, SECRET_KEY, Server, sdk_config};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

// Shared with the store contract suite; not every helper is used here.
#[allow(dead_code)]
#[path = "../../../../crates/coffer-store/tests/contract/pg.rs"]
mod pg;

/// The master key every node of a deployment shares (base64 of bytes 0..32).
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Another master key: a node started with it must refuse the store.
const OTHER_MASTER_KEY: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

fn node(store_url: &str) -> Server {
    Server::start_with_env(
        &["--store", store_url],
        &[("COFFER_MASTER_KEY", MASTER_KEY)],
    )
}

async fn client(server: &Server) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(
        &sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await,
    )
}

async fn value(sm: &aws_sdk_secretsmanager::Client, id: &str) -> (String, String) {
    let v = sm.get_secret_value().secret_id(id).send().await.unwrap();
    (
        v.version_id().unwrap().to_owned(),
        v.secret_string().unwrap().to_owned(),
    )
}

/// version id → staging labels.
async fn stages(sm: &aws_sdk_secretsmanager::Client, id: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    let mut token = None;
    loop {
        let page = sm
            .list_secret_version_ids()
            .secret_id(id)
            .include_deprecated(true)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for v in page.versions() {
            out.insert(
                v.version_id().unwrap().to_owned(),
                v.version_stages().to_vec(),
            );
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

fn holder(map: &HashMap<String, Vec<String>>, label: &str) -> Vec<String> {
    map.iter()
        .filter(|(_, l)| l.iter().any(|x| x == label))
        .map(|(v, _)| v.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_one_postgres() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let (a, b, c) = (node(&url), node(&url), node(&url));
            let (sa, sb) = (client(&a).await, client(&b).await);
            let nodes = [sa.clone(), sb.clone(), client(&c).await];

            // Read-your-writes: what one node acknowledged, the other serves at once.
            sa.create_secret()
                .name("shared")
                .secret_string("one")
                .send()
                .await
                .unwrap();
            assert_eq!(value(&sb, "shared").await.1, "one");
            let put = sb
                .put_secret_value()
                .secret_id("shared")
                .secret_string("two")
                .send()
                .await
                .unwrap();
            assert_eq!(
                value(&sa, "shared").await,
                (put.version_id().unwrap().to_owned(), "two".to_owned())
            );
            sa.delete_secret()
                .secret_id("shared")
                .force_delete_without_recovery(true)
                .send()
                .await
                .unwrap();
            let gone = sb.get_secret_value().secret_id("shared").send().await;
            assert!(
                gone.is_err(),
                "a deleted secret is not served by the other node"
            );

            // Eight concurrent writers on one secret through three nodes, and eight retries of
            // one ClientRequestToken spread over them.
            sa.create_secret()
                .name("contended")
                .secret_string("v0")
                .send()
                .await
                .unwrap();
            let mut tasks = Vec::new();
            for w in 0..8 {
                let sm = nodes[w % 3].clone();
                tasks.push(tokio::spawn(async move {
                    let mut ids = Vec::new();
                    for i in 0..5 {
                        let p = sm
                            .put_secret_value()
                            .secret_id("contended")
                            .secret_string(format!("w{w}-{i}"))
                            .send()
                            .await
                            .unwrap();
                        ids.push(p.version_id().unwrap().to_owned());
                    }
                    ids
                }));
            }
            let token = "0123456789abcdef0123456789abcdef";
            for r in 0..8 {
                let sm = nodes[r % 3].clone();
                tasks.push(tokio::spawn(async move {
                    let p = sm
                        .put_secret_value()
                        .secret_id("contended")
                        .client_request_token(token)
                        .secret_string("same")
                        .send()
                        .await
                        .unwrap();
                    vec![p.version_id().unwrap().to_owned()]
                }));
            }
            let mut written = BTreeSet::new();
            for t in tasks {
                written.extend(t.await.unwrap());
            }
            assert_eq!(written.len(), 41, "40 puts and one idempotent token");

            // Every acknowledged version is there, one AWSCURRENT, one AWSPREVIOUS, and every
            // node sees the same labels.
            let map = stages(&sa, "contended").await;
            assert_eq!(map, stages(&sb, "contended").await);
            assert_eq!(map, stages(&nodes[2], "contended").await);
            assert_eq!(map.len(), 42, "v0 and every acknowledged version");
            assert!(written.iter().all(|v| map.contains_key(v)));
            let current = holder(&map, "AWSCURRENT");
            let previous = holder(&map, "AWSPREVIOUS");
            assert_eq!(current.len(), 1, "{map:?}");
            assert_eq!(previous.len(), 1, "{map:?}");
            assert_ne!(current, previous);
            assert!(written.contains(&current[0]) && written.contains(&previous[0]));
            assert_eq!(value(&sb, "contended").await.0, current[0]);

            // The label moves of a write through one node are what the other node reads next:
            // the old AWSCURRENT becomes AWSPREVIOUS.
            let next = sb
                .put_secret_value()
                .secret_id("contended")
                .secret_string("last")
                .send()
                .await
                .unwrap();
            let map = stages(&sa, "contended").await;
            assert_eq!(holder(&map, "AWSCURRENT"), [next.version_id().unwrap()]);
            assert_eq!(holder(&map, "AWSPREVIOUS"), current);

            // No lost updates: sixteen read-modify-writes of one secret through three nodes at
            // once, each adding its own staging label or tag, all survive.
            let mut tasks = Vec::new();
            for i in 0..16 {
                let sm = nodes[i % 3].clone();
                let version = next.version_id().unwrap().to_owned();
                tasks.push(tokio::spawn(async move {
                    if i < 8 {
                        sm.update_secret_version_stage()
                            .secret_id("contended")
                            .version_stage(format!("label-{i}"))
                            .move_to_version_id(version)
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| format!("{e:?}"))
                    } else {
                        sm.tag_resource()
                            .secret_id("contended")
                            .tags(
                                aws_sdk_secretsmanager::types::Tag::builder()
                                    .key(format!("tag-{i}"))
                                    .value("x")
                                    .build(),
                            )
                            .send()
                            .await
                            .map(drop)
                            .map_err(|e| format!("{e:?}"))
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            let map = stages(&sb, "contended").await;
            let labels = &map[next.version_id().unwrap()];
            for i in 0..8 {
                assert!(labels.contains(&format!("label-{i}")), "{labels:?}");
            }
            let described = sa
                .describe_secret()
                .secret_id("contended")
                .send()
                .await
                .unwrap();
            assert_eq!(described.tags().len(), 8, "{:?}", described.tags());
            drop((a, b, c));
        })
        .await;
}

/// The first node leads the background jobs; killed, another node takes them over within ten
/// seconds (the leadership check runs every five).
#[tokio::test]
async fn background_jobs_move_when_the_leader_dies() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let a = node(&url);
            let wait_for = |server: &Server, what: &str, within: Duration| {
                let deadline = Instant::now() + within;
                while Instant::now() < deadline {
                    if server.log_text().contains(what) {
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                false
            };
            assert!(
                wait_for(&a, "leading background job", Duration::from_secs(10)),
                "the only node leads: {}",
                a.log_text()
            );
            let b = node(&url);
            std::thread::sleep(Duration::from_secs(6));
            assert!(
                !b.log_text().contains("leading background job"),
                "one leader at a time: {}",
                b.log_text()
            );
            drop(a); // SIGKILL: no graceful release, the session just dies.
            let killed = Instant::now();
            assert!(
                wait_for(&b, "leading background job", Duration::from_secs(10)),
                "the surviving node took over: {}",
                b.log_text()
            );
            eprintln!("leadership moved in {:?}", killed.elapsed());
        })
        .await;
}

/// A node whose master key is not the one the store was initialised with refuses to start.
#[tokio::test]
async fn a_node_with_another_master_key_refuses_to_start() {
    let Some(schema) = pg::Schema::create().await else {
        return;
    };
    let url = schema.url.clone();
    schema
        .run(async move {
            let _a = node(&url);
            let dir = tempfile::tempdir().unwrap();
            let mut child = std::process::Command::new(crate::common::binary())
                .args(["server", "--listen", "127.0.0.1:0", "--store", &url])
                .arg("--data-dir")
                .arg(dir.path().join("data"))
                .env("COFFER_MASTER_KEY", OTHER_MASTER_KEY)
                .env("COFFER_NO_THROTTLE", "true")
                .env("COFFER_ROOT_ACCESS_KEY_ID", ACCESS_KEY)
                .env("COFFER_ROOT_SECRET_ACCESS_KEY", SECRET_KEY)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            // A node that wrongly starts would serve forever: give it 30 s to refuse.
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("a node with another master key started serving");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{stderr}");
            assert!(
                stderr.contains("the master key does not match the store"),
                "{stderr}"
            );
        })
        .await;
}
