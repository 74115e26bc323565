//! Parameter Store against a real SQLite store and real KMS, without HTTP: the property test of
//! path listings, quotas, policies and housekeeping (which need a clock the tests control).
#![allow(clippy::unwrap_used)]

use super::*;
use crate::{Principal, RequestContext, ServiceError, Services};
use coffer_crypto::MasterKey;
use coffer_types::{AccountId, Region};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;

struct Env {
    ssm: Ssm,
    kms: Kms,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = coffer_store::open(&url).await.unwrap();
    store.ensure_account("000000000000", 0).await.unwrap();
    let services = Services::new(store, Arc::new(MasterKey::generate().unwrap()));
    Env {
        ssm: services.ssm,
        kms: services.kms,
        _dir: dir,
    }
}

const NOW: i64 = 1_800_000_000_000;

fn ctx(now: i64) -> RequestContext {
    RequestContext {
        principal: Principal {
            account_id: AccountId::parse("000000000000").unwrap(),
            arn: "arn:aws:iam::000000000000:root".into(),
            user_id: "000000000000".into(),
            access_key_id: "AKIATEST".into(),
            session: None,
            tags: Vec::new(),
        },
        region: Region::parse("us-east-1").unwrap(),
        request_id: "req-1".into(),
        now,
        dev: false,
        source_ip: None,
        secure_transport: false,
        via_service: None,
    }
}

async fn call(ssm: &Ssm, now: i64, op: &str, input: Value) -> Result<Value, SsmError> {
    ssm.dispatch(&ctx(now), op, input).await
}

async fn ok(ssm: &Ssm, now: i64, op: &str, input: Value) -> Value {
    match call(ssm, now, op, input).await {
        Ok(v) => v,
        Err(e) => panic!("{op}: {} {}", e.code(), e.message()),
    }
}

async fn err(ssm: &Ssm, now: i64, op: &str, input: Value) -> SsmError {
    call(ssm, now, op, input)
        .await
        .expect_err("the call should have failed")
}

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<ParameterEvent>>);

impl ParameterEvents for Recorder {
    fn emit(&self, event: &ParameterEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

impl Recorder {
    fn kinds(&self) -> Vec<(ParameterEventKind, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| (e.kind, e.name.clone()))
            .collect()
    }
}

#[tokio::test]
async fn quotas_are_enforced_per_tier() {
    let e = env().await;
    let ssm = e.ssm.clone().with_limits(Limits {
        standard_parameters: 2,
        advanced_parameters: 1,
    });
    for n in ["/q/a", "/q/b"] {
        ok(
            &ssm,
            NOW,
            "PutParameter",
            json!({"Name": n, "Value": "v", "Type": "String"}),
        )
        .await;
    }
    let e1 = err(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/q/c", "Value": "v", "Type": "String"}),
    )
    .await;
    assert_eq!(e1.code(), "ParameterLimitExceeded");
    assert_eq!(
        e1.message(),
        "You have exceeded the number of parameters for this AWS account. Delete one or more parameters and try again."
    );
    // Overwriting an existing one still works at the limit.
    ok(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/q/a", "Value": "v2", "Overwrite": true}),
    )
    .await;
    // Intelligent-Tiering moves to Advanced when Standard is full.
    let out = ok(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/q/c", "Value": "v", "Type": "String", "Tier": "Intelligent-Tiering"}),
    )
    .await;
    assert_eq!(out["Tier"], "Advanced");
    let e2 = err(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/q/d", "Value": "v", "Type": "String", "Tier": "Advanced"}),
    )
    .await;
    assert_eq!(e2.code(), "ParameterLimitExceeded");
    // Deleting frees a slot.
    ok(&ssm, NOW, "DeleteParameter", json!({"Name": "/q/b"})).await;
    ok(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/q/e", "Value": "v", "Type": "String"}),
    )
    .await;
}

#[tokio::test]
async fn expiration_is_lazy_and_swept() {
    let e = env().await;
    let events = Arc::new(Recorder::default());
    let ssm = e.ssm.clone().with_events(events.clone());
    let in_a_day = NOW + 86_400_000;
    let stamp = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let policies = json!([
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": stamp(in_a_day)}},
        {"Type": "ExpirationNotification", "Version": "1.0", "Attributes": {"Before": "1", "Unit": "Hours"}},
        {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"After": "2", "Unit": "Hours"}}
    ])
    .to_string();
    for n in ["/exp/lazy", "/exp/swept"] {
        let out = ok(
            &ssm,
            NOW,
            "PutParameter",
            json!({"Name": n, "Value": "v", "Type": "String", "Tier": "Advanced", "Policies": policies}),
        )
        .await;
        assert_eq!(out["Tier"], "Advanced");
    }
    // Standard tier parameters take no policies.
    let e1 = err(
        &ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/exp/std", "Value": "v", "Type": "String", "Tier": "Standard", "Policies": policies}),
    )
    .await;
    assert_eq!(e1.code(), "ValidationException");
    let d = ok(
        &ssm,
        NOW,
        "DescribeParameters",
        json!({"ParameterFilters": [{"Key": "Name", "Values": ["/exp/lazy"]}]}),
    )
    .await;
    let pols = d["Parameters"][0]["Policies"].as_array().unwrap();
    assert_eq!(pols.len(), 3);
    assert!(pols.iter().all(|p| p["PolicyStatus"] == "Pending"));

