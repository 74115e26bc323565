//! Contract: SSM parameters, versions, labels, tier counts, settings and resource policies.

use coffer_store::*;

const A: &str = "000000000000";
const R: &str = "us-east-1";

fn param(name: &str, version: i64, tier: &str) -> ParameterRecord {
    ParameterRecord {
        account_id: A.into(),
        region: R.into(),
        name: name.into(),
        param_type: "String".into(),
        tier: tier.into(),
        data_type: "text".into(),
        key_id: None,
        description: Some("d".into()),
        allowed_pattern: None,
        policies: None,
        version,
        last_modified_at: 100 + version,
        last_modified_user: "arn:aws:iam::000000000000:root".into(),
        tags: vec![Tag {
            key: "team".into(),
            value: "pay\"ments".into(),
        }],
        expires_at: None,
        next_event_at: None,
        row_version: 1,
    }
}

fn ver(p: &ParameterRecord, value: &str) -> ParameterVersionRecord {
    ParameterVersionRecord {
        version: p.version,
        param_type: p.param_type.clone(),
        tier: p.tier.clone(),
        data_type: p.data_type.clone(),
        key_id: p.key_id.clone(),
        description: p.description.clone(),
        allowed_pattern: p.allowed_pattern.clone(),
        policies: p.policies.clone(),
        last_modified_at: p.last_modified_at,
        last_modified_user: p.last_modified_user.clone(),
        value: StoredValue::Plain(value.into()),
        labels: vec![],
    }
}

