//! Contract: Secrets Manager secrets, versions and staging labels.

use coffer_store::*;

const A: &str = "000000000000";
const R: &str = "us-east-1";

pub fn secret(name: &str, created_at: Millis) -> SecretRecord {
    SecretRecord {
        arn: format!("arn:aws:secretsmanager:{R}:{A}:secret:{name}-AbCdEf"),
        account_id: A.into(),
        region: R.into(),
        name: name.into(),
        description: Some("d".into()),
        kms_key_id: None,
        tags: vec![Tag {
            key: "team".into(),
            value: "pay\"ments".into(),
        }],
        tags_listed: false,
        policy: None,
        owning_service: None,
        primary_region: None,
        replication: None,
        replication_due_at: None,
        created_at,
        last_changed_at: created_at,
        last_accessed_at: None,
        deleted_at: None,
        purge_at: None,
        rotation_enabled: false,
        rotation_lambda_arn: None,
        rotation_rules: None,
        last_rotated_at: None,
        next_rotation_at: None,
        row_version: 1,
    }
}

pub fn version(id: &str, stages: &[&str]) -> SecretVersionRecord {
    SecretVersionRecord {
        version_id: id.into(),
        created_at: 10,
        last_accessed_at: None,
        kms_key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
        data_key: vec![1; 80],
        ciphertext: vec![2; 40],
        binary: false,
        stages: stages.iter().map(|s| s.to_string()).collect(),
    }
}

fn stages(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(s, v)| (s.to_string(), v.to_string()))
        .collect()
}