    // Nothing is due yet.
    ssm.housekeeping(NOW + 1000).await.unwrap();
    assert!(events.kinds().is_empty());
    // Two hours on, nothing has changed: the no-change notifications go, once.
    ssm.housekeeping(NOW + 2 * 3_600_000 + 1).await.unwrap();
    ssm.housekeeping(NOW + 2 * 3_600_000 + 2).await.unwrap();
    let kinds = events.kinds();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|(k, _)| *k == ParameterEventKind::NoChangeNotification)
    );
    // An hour before expiry: the expiration notifications.
    ssm.housekeeping(in_a_day - 3_600_000).await.unwrap();
    assert_eq!(
        events
            .kinds()
            .iter()
            .filter(|(k, _)| *k == ParameterEventKind::ExpirationNotification)
            .count(),
        2
    );
    let d = ok(
        &ssm,
        NOW,
        "DescribeParameters",
        json!({"ParameterFilters": [{"Key": "Name", "Values": ["/exp/swept"]}]}),
    )
    .await;
    let finished: Vec<&Value> = d["Parameters"][0]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["PolicyStatus"] == "Finished")
        .collect();
    assert_eq!(finished.len(), 2);

    // Past expiry, a read finds the parameter gone (and deletes it).
    let gone = err(
        &ssm,
        in_a_day + 1,
        "GetParameter",
        json!({"Name": "/exp/lazy"}),
    )
    .await;
    assert_eq!(gone.code(), "ParameterNotFound");
    assert!(
        events
            .kinds()
            .contains(&(ParameterEventKind::Expired, "/exp/lazy".to_owned()))
    );
    // The sweep deletes the other one without a read.
    ssm.housekeeping(in_a_day + 1).await.unwrap();
    assert!(
        events
            .kinds()
            .contains(&(ParameterEventKind::Expired, "/exp/swept".to_owned()))
    );
    let listed = ok(&ssm, NOW, "GetParametersByPath", json!({"Path": "/exp"})).await;
    assert!(listed["Parameters"].as_array().unwrap().is_empty());
    // Each parameter expired once.
    assert_eq!(
        events
            .kinds()
            .iter()
            .filter(|(k, _)| *k == ParameterEventKind::Expired)
            .count(),
        2
    );
}

#[tokio::test]
async fn overwrite_resets_the_no_change_clock() {
    let e = env().await;
    let events = Arc::new(Recorder::default());
    let ssm = e.ssm.clone().with_events(events.clone());
    let policies =
        json!([{"Type": "NoChangeNotification", "Attributes": {"After": "1", "Unit": "Days"}}])
            .to_string();
    ok(&ssm, NOW, "PutParameter", json!({"Name": "/nc", "Value": "a", "Type": "String", "Tier": "Advanced", "Policies": policies})).await;
    let day = 86_400_000;
    ok(
        &ssm,
        NOW + day / 2,
        "PutParameter",
        json!({"Name": "/nc", "Value": "b", "Overwrite": true}),
    )
    .await;
    ssm.housekeeping(NOW + day + 1).await.unwrap();
    assert!(events.kinds().is_empty(), "changed half a day ago");
    ssm.housekeeping(NOW + day / 2 + day + 1).await.unwrap();
    assert_eq!(events.kinds().len(), 1);
}