async fn create(s: &Store, name: &str, tier: &str, value: &str) -> ParameterRecord {
    let p = param(name, 1, tier);
    let out = s
        .put_parameter(ParameterWrite {
            parameter: &p,
            create: true,
            version: &ver(&p, value),
            prune: None,
            tier_limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(out, WriteOutcome::Written);
    p
}

/// Write version `current.version + 1` with the given tier; returns the new record as stored.
async fn overwrite(
    s: &Store,
    current: &ParameterRecord,
    tier: &str,
    value: &str,
) -> ParameterRecord {
    let mut next = current.clone();
    next.version += 1;
    next.tier = tier.into();
    next.last_modified_at += 1;
    let out = s
        .put_parameter(ParameterWrite {
            parameter: &next,
            create: false,
            version: &ver(&next, value),
            prune: None,
            tier_limit: 1000,
        })
        .await
        .unwrap();
    assert_eq!(out, WriteOutcome::Written);
    next.row_version += 1;
    next
}

fn plain(v: &ParameterVersionRecord) -> &str {
    match &v.value {
        StoredValue::Plain(s) => s,
        StoredValue::Sealed { .. } => panic!("expected a plain value"),
    }
}

fn names(ps: &[StoredParameter]) -> Vec<&str> {
    ps.iter().map(|p| p.parameter.name.as_str()).collect()
}

pub async fn versions_and_cas(s: &Store) {
    let p1 = create(s, "/app/db/url", "Standard", "v1").await;
    // One key per ARN: `/x` and `x` are the same parameter.
    let dup = param("app/db/url", 1, "Standard");
    assert!(matches!(
        s.put_parameter(ParameterWrite {
            parameter: &dup,
            create: true,
            version: &ver(&dup, "x"),
            prune: None,
            tier_limit: 1000,
        })
        .await,
        Err(StoreError::Conflict)
    ));
    let got = s.get_parameter(A, R, "app/db/url").await.unwrap().unwrap();
    assert_eq!(got.parameter, p1);
    assert_eq!(plain(&got.current), "v1");
    assert_eq!(got.current.version, 1);
    assert!(
        s.get_parameter(A, "eu-west-1", "app/db/url")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.get_parameter("111111111111", R, "app/db/url")
            .await
            .unwrap()
            .is_none()
    );

    let p2 = overwrite(s, &p1, "Standard", "v2").await;
    // A writer holding the old row_version loses.
    let mut stale = p1.clone();
    stale.version = 2;
    assert!(matches!(
        s.put_parameter(ParameterWrite {
            parameter: &stale,
            create: false,
            version: &ver(&stale, "lost"),
            prune: None,
            tier_limit: 1000,
        })
        .await,
        Err(StoreError::Conflict)
    ));
    let got = s.get_parameter(A, R, "app/db/url").await.unwrap().unwrap();
    assert_eq!(got.parameter, p2);
    assert_eq!(plain(&got.current), "v2");
    assert_eq!(
        plain(
            &s.get_parameter_version(A, R, "app/db/url", 1)
                .await
                .unwrap()
                .unwrap()
        ),
        "v1"
    );
    assert!(
        s.get_parameter_version(A, R, "app/db/url", 3)
            .await
            .unwrap()
            .is_none()
    );

    // Pruning the oldest version in the same write.
    let mut p3 = p2.clone();
    p3.version = 3;
    s.put_parameter(ParameterWrite {
        parameter: &p3,
        create: false,
        version: &ver(&p3, "v3"),
        prune: Some(1),
        tier_limit: 1000,
    })
    .await
    .unwrap();
    p3.row_version += 1;
    assert_eq!(
        s.oldest_parameter_version(A, R, "app/db/url")
            .await
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        s.count_parameter_versions(A, R, "app/db/url")
            .await
            .unwrap(),
        2
    );
    let history = s
        .list_parameter_versions(A, R, "app/db/url", None, 10)
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let page = s
        .list_parameter_versions(A, R, "app/db/url", Some(2), 10)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(plain(&page[0]), "v3");

    // Metadata updates are compare-and-set too.
    let mut tagged = p3.clone();
    tagged.tags.push(Tag {
        key: "env".into(),
        value: "prod".into(),
    });
    tagged.next_event_at = Some(5);
    s.update_parameter(&tagged).await.unwrap();
    assert!(matches!(
        s.update_parameter(&tagged).await,
        Err(StoreError::Conflict)
    ));
    let got = s.get_parameter(A, R, "app/db/url").await.unwrap().unwrap();
    assert_eq!(got.parameter.tags, tagged.tags);
    assert_eq!(got.parameter.row_version, tagged.row_version + 1);

    // Delete under a stale row_version does nothing; then for real; then it is gone.
    assert!(
        !s.delete_parameter(A, R, "app/db/url", Some(1))
            .await
            .unwrap()
    );
    assert!(s.delete_parameter(A, R, "app/db/url", None).await.unwrap());
    assert!(!s.delete_parameter(A, R, "app/db/url", None).await.unwrap());
    assert!(s.get_parameter(A, R, "app/db/url").await.unwrap().is_none());
    assert!(
        s.get_parameter_version(A, R, "app/db/url", 2)
            .await
            .unwrap()
            .is_none()
    );
    // The name can be used again, from version 1.
    create(s, "/app/db/url", "Standard", "again").await;
    assert!(s.delete_parameter(A, R, "app/db/url", None).await.unwrap());
}

pub async fn sealed_values(s: &Store) {
    let mut p = param("/sealed", 1, "Standard");
    p.param_type = "SecureString".into();
    p.key_id = Some("alias/aws/ssm".into());
    let mut v = ver(&p, "");
    v.value = StoredValue::Sealed {
        key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
        data_key: vec![1; 80],
        ciphertext: vec![2; 44],
    };
    s.put_parameter(ParameterWrite {
        parameter: &p,
        create: true,
        version: &v,
        prune: None,
        tier_limit: 1000,
    })
    .await
    .unwrap();
    let got = s.get_parameter(A, R, "sealed").await.unwrap().unwrap();
    assert_eq!(got.current.value, v.value);
    assert_eq!(got.parameter.key_id.as_deref(), Some("alias/aws/ssm"));
    // Debug output never shows a value or a ciphertext's bytes.
    let shown = format!("{:?}", got.current);
    assert!(!shown.contains("[2, 2"), "{shown}");
    let shown = format!("{:?}", ver(&p, "hunter2"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(s.delete_parameter(A, R, "sealed", None).await.unwrap());
}

pub async fn labels(s: &Store) {
    let p1 = create(s, "/lab", "Standard", "one").await;
    let p2 = overwrite(s, &p1, "Standard", "two").await;
    let attach = vec![("prod".to_owned(), 1), ("beta".to_owned(), 2)];
    s.change_parameter_labels(LabelChange {
        account_id: A,
        region: R,
        key: "lab",
        row_version: p2.row_version,
        attach: &attach,
        detach: &[],
        detach_from: 0,
    })
    .await
    .unwrap();
    // A stale change is refused.
    assert!(matches!(
        s.change_parameter_labels(LabelChange {
            account_id: A,
            region: R,
            key: "lab",
            row_version: p2.row_version,
            attach: &attach,
            detach: &[],
            detach_from: 0,
        })
        .await,
        Err(StoreError::Conflict)
    ));
    let got = s.get_parameter(A, R, "lab").await.unwrap().unwrap();
    assert_eq!(
        got.labels,
        vec![("beta".to_owned(), 2), ("prod".to_owned(), 1)]
    );
    assert_eq!(got.current.labels, vec!["beta".to_owned()]);
    assert_eq!(
        s.get_parameter_version(A, R, "lab", 1)
            .await
            .unwrap()
            .unwrap()
            .labels,
        vec!["prod".to_owned()]
    );
    // Moving a label: it leaves version 1.
    let row_version = got.parameter.row_version;
    s.change_parameter_labels(LabelChange {
        account_id: A,
        region: R,
        key: "lab",
        row_version,
        attach: &[("prod".to_owned(), 2)],
        detach: &["beta".to_owned()],
        detach_from: 2,
    })
    .await
    .unwrap();
    let got = s.get_parameter(A, R, "lab").await.unwrap().unwrap();
    assert_eq!(got.labels, vec![("prod".to_owned(), 2)]);
    let history = s
        .list_parameter_versions(A, R, "lab", None, 10)
        .await
        .unwrap();
    assert!(history[0].labels.is_empty());
    assert_eq!(history[1].labels, vec!["prod".to_owned()]);
    // Pruning a version takes its labels with it.
    let mut p3 = got.parameter.clone();
    p3.version = 3;
    s.put_parameter(ParameterWrite {
        parameter: &p3,
        create: false,
        version: &ver(&p3, "three"),
        prune: Some(2),
        tier_limit: 1000,
    })
    .await
    .unwrap();
    assert!(
        s.get_parameter(A, R, "lab")
            .await
            .unwrap()
            .unwrap()
            .labels
            .is_empty()
    );
    assert!(s.delete_parameter(A, R, "lab", None).await.unwrap());
}

pub async fn listings(s: &Store) {
    for n in [
        "/t/a", "/t/b/c", "/t/b/d", "/t/b/e/f", "/tt", "/t0", "top", "/u/x",
    ] {
        create(s, n, "Standard", n).await;
    }
    let q = |scope, after, limit| ParameterListQuery {
        account_id: A,
        region: R,
        scope,
        after,
        limit,
    };
    // Subtree, in key order, paged.
    let all = s
        .list_parameters(&q(ParameterScope::Prefix("t/"), None, 100))
        .await
        .unwrap();
    assert_eq!(names(&all), vec!["/t/a", "/t/b/c", "/t/b/d", "/t/b/e/f"]);
    assert_eq!(plain(&all[1].current), "/t/b/c");
    let first = s
        .list_parameters(&q(ParameterScope::Prefix("t/"), None, 2))
        .await
        .unwrap();
    assert_eq!(names(&first), vec!["/t/a", "/t/b/c"]);
    let rest = s
        .list_parameters(&q(ParameterScope::Prefix("t/"), Some("t/b/c"), 2))
        .await
        .unwrap();
    assert_eq!(names(&rest), vec!["/t/b/d", "/t/b/e/f"]);
    // One level.
    let kids = s
        .list_parameters(&q(ParameterScope::Children("t/b"), None, 100))
        .await
        .unwrap();
    assert_eq!(names(&kids), vec!["/t/b/c", "/t/b/d"]);
    let top = s
        .list_parameters(&q(ParameterScope::Children(""), None, 100))
        .await
        .unwrap();
    assert_eq!(names(&top), vec!["/t0", "top", "/tt"]);
    // Everything, after a key.
    let after = s
        .list_parameters(&q(ParameterScope::All, Some("tt"), 100))
        .await
        .unwrap();
    assert_eq!(names(&after), vec!["/u/x"]);
    // Other regions see nothing.
    let other = s
        .list_parameters(&ParameterListQuery {
            account_id: A,
            region: "eu-west-1",
            scope: ParameterScope::All,
            after: None,
            limit: 100,
        })
        .await
        .unwrap();
    assert!(other.is_empty());
    for n in ["t/a", "t/b/c", "t/b/d", "t/b/e/f", "tt", "t0", "top", "u/x"] {
        assert!(s.delete_parameter(A, R, n, None).await.unwrap());
    }
}

pub async fn tiers(s: &Store) {
    let base_std = s.count_parameters(A, R, "Standard").await.unwrap();
    let base_adv = s.count_parameters(A, R, "Advanced").await.unwrap();
    assert_eq!((base_std, base_adv), (0, 0));
    let a = create(s, "/tier/a", "Standard", "x").await;
    create(s, "/tier/b", "Standard", "x").await;
    assert_eq!(s.count_parameters(A, R, "Standard").await.unwrap(), 2);
    // A third Standard parameter with a limit of 2 is refused, and nothing is written.
    let c = param("/tier/c", 1, "Standard");
    let out = s
        .put_parameter(ParameterWrite {
            parameter: &c,
            create: true,
            version: &ver(&c, "x"),
            prune: None,
            tier_limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(out, WriteOutcome::TierLimitExceeded);
    assert!(s.get_parameter(A, R, "tier/c").await.unwrap().is_none());
    assert_eq!(s.count_parameters(A, R, "Standard").await.unwrap(), 2);
    // Moving a parameter to Advanced moves its count.
    let a2 = overwrite(s, &a, "Advanced", "y").await;
    assert_eq!(s.count_parameters(A, R, "Standard").await.unwrap(), 1);
    assert_eq!(s.count_parameters(A, R, "Advanced").await.unwrap(), 1);
    // Overwriting within a tier does not count again, even at the limit.
    let mut a3 = a2.clone();
    a3.version = 3;
    let out = s
        .put_parameter(ParameterWrite {
            parameter: &a3,
            create: false,
            version: &ver(&a3, "z"),
            prune: None,
            tier_limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(out, WriteOutcome::Written);
    // A move into a full tier is refused and leaves the parameter as it was.
    let b = s
        .get_parameter(A, R, "tier/b")
        .await
        .unwrap()
        .unwrap()
        .parameter;
    let mut b2 = b.clone();
    b2.version = 2;
    b2.tier = "Advanced".into();
    let out = s
        .put_parameter(ParameterWrite {
            parameter: &b2,
            create: false,
            version: &ver(&b2, "w"),
            prune: None,
            tier_limit: 1,
        })
        .await
        .unwrap();
    assert_eq!(out, WriteOutcome::TierLimitExceeded);
    let b_now = s.get_parameter(A, R, "tier/b").await.unwrap().unwrap();
    assert_eq!(b_now.parameter, b);
    assert_eq!(b_now.current.version, 1);
    // Deletes release their tier.
    assert!(s.delete_parameter(A, R, "tier/a", None).await.unwrap());
    assert!(s.delete_parameter(A, R, "tier/b", None).await.unwrap());
    assert_eq!(s.count_parameters(A, R, "Standard").await.unwrap(), 0);
    assert_eq!(s.count_parameters(A, R, "Advanced").await.unwrap(), 0);
}

pub async fn housekeeping_index(s: &Store) {
    let mut p = param("/due", 1, "Advanced");
    p.next_event_at = Some(500);
    p.expires_at = Some(600);
    s.put_parameter(ParameterWrite {
        parameter: &p,
        create: true,
        version: &ver(&p, "x"),
        prune: None,
        tier_limit: 1000,
    })
    .await
    .unwrap();
    let mut later = param("/later", 1, "Standard");
    later.next_event_at = Some(900);
    later.account_id = "111111111111".into();
    s.put_parameter(ParameterWrite {
        parameter: &later,
        create: true,
        version: &ver(&later, "x"),
        prune: None,
        tier_limit: 1000,
    })
    .await
    .unwrap();
    assert!(s.parameters_due(499, 10).await.unwrap().is_empty());
    assert_eq!(
        s.parameters_due(1000, 10).await.unwrap(),
        vec![
            ParameterId {
                account_id: A.into(),
                region: R.into(),
                key: "due".into()
            },
            ParameterId {
                account_id: "111111111111".into(),
                region: R.into(),
                key: "later".into()
            }
        ]
    );
    assert_eq!(s.parameters_due(1000, 1).await.unwrap().len(), 1);
    let got = s
        .get_parameter(A, R, "due")
        .await
        .unwrap()
        .unwrap()
        .parameter;
    assert_eq!(got.expires_at, Some(600));
    assert!(s.delete_parameter(A, R, "due", None).await.unwrap());
    assert!(
        s.delete_parameter("111111111111", R, "later", None)
            .await
            .unwrap()
    );
}

pub async fn settings(s: &Store) {
    let id = "/ssm/parameter-store/default-parameter-tier";
    assert!(s.get_service_setting(A, R, id).await.unwrap().is_none());
    let mut rec = ServiceSettingRecord {
        account_id: A.into(),
        region: R.into(),
        setting_id: id.into(),
        value: "Advanced".into(),
        last_modified_at: 5,
        last_modified_user: "arn:aws:iam::000000000000:root".into(),
    };
    s.put_service_setting(&rec).await.unwrap();
    rec.value = "Intelligent-Tiering".into();
    s.put_service_setting(&rec).await.unwrap();
    assert_eq!(s.get_service_setting(A, R, id).await.unwrap(), Some(rec));
    assert!(
        s.get_service_setting(A, "eu-west-1", id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.delete_service_setting(A, R, id).await.unwrap());
    assert!(!s.delete_service_setting(A, R, id).await.unwrap());
    assert!(s.get_service_setting(A, R, id).await.unwrap().is_none());
}

pub async fn resource_policies(s: &Store) {
    create(s, "/shared", "Advanced", "x").await;
    let pol = |id: &str, hash: &str| ResourcePolicyRecord {
        policy_id: id.into(),
        policy_hash: hash.into(),
        policy: format!("{{\"Version\":\"2012-10-17\",\"id\":\"{id}\"}}"),
        created_at: 7,
    };
    assert!(
        s.create_resource_policy(A, R, "shared", &pol("p1", "h1"), 2)
            .await
            .unwrap()
    );
    assert!(matches!(
        s.create_resource_policy(A, R, "shared", &pol("p1", "h9"), 2)
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(
        s.create_resource_policy(A, R, "shared", &pol("p2", "h2"), 2)
            .await
            .unwrap()
    );
    // Past the limit: refused, nothing added.
    assert!(
        !s.create_resource_policy(A, R, "shared", &pol("p3", "h3"), 2)
            .await
            .unwrap()
    );
    let list = s.list_resource_policies(A, R, "shared").await.unwrap();
    assert_eq!(
        list.iter()
            .map(|p| p.policy_id.as_str())
            .collect::<Vec<_>>(),
        vec!["p1", "p2"]
    );
    // Replace and delete are compare-and-set on the hash.
    assert!(matches!(
        s.replace_resource_policy(A, R, "shared", &pol("p1", "h1b"), "wrong")
            .await,
        Err(StoreError::Conflict)
    ));
    s.replace_resource_policy(A, R, "shared", &pol("p1", "h1b"), "h1")
        .await
        .unwrap();
    assert!(matches!(
        s.delete_resource_policy(A, R, "shared", "p1", "h1").await,
        Err(StoreError::Conflict)
    ));
    assert!(
        s.delete_resource_policy(A, R, "shared", "p1", "h1b")
            .await
            .unwrap()
    );
    assert!(
        !s.delete_resource_policy(A, R, "shared", "p1", "h1b")
            .await
            .unwrap()
    );
    // Deleting the parameter removes its policies.
    assert!(s.delete_parameter(A, R, "shared", None).await.unwrap());
    create(s, "/shared", "Advanced", "x").await;
    assert!(
        s.list_resource_policies(A, R, "shared")
            .await
            .unwrap()
            .is_empty()
    );
    // Durable across reopen: left in place for the reopen check in main.rs.
}