pub async fn contract(s: &Store) {
    let one = secret("app/one", 100);
    s.create_secret(&one, Some(&version("v1", &["AWSCURRENT"])))
        .await
        .unwrap();
    // The name is unique per account and region, whatever the suffix.
    let mut dup = secret("app/one", 101);
    dup.arn.push('x');
    assert!(matches!(
        s.create_secret(&dup, None).await,
        Err(StoreError::Conflict)
    ));
    let got = s
        .get_secret_by_name(A, R, "app/one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, one);
    assert_eq!(s.get_secret_by_arn(&one.arn).await.unwrap().unwrap(), one);
    assert_eq!(
        s.get_secret_by_name(A, "eu-west-1", "app/one")
            .await
            .unwrap(),
        None
    );

    let v1 = s
        .get_secret_version_by_stage(&one.arn, "AWSCURRENT")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v1, version("v1", &["AWSCURRENT"]));

    // A new current version: labels replaced as a whole, under the row version.
    let mut next = one.clone();
    next.last_changed_at = 200;
    let v2 = version("v2", &[]);
    let map = stages(&[
        ("AWSCURRENT", "v2"),
        ("AWSPREVIOUS", "v1"),
        ("custom", "v2"),
    ]);
    s.update_secret(SecretChange {
        secret: &next,
        new_version: Some(&v2),
        stages: Some(&map),
        prune: &[],
        prune_beyond: None,
    })
    .await
    .unwrap();
    // The same change again is stale.
    assert!(matches!(
        s.update_secret(SecretChange {
            secret: &next,
            new_version: None,
            stages: None,
            prune: &[],
            prune_beyond: None,
        })
        .await,
        Err(StoreError::Conflict)
    ));
    let stored = s.get_secret_by_arn(&one.arn).await.unwrap().unwrap();
    assert_eq!(stored.row_version, 2);
    assert_eq!(stored.last_changed_at, 200);
    let versions = s.list_secret_versions(&one.arn).await.unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].stages, vec!["AWSPREVIOUS".to_string()]);
    assert_eq!(
        versions[1].stages,
        vec!["AWSCURRENT".to_string(), "custom".to_string()]
    );
    assert_eq!(
        s.get_secret_version(&one.arn, "v2")
            .await
            .unwrap()
            .unwrap()
            .stages,
        vec!["AWSCURRENT".to_string(), "custom".to_string()]
    );
    assert_eq!(s.get_secret_version(&one.arn, "nope").await.unwrap(), None);

    // Two versions cannot hold one label; a failed change changes nothing.
    let mut stale = stored.clone();
    let bad = stages(&[("AWSCURRENT", "v1"), ("AWSCURRENT", "v2")]);
    assert!(
        s.update_secret(SecretChange {
            secret: &stale,
            new_version: Some(&version("v3", &[])),
            stages: Some(&bad),
            prune: &[],
            prune_beyond: None,
        })
        .await
        .is_err()
    );
    assert_eq!(
        s.get_secret_by_arn(&one.arn)
            .await
            .unwrap()
            .unwrap()
            .row_version,
        2
    );
    assert_eq!(s.get_secret_version(&one.arn, "v3").await.unwrap(), None);

    // Pruning removes a version and any label it held.
    let map = stages(&[("AWSCURRENT", "v2")]);
    s.update_secret(SecretChange {
        secret: &stale,
        new_version: None,
        stages: Some(&map),
        prune: &["v1".to_string()],
        prune_beyond: None,
    })
    .await
    .unwrap();
    assert_eq!(s.list_secret_versions(&one.arn).await.unwrap().len(), 1);
    stale.row_version += 1;

    // Access days only move forward.
    s.record_secret_access(&one.arn, "v2", 86_400_000)
        .await
        .unwrap();
    s.record_secret_access(&one.arn, "v2", 0).await.unwrap();
    let accessed = s.get_secret_by_arn(&one.arn).await.unwrap().unwrap();
    assert_eq!(accessed.last_accessed_at, Some(86_400_000));
    assert_eq!(accessed.row_version, stale.row_version);
    assert_eq!(
        s.get_secret_version(&one.arn, "v2")
            .await
            .unwrap()
            .unwrap()
            .last_accessed_at,
        Some(86_400_000)
    );

    // Listing: ordered scans with a cursor, deleted secrets only on request.
    for (i, name) in ["b", "a", "c", "d"].iter().enumerate() {
        s.create_secret(&secret(name, 300 + i as i64), None)
            .await
            .unwrap();
    }
    let mut d = s.get_secret_by_name(A, R, "d").await.unwrap().unwrap();
    d.deleted_at = Some(500);
    d.purge_at = Some(1_000);
    s.update_secret(SecretChange {
        secret: &d,
        new_version: None,
        stages: None,
        prune: &[],
        prune_beyond: None,
    })
    .await
    .unwrap();
    let names = |v: Vec<SecretRecord>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    let mut q = SecretListQuery {
        account_id: A,
        region: R,
        sort: SecretSort::CreatedDate,
        descending: false,
        include_deleted: false,
        after: None,
        limit: 2,
    };
    let first = s.list_secrets(&q).await.unwrap();
    assert_eq!(names(first.clone()), ["app/one", "b"]);
    let cursor = SecretCursor::after(first.last().unwrap(), q.sort);
    q.after = Some(&cursor);
    assert_eq!(names(s.list_secrets(&q).await.unwrap()), ["a", "c"]);
    q.after = None;
    q.limit = 10;
    q.include_deleted = true;
    q.sort = SecretSort::Name;
    q.descending = true;
    assert_eq!(
        names(s.list_secrets(&q).await.unwrap()),
        ["d", "c", "b", "app/one", "a"]
    );
    let cursor = SecretCursor {
        value: SortValue::Name("b".into()),
        arn: String::new(),
    };
    q.after = Some(&cursor);
    assert_eq!(names(s.list_secrets(&q).await.unwrap()), ["app/one", "a"]);
    q.after = None;
    q.sort = SecretSort::LastAccessedDate;
    q.descending = false;
    assert_eq!(
        s.list_secrets(&q).await.unwrap().last().unwrap().name,
        "app/one"
    );

    // Purge: due secrets are found across accounts and removed with their versions.
    assert!(s.secrets_due_for_purge(999, 10).await.unwrap().is_empty());
    assert_eq!(
        s.secrets_due_for_purge(1_000, 10).await.unwrap(),
        vec![d.arn.clone()]
    );
    assert!(s.purge_secret(&one.arn).await.unwrap());
    assert!(!s.purge_secret(&one.arn).await.unwrap());
    assert_eq!(s.get_secret_by_arn(&one.arn).await.unwrap(), None);
    assert!(s.list_secret_versions(&one.arn).await.unwrap().is_empty());
    // The name is free again.
    s.create_secret(&secret("app/one", 900), None)
        .await
        .unwrap();
}

