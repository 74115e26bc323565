//! Contract: the audit trail.

use coffer_store::*;

fn event(n: usize, account: &str, name: &str, resource: &str) -> NewAuditEvent {
    NewAuditEvent {
        event_id: format!("e{n}"),
        event_time: 1_000 + n as i64,
        account_id: account.into(),
        event_source: "secretsmanager.amazonaws.com".into(),
        event_name: name.into(),
        read_only: name.starts_with("Get"),
        username: Some("root".into()),
        access_key_id: Some(format!("AKIA{account}")),
        resources: vec![AuditResource {
            resource_type: "AWS::SecretsManager::Secret".into(),
            name: resource.into(),
        }],
        event_json: format!("{{\"n\":{n}}}"),
    }
}

/// A toy link: the test checks the store threads `prev` and `seq` through, not the hash.
fn link(prev: &[u8], seq: i64, json: &[u8]) -> Vec<u8> {
    let mut v = prev.iter().take(8).copied().collect::<Vec<u8>>();
    v.extend(seq.to_be_bytes());
    v.extend(json.iter().take(8));
    v
}

// Lookups: one account, newest first, one attribute, time range, cursor.
fn q(attribute: Option<&AuditAttribute>, before: Option<i64>) -> AuditQuery<'_> {
    AuditQuery {
        account_id: "111111111111",
        start: None,
        end: None,
        attribute,
        before_seq: before,
        limit: 10,
    }
}

/// The lookups of records 1 to 4, newest first.
async fn lookups(s: &Store, seqs: &impl Fn(Vec<AuditRecord>) -> Vec<i64>) {
    assert_eq!(
        seqs(s.lookup_audit(&q(None, None)).await.unwrap()),
        [4, 2, 1]
    );
    assert_eq!(
        seqs(s.lookup_audit(&q(None, Some(4))).await.unwrap()),
        [2, 1]
    );
    let by_name = AuditAttribute::ResourceName("app/db".into());
    assert_eq!(
        seqs(s.lookup_audit(&q(Some(&by_name), None)).await.unwrap()),
        [2, 1]
    );
    let read_only = AuditAttribute::ReadOnly(true);
    assert_eq!(
        seqs(s.lookup_audit(&q(Some(&read_only), None)).await.unwrap()),
        [1]
    );
    let event_name = AuditAttribute::EventName("DeleteSecret".into());
    assert_eq!(
        seqs(s.lookup_audit(&q(Some(&event_name), None)).await.unwrap()),
        [4]
    );
    let key = AuditAttribute::AccessKeyId("AKIA222222222222".into());
    assert!(
        s.lookup_audit(&q(Some(&key), None))
            .await
            .unwrap()
            .is_empty()
    );
    let mut ranged = q(None, None);
    ranged.start = Some(1_002);
    ranged.end = Some(1_003);
    assert_eq!(seqs(s.lookup_audit(&ranged).await.unwrap()), [2]);
}