#[tokio::test]
async fn a_hundred_versions_are_kept() {
    let e = env().await;
    let ssm = &e.ssm;
    ok(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/v", "Value": "1", "Type": "String"}),
    )
    .await;
    ok(
        ssm,
        NOW,
        "LabelParameterVersion",
        json!({"Name": "/v", "ParameterVersion": 1, "Labels": ["first"]}),
    )
    .await;
    for i in 2..=100 {
        ok(
            ssm,
            NOW,
            "PutParameter",
            json!({"Name": "/v", "Value": i.to_string(), "Overwrite": true}),
        )
        .await;
    }
    // Version 101 would drop version 1, which is labelled.
    let e1 = err(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/v", "Value": "101", "Overwrite": true}),
    )
    .await;
    assert_eq!(e1.code(), "ParameterMaxVersionLimitExceeded");
    assert!(
        e1.message()
            .contains("Version 1, the oldest version, can't be deleted"),
        "{}",
        e1.message()
    );
    // Move the label; now the oldest goes.
    ok(
        ssm,
        NOW,
        "LabelParameterVersion",
        json!({"Name": "/v", "ParameterVersion": 50, "Labels": ["first"]}),
    )
    .await;
    let out = ok(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/v", "Value": "101", "Overwrite": true}),
    )
    .await;
    assert_eq!(out["Version"], 101);
    let gone = err(ssm, NOW, "GetParameter", json!({"Name": "/v:1"})).await;
    assert_eq!(gone.code(), "ParameterVersionNotFound");
    assert_eq!(
        ok(ssm, NOW, "GetParameter", json!({"Name": "/v:2"})).await["Parameter"]["Value"],
        "2"
    );
    assert_eq!(
        ok(ssm, NOW, "GetParameter", json!({"Name": "/v:first"})).await["Parameter"]["Value"],
        "50"
    );
    // History pages through exactly the 100 kept versions.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut input = json!({"Name": "/v", "MaxResults": 30});
        if let Some(t) = &next {
            input["NextToken"] = json!(t);
        }
        let page = ok(ssm, NOW, "GetParameterHistory", input).await;
        for p in page["Parameters"].as_array().unwrap() {
            seen.push(p["Version"].as_i64().unwrap());
        }
        match page["NextToken"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, (2..=101).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_disabled_key_refuses_reads_and_writes() {
    let e = env().await;
    let ssm = &e.ssm;
    let key = e
        .kms
        .dispatch(&ctx(NOW), "CreateKey", json!({}))
        .await
        .unwrap();
    let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    ok(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/k", "Value": "top-secret-value", "Type": "SecureString", "KeyId": key_id}),
    )
    .await;
    e.kms
        .dispatch(&ctx(NOW), "DisableKey", json!({"KeyId": key_id}))
        .await
        .unwrap();
    let e1 = err(
        ssm,
        NOW,
        "GetParameter",
        json!({"Name": "/k", "WithDecryption": true}),
    )
    .await;
    assert_eq!(e1.code(), "InvalidKeyId");
    assert!(
        e1.message().contains("DisabledException"),
        "{}",
        e1.message()
    );
    assert!(!e1.message().contains("top-secret-value"));
    // Without decryption the ciphertext still comes back.
    let v = ok(ssm, NOW, "GetParameter", json!({"Name": "/k"})).await;
    assert_ne!(v["Parameter"]["Value"], "top-secret-value");
    let e2 = err(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/k", "Value": "x", "Overwrite": true}),
    )
    .await;
    assert_eq!(e2.code(), "InvalidKeyId");
    let e3 = err(
        ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/k2", "Value": "x", "Type": "SecureString", "KeyId": "alias/nope"}),
    )
    .await;
    assert_eq!(e3.code(), "InvalidKeyId");
    assert!(
        e3.message().contains("NotFoundException"),
        "{}",
        e3.message()
    );
}

/// A random hierarchy: names built from a tiny alphabet so that paths overlap a lot.
fn tree() -> impl Strategy<Value = (BTreeSet<(String, bool)>, Vec<String>)> {
    let level = prop::sample::select(vec!["a", "b", "c"]);
    let name = (
        prop::collection::vec(level, 1..=4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(levels, bare, string_list)| {
            // A top-level name may be written without its slash; both forms are one parameter.
            let name = if levels.len() == 1 && bare {
                levels[0].to_owned()
            } else {
                format!("/{}", levels.join("/"))
            };
            (name, string_list)
        });
    let path = prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 0..=3)
        .prop_map(|levels| format!("/{}", levels.join("/")));
    (
        prop::collection::btree_set(name, 0..24),
        prop::collection::vec(path, 1..4),
    )
}

fn key_of(name: &str) -> &str {
    name.trim_start_matches('/')
}

/// GetParametersByPath (recursive or not, any page size, with or without a Type filter) pages
/// through exactly what a naive filter of every name finds, in key order, without repeats.
#[test]
fn paths_page_through_what_a_naive_filter_finds() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    };
    proptest!(config, |((names, paths) in tree(), recursive in any::<bool>(), max in 1i32..=10, filtered in any::<bool>())| {
        rt.block_on(async {
            let e = env().await;
            let ssm = &e.ssm;
            // The first form of a key wins; the other is the same parameter.
            let mut stored: Vec<(String, bool)> = Vec::new();
            for (name, list) in &names {
                if stored.iter().any(|(n, _)| key_of(n) == key_of(name)) {
                    continue;
                }
                let t = if *list { "StringList" } else { "String" };
                ok(ssm, NOW, "PutParameter", json!({"Name": name, "Value": "v", "Type": t})).await;
                stored.push((name.clone(), *list));
            }
            for path in &paths {
                let parent = key_of(path);
                let mut expected: Vec<&str> = stored
                    .iter()
                    .filter(|(_, list)| !filtered || !*list)
                    .map(|(n, _)| n.as_str())
                    .filter(|n| {
                        let key = key_of(n);
                        let key_parent = key.rsplit_once('/').map_or("", |(p, _)| p);
                        if recursive {
                            parent.is_empty() || key.starts_with(&format!("{parent}/"))
                        } else {
                            key_parent == parent
                        }
                    })
                    .collect();
                expected.sort_by_key(|n| key_of(n).to_owned());
                let mut got: Vec<String> = Vec::new();
                let mut next: Option<String> = None;
                for _ in 0..100 {
                    let mut input = json!({"Path": path, "Recursive": recursive, "MaxResults": max});
                    if filtered {
                        input["ParameterFilters"] = json!([{"Key": "Type", "Values": ["String"]}]);
                    }
                    if let Some(t) = &next {
                        input["NextToken"] = json!(t);
                    }
                    let page = ok(ssm, NOW, "GetParametersByPath", input).await;
                    let items = page["Parameters"].as_array().unwrap();
                    assert!(items.len() <= usize::try_from(max).unwrap());
                    got.extend(items.iter().map(|p| p["Name"].as_str().unwrap().to_owned()));
                    match page["NextToken"].as_str() {
                        Some(t) => next = Some(t.to_owned()),
                        None => break,
                    }
                }
                assert_eq!(got, expected, "path {path} recursive {recursive} max {max}");

                // DescribeParameters with the same path as a filter agrees.
                let option = if recursive { "Recursive" } else { "OneLevel" };
                let mut described: Vec<String> = Vec::new();
                let mut next: Option<String> = None;
                loop {
                    let mut filters = vec![json!({"Key": "Path", "Option": option, "Values": [path]})];
                    if filtered {
                        filters.push(json!({"Key": "Type", "Values": ["String"]}));
                    }
                    let mut input = json!({"ParameterFilters": filters, "MaxResults": max});
                    if let Some(t) = &next {
                        input["NextToken"] = json!(t);
                    }
                    let page = ok(ssm, NOW, "DescribeParameters", input).await;
                    described.extend(
                        page["Parameters"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| p["Name"].as_str().unwrap().to_owned()),
                    );
                    match page["NextToken"].as_str() {
                        Some(t) => next = Some(t.to_owned()),
                        None => break,
                    }
                }
                assert_eq!(described, expected, "describe path {path} {option}");
            }
        });
    });
}