/// Replication's queue: primaries whose replicas are due, soonest first, across accounts; the
/// due time and the replication status round-trip through updates.
pub async fn replication_due(s: &Store) {
    let mut a = secret("repl/a", 100);
    a.replication = Some(r#"[{"Region":"us-west-2","Status":"InProgress"}]"#.into());
    a.replication_due_at = Some(500);
    s.create_secret(&a, None).await.unwrap();
    let mut b = secret("repl/b", 100);
    b.replication_due_at = Some(300);
    s.create_secret(&b, None).await.unwrap();
    s.create_secret(&secret("repl/c", 100), None).await.unwrap();
    let due = |now| async move {
        s.secrets_due_for_replication(now, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    assert!(due(299).await.is_empty());
    assert_eq!(due(400).await, ["repl/b"]);
    assert_eq!(due(500).await, ["repl/b", "repl/a"]);
    assert_eq!(
        s.get_secret_by_arn(&a.arn)
            .await
            .unwrap()
            .unwrap()
            .replication,
        a.replication
    );
    // Done: cleared by an update, with the status kept.
    let mut done = s.get_secret_by_arn(&a.arn).await.unwrap().unwrap();
    done.replication_due_at = None;
    done.primary_region = Some("eu-west-1".into());
    s.update_secret(SecretChange {
        secret: &done,
        new_version: None,
        stages: None,
        prune: &[],
        prune_beyond: None,
    })
    .await
    .unwrap();
    assert_eq!(due(10_000).await, ["repl/b"]);
    let got = s.get_secret_by_arn(&a.arn).await.unwrap().unwrap();
    assert_eq!(got.replication_due_at, None);
    assert_eq!(got.primary_region.as_deref(), Some("eu-west-1"));
    assert_eq!(got.replication, a.replication);
}

/// PutSecretValue's write path: only labelled versions are listed, and `prune_beyond` removes
/// the oldest unlabelled versions old enough to go while the secret holds more than the limit.
pub async fn labelled_versions_and_pruning(s: &Store) {
    let mut secret = secret("prune/me", 1);
    s.create_secret(&secret, None).await.unwrap();
    let arn = secret.arn.clone();
    let mut write = |id: String, created_at: Millis, map: Vec<(String, String)>, beyond| {
        let mut v = version(&id, &[]);
        v.created_at = created_at;
        let change = secret.clone();
        secret.row_version += 1;
        async move {
            s.update_secret(SecretChange {
                secret: &change,
                new_version: Some(&v),
                stages: Some(&map),
                prune: &[],
                prune_beyond: beyond,
            })
            .await
            .unwrap();
        }
    };
    // Six old versions (created at 100..105), "old0" keeping a custom label, then two young.
    for i in 0..6 {
        let mut map = vec![("AWSCURRENT".to_owned(), format!("old{i}"))];
        if i > 0 {
            map.push(("keep".to_owned(), "old0".to_owned()));
            map.push(("AWSPREVIOUS".to_owned(), format!("old{}", i - 1)));
        }
        write(format!("old{i}"), 100 + i, map, None).await;
    }
    let labelled = |s: &'static str| s.to_owned();
    let map = |current: &str, previous: &str| {
        vec![
            (labelled("AWSCURRENT"), current.to_owned()),
            (labelled("AWSPREVIOUS"), previous.to_owned()),
            (labelled("keep"), "old0".to_owned()),
        ]
    };
    let ids = |v: Vec<SecretVersionRecord>| v.into_iter().map(|v| v.version_id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.list_labelled_secret_versions(&arn).await.unwrap()),
        ["old0", "old4", "old5"]
    );
    // Nothing is old enough (created at or before 50): nothing goes, whatever the count.
    write("young0".into(), 1_000, map("young0", "old5"), Some((2, 50))).await;
    assert_eq!(s.list_secret_versions(&arn).await.unwrap().len(), 7);
    // Keep 5 of 8: of the versions created at or before 200 that hold no label once this change
    // moved AWSPREVIOUS, the three oldest go (old1, old2, old3); never old0 (labelled), nor the
    // young ones.
    write(
        "young1".into(),
        1_001,
        map("young1", "young0"),
        Some((5, 200)),
    )
    .await;
    assert_eq!(
        ids(s.list_secret_versions(&arn).await.unwrap()),
        ["old0", "old4", "old5", "young0", "young1"]
    );
    assert_eq!(
        ids(s.list_labelled_secret_versions(&arn).await.unwrap()),
        ["old0", "young0", "young1"]
    );
}

/// GetSecretValue's read: the secret and its version holding a label, together, by ARN or by
/// name; the version `None` where no version holds the label; nothing for a missing secret.
/// The version's KMS key comes along where the backend reads it in the same statement (and
/// then it is exactly the key's record); `expect_key` says whether this backend does.
pub async fn secret_with_staged_version(s: &Store, expect_key: bool) {
    crate::foundation::seed(s).await;
    let kms_key = crate::foundation::key("k");
    s.create_key(&kms_key, Some(&crate::foundation::material(1)), &[], None)
        .await
        .unwrap();
    let secret = secret("staged/read", 1);
    let v1 = version("v1", &["AWSCURRENT", "blue"]);
    assert!(
        v1.kms_key_arn.ends_with(":key/k"),
        "the version names key k"
    );
    s.create_secret(&secret, Some(&v1)).await.unwrap();
    let by_name = SecretBy::Name {
        account: A,
        region: R,
        name: "staged/read",
    };
    for by in [SecretBy::Arn(&secret.arn), by_name] {
        let read = s
            .get_secret_with_staged_version(by, "blue")
            .await
            .unwrap()
            .expect("the secret");
        assert_eq!(read.secret, secret, "{by:?}");
        let v = read.version.expect("the version labelled blue");
        assert_eq!(
            v,
            s.get_secret_version(&secret.arn, "v1")
                .await
                .unwrap()
                .unwrap()
        );
        assert_eq!(v.stages, ["AWSCURRENT", "blue"]);
        assert_eq!((v.data_key.len(), v.ciphertext.len()), (80, 40));
        assert_eq!(read.key, expect_key.then(|| kms_key.clone()), "{by:?}");
        let read = s
            .get_secret_with_staged_version(by, "AWSPENDING")
            .await
            .unwrap()
            .expect("the secret, without a version");
        assert_eq!(
            (read.secret.arn.as_str(), read.version, read.key),
            (secret.arn.as_str(), None, None)
        );
    }
    // A version whose key does not exist (any more) reads without one.
    let orphan = self::secret("staged/orphan", 1);
    let mut v = version("v1", &["AWSCURRENT"]);
    v.kms_key_arn = "arn:aws:kms:us-east-1:000000000000:key/gone".into();
    s.create_secret(&orphan, Some(&v)).await.unwrap();
    let read = s
        .get_secret_with_staged_version(SecretBy::Arn(&orphan.arn), "AWSCURRENT")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.version.is_some(), read.key), (true, None));
    let elsewhere = SecretBy::Name {
        account: A,
        region: "eu-west-1",
        name: "staged/read",
    };
    for by in [
        SecretBy::Arn("arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf"),
        elsewhere,
    ] {
        assert!(
            s.get_secret_with_staged_version(by, "AWSCURRENT")
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// Many writers at once (SQLite groups them into one transaction, each in a savepoint): every
/// write is applied whole or refused whole. Per secret, writers race on one `row_version`: one
/// wins each round, the others get `Conflict` and change nothing; a create under a taken name
/// is refused without taking its version or labels with it; reads after each round see every
/// winner's version current and the loser's nowhere.
pub async fn concurrent_changes(s: &Store) {
    const SECRETS: usize = 8;
    const RACERS: usize = 4;
    let s: Store = s.clone();
    let mut records = Vec::new();
    for i in 0..SECRETS {
        let r = secret(&format!("race/{i}"), 100);
        s.create_secret(&r, Some(&version("v0", &["AWSCURRENT"])))
            .await
            .unwrap();
        records.push(r);
    }
    for round in 1..=3 {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, r) in records.iter().enumerate() {
            for racer in 0..RACERS {
                let s = std::sync::Arc::clone(&s);
                let base = r.clone();
                tasks.spawn(async move {
                    let id = format!("r{round}-{racer}");
                    let mut next = base.clone();
                    next.last_changed_at = 100 + round;
                    let v = version(&id, &[]);
                    let map = stages(&[("AWSCURRENT", id.as_str())]);
                    let done = s
                        .update_secret(SecretChange {
                            secret: &next,
                            new_version: Some(&v),
                            stages: Some(&map),
                            prune: &[],
                            prune_beyond: None,
                        })
                        .await;
                    (i, id, done)
                });
            }
            // A create under a name already taken, in the same burst.
            let s = std::sync::Arc::clone(&s);
            let mut dup = secret(&format!("race/{i}"), 100);
            dup.arn.push_str("-dup");
            let id = format!("dup{round}");
            tasks.spawn(async move {
                let done = s
                    .create_secret(&dup, Some(&version(&id, &["AWSCURRENT"])))
                    .await;
                assert!(matches!(done, Err(StoreError::Conflict)), "{done:?}");
                assert!(s.get_secret_by_arn(&dup.arn).await.unwrap().is_none());
                (usize::MAX, id, Ok(()))
            });
        }
        let mut winners = vec![Vec::new(); SECRETS];
        while let Some(joined) = tasks.join_next().await {
            let (i, id, done) = joined.unwrap();
            if i == usize::MAX {
                continue;
            }
            match done {
                Ok(()) => winners[i].push(id),
                Err(StoreError::Conflict) => {
                    let lost = s.get_secret_version(&records[i].arn, &id).await.unwrap();
                    assert!(lost.is_none(), "a refused write left its version");
                }
                Err(e) => panic!("{e}"),
            }
        }
        for (i, r) in records.iter_mut().enumerate() {
            assert_eq!(winners[i].len(), 1, "secret {i}: {:?}", winners[i]);
            let current = s
                .get_secret_version_by_stage(&r.arn, "AWSCURRENT")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(current.version_id, winners[i][0]);
            let stored = s.get_secret_by_arn(&r.arn).await.unwrap().unwrap();
            assert_eq!(stored.row_version, r.row_version + 1);
            assert_eq!(stored.last_changed_at, 100 + round);
            *r = stored;
        }
    }
}