pub async fn contract(s: &Store) {
    assert_eq!(s.audit_head().await.unwrap(), None);
    let first = [
        event(1, "111111111111", "GetSecretValue", "app/db"),
        event(2, "111111111111", "PutSecretValue", "app/db"),
        event(3, "222222222222", "GetSecretValue", "other"),
    ];
    assert_eq!(s.append_audit(&first, &link).await.unwrap(), [1, 2, 3]);
    assert_eq!(
        s.append_audit(&[event(4, "111111111111", "DeleteSecret", "x")], &link)
            .await
            .unwrap(),
        [4]
    );
    let (seq, hash) = s.audit_head().await.unwrap().unwrap();
    assert_eq!(seq, 4);
    let all = s.scan_audit(0, 10).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].prev_hash, vec![0u8; 32]);
    for w in all.windows(2) {
        assert_eq!(w[1].prev_hash, w[0].hash, "links thread through");
        assert_eq!(
            w[1].hash,
            link(&w[0].hash, w[1].seq, w[1].event.event_json.as_bytes())
        );
    }
    assert_eq!(all[3].hash, hash);
    assert_eq!(all[0].event, first[0]);
    assert_eq!(s.scan_audit(2, 1).await.unwrap()[0].seq, 3);

    let seqs = |v: Vec<AuditRecord>| v.iter().map(|r| r.seq).collect::<Vec<_>>();
    // Lookups answer the same before the index is built (from the log's tail), after, and with
    // part of the trail indexed and part not.
    lookups(s, &seqs).await;
    assert_eq!(s.index_audit().await.unwrap(), 4);
    assert_eq!(s.index_audit().await.unwrap(), 0, "nothing left to index");
    lookups(s, &seqs).await;
    let more = [event(5, "111111111111", "GetSecretValue", "app/db")];
    assert_eq!(s.append_audit(&more, &link).await.unwrap(), [5]);
    assert_eq!(
        seqs(s.lookup_audit(&q(None, None)).await.unwrap()),
        [5, 4, 2, 1],
        "the unindexed tail comes first, then the index"
    );
    let mut page = q(None, None);
    page.limit = 2;
    assert_eq!(seqs(s.lookup_audit(&page).await.unwrap()), [5, 4]);
    assert_eq!(s.index_audit().await.unwrap(), 1);
    assert_eq!(
        seqs(s.lookup_audit(&q(None, None)).await.unwrap()),
        [5, 4, 2, 1]
    );
    assert_eq!(seqs(s.lookup_audit(&page).await.unwrap()), [5, 4]);
    let id = AuditAttribute::EventId("e2".into());
    assert_eq!(
        seqs(s.lookup_audit(&q(Some(&id), None)).await.unwrap()),
        [2]
    );
    let (seq, hash) = s.audit_head().await.unwrap().unwrap();
    assert_eq!(seq, 5);
    let d = AuditDigest {
        seq: 5,
        hash: hash.clone(),
        time: 5,
        signature: vec![7; 32],
    };
    assert_eq!(s.last_audit_digest().await.unwrap(), None);
    s.put_audit_digest(&d).await.unwrap();
    let earlier = AuditDigest {
        seq: 2,
        ..d.clone()
    };
    s.put_audit_digest(&earlier).await.unwrap();
    assert_eq!(
        s.list_audit_digests().await.unwrap(),
        vec![earlier, d.clone()]
    );
    assert_eq!(s.last_audit_digest().await.unwrap(), Some(d));

    // Retention removes whole digest periods; the anchor digest stays.
    // Records 1 to 3 were one append: the cut goes through it.
    assert_eq!(s.prune_audit(2).await.unwrap(), 2);
    let kept = s.scan_audit(0, 10).await.unwrap();
    assert_eq!(seqs(kept.clone()), [3, 4, 5]);
    assert_eq!(kept[0].prev_hash, all[1].hash, "the kept part still links");
    assert_eq!(kept[0].event, first[2]);
    assert_eq!(s.list_audit_digests().await.unwrap().len(), 2);
    let by_name = AuditAttribute::ResourceName("app/db".into());
    assert_eq!(
        seqs(s.lookup_audit(&q(Some(&by_name), None)).await.unwrap()),
        [5]
    );
    assert_eq!(
        s.audit_head().await.unwrap().unwrap().0,
        5,
        "the head is untouched"
    );
    assert_eq!(s.prune_audit(4).await.unwrap(), 2);
    assert_eq!(seqs(s.scan_audit(0, 10).await.unwrap()), [5]);
    assert_eq!(seqs(s.lookup_audit(&q(None, None)).await.unwrap()), [5]);
}

/// Nodes appending at once extend one chain: every batch hashed from the head it was written
/// after, sequence numbers without gaps or repeats, whatever order the nodes' batches landed
/// in (a node hashes from the head it remembers, and one that moved under it is read again).
pub async fn nodes_append_one_chain(nodes: &[Store]) {
    const BATCHES: usize = 40;
    let appends = nodes.iter().enumerate().map(|(n, s)| async move {
        for b in 0..BATCHES {
            let events: Vec<NewAuditEvent> = (0..1 + b % 3)
                .map(|i| {
                    event(
                        n * 1_000 + b * 10 + i,
                        "111111111111",
                        "GetSecretValue",
                        "x",
                    )
                })
                .collect();
            let link: &ChainLink = &link;
            s.append_audit(&events, link).await.unwrap();
        }
    });
    futures_util::future::join_all(appends).await;
    let records = nodes[0].scan_audit(0, 10_000).await.unwrap();
    let per_node: usize = (0..BATCHES).map(|b| 1 + b % 3).sum();
    assert_eq!(records.len(), per_node * nodes.len());
    let mut prev = Vec::new();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "no gap, no repeat");
        if i > 0 {
            assert_eq!(
                r.prev_hash,
                prev,
                "record {} follows record {}",
                r.seq,
                r.seq - 1
            );
        }
        assert_eq!(
            r.hash,
            link(&r.prev_hash, r.seq, r.event.event_json.as_bytes())
        );
        prev = r.hash.clone();
    }
    let head = nodes[1].audit_head().await.unwrap().unwrap();
    assert_eq!(head, (records.len() as i64, prev));
}