/// Concurrent writers of one parameter each get their own version; none is lost, none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_overwrites_each_get_a_version() {
    let e = env().await;
    ok(
        &e.ssm,
        NOW,
        "PutParameter",
        json!({"Name": "/race", "Value": "0", "Type": "SecureString"}),
    )
    .await;
    let mut tasks = Vec::new();
    for i in 1..=8 {
        let ssm = e.ssm.clone();
        tasks.push(tokio::spawn(async move {
            let out = call(
                &ssm,
                NOW,
                "PutParameter",
                json!({"Name": "/race", "Value": i.to_string(), "Overwrite": true}),
            )
            .await;
            let label = call(
                &ssm,
                NOW,
                "LabelParameterVersion",
                json!({"Name": "/race", "Labels": [format!("w{i}")]}),
            )
            .await;
            (out.map(|o| o["Version"].as_i64()), label.is_ok())
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let (out, labelled) = t.await.unwrap();
        versions.push(out.unwrap().unwrap());
        assert!(labelled);
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=9).collect::<Vec<_>>());
    // Every version holds the value its writer put, and every label landed somewhere.
    let history = ok(
        &e.ssm,
        NOW,
        "GetParameterHistory",
        json!({"Name": "/race", "WithDecryption": true}),
    )
    .await;
    let entries = history["Parameters"].as_array().unwrap();
    assert_eq!(entries.len(), 9);
    let labels: usize = entries
        .iter()
        .map(|h| h["Labels"].as_array().unwrap().len())
        .sum();
    assert_eq!(labels, 8);
}
