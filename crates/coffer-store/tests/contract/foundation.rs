//! Contract: deployment metadata, identities and KMS keys.

use coffer_store::*;

pub fn key(id: &str) -> KeyRecord {
    KeyRecord {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        key_id: id.into(),
        description: String::new(),
        key_usage: "ENCRYPT_DECRYPT".into(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        origin: "AWS_KMS".into(),
        aws_managed: false,
        multi_region: false,
        state: KeyState::Enabled,
        created_at: 1,
        deletion_date: None,
        pending_window_days: None,
        rotation_enabled: false,
        rotation_period_days: None,
        next_rotation_at: None,
        policy: "{}".into(),
        current_material: 1,
        valid_to: None,
        material_fingerprint: None,
        mrk_primary_region: None,
        row_version: 1,
    }
}

pub fn material(version: u32) -> KeyMaterialRecord {
    KeyMaterialRecord {
        version,
        wrapped: vec![version as u8; 60],
        created_at: 1,
        on_demand: false,
    }
}

fn alias(name: &str, key_id: &str) -> AliasRecord {
    AliasRecord {
        account_id: "000000000000".into(),
        region: "us-east-1".into(),
        alias_name: name.into(),
        key_id: key_id.into(),
        created_at: 1,
        updated_at: 1,
    }
}

pub const A: &str = "000000000000";
pub const R: &str = "us-east-1";

/// The account every other behaviour works in (keys and IAM entities reference it).
pub async fn seed(s: &Store) {
    s.ensure_account(A, 1).await.unwrap();
}

pub async fn meta_and_identity(s: &Store) {
    // Meta: the first check value wins.
    assert_eq!(s.init_master_key_check(b"one").await.unwrap(), b"one");
    assert_eq!(s.init_master_key_check(b"two").await.unwrap(), b"one");

    // Accounts are created once.
    assert!(s.ensure_account(A, 1).await.unwrap());
    assert!(!s.ensure_account(A, 2).await.unwrap());
    assert_eq!(s.list_accounts().await.unwrap().len(), 1);

    // Access keys are unique.
    let ak = AccessKeyRecord {
        access_key_id: "AKIAEXAMPLE".into(),
        account_id: A.into(),
        principal_arn: format!("arn:aws:iam::{A}:root"),
        principal_id: A.into(),
        wrapped_secret: vec![1, 2, 3],
        status: AccessKeyStatus::Active,
        created_at: 1,
    };
    s.insert_access_key(&ak).await.unwrap();
    assert!(matches!(
        s.insert_access_key(&ak).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_access_key("AKIAEXAMPLE").await.unwrap(), Some(ak));
    assert_eq!(s.get_access_key("AKIANOPE").await.unwrap(), None);
}

pub async fn kms(s: &Store) {
    seed(s).await;
    // Keys: create with tags and alias atomically; a taken alias rolls the whole key back.
    let tags = [Tag {
        key: "team".into(),
        value: "payments".into(),
    }];
    s.create_key(
        &key("k1"),
        Some(&material(1)),
        &tags,
        Some(&alias("alias/one", "k1")),
    )
    .await
    .unwrap();
    assert!(matches!(
        s.create_key(
            &key("k2"),
            Some(&material(1)),
            &[],
            Some(&alias("alias/one", "k2"))
        )
        .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_key(A, R, "k2").await.unwrap(),
        None,
        "failed create left nothing behind"
    );
    assert_eq!(s.get_key(A, R, "k1").await.unwrap(), Some(key("k1")));
    assert_eq!(
        s.get_key(A, "eu-west-1", "k1").await.unwrap(),
        None,
        "regions are separate"
    );
    for id in ["k2", "k3", "k4"] {
        s.create_key(&key(id), Some(&material(1)), &[], None)
            .await
            .unwrap();
    }

    // Pagination: pages of 3 then 1, in id order.
    let p1 = s.list_keys(A, R, None, 3).await.unwrap();
    assert_eq!(p1.items, ["k1", "k2", "k3"]);
    let p2 = s.list_keys(A, R, p1.next.as_deref(), 3).await.unwrap();
    assert_eq!(p2.items, ["k4"]);
    assert_eq!(p2.next, None);

    // Optimistic concurrency: a stale row_version is refused.
    let mut k = s.get_key(A, R, "k1").await.unwrap().unwrap();
    k.state = KeyState::Disabled;
    s.update_key(&k).await.unwrap();
    assert!(matches!(s.update_key(&k).await, Err(StoreError::Conflict)));
    let stored = s.get_key(A, R, "k1").await.unwrap().unwrap();
    assert_eq!(stored.state, KeyState::Disabled);
    assert_eq!(stored.row_version, k.row_version + 1);

    // Rotation adds material and moves current_material under the same check.
    let mut k = stored;
    k.current_material = 2;
    s.rotate_key_material(&k, &material(2)).await.unwrap();
    assert!(matches!(
        s.rotate_key_material(&k, &material(3)).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_key_material(A, R, "k1", 1).await.unwrap(),
        Some(material(1))
    );
    assert_eq!(
        s.list_key_materials(A, R, "k1").await.unwrap(),
        vec![material(1), material(2)]
    );
    assert_eq!(
        s.get_key(A, R, "k1")
            .await
            .unwrap()
            .unwrap()
            .current_material,
        2
    );

    // Imported material: created without any, replaced whole, removed, under the same check;
    // the expiry and fingerprint columns round-trip.
    let mut ext = key("ext");
    ext.origin = "EXTERNAL".into();
    ext.state = KeyState::PendingImport;
    s.create_key(&ext, None, &[], None).await.unwrap();
    assert_eq!(s.list_key_materials(A, R, "ext").await.unwrap(), vec![]);
    ext.state = KeyState::Enabled;
    ext.valid_to = Some(99);
    ext.material_fingerprint = Some(vec![1, 2, 3]);
    s.replace_key_material(&ext, Some(&material(1)))
        .await
        .unwrap();
    assert!(matches!(
        s.replace_key_material(&ext, None).await,
        Err(StoreError::Conflict)
    ));
    let stored = s.get_key(A, R, "ext").await.unwrap().unwrap();
    assert_eq!(stored.valid_to, Some(99));
    assert_eq!(stored.material_fingerprint, Some(vec![1, 2, 3]));
    assert_eq!(stored.state, KeyState::Enabled);
    assert_eq!(
        s.list_key_materials(A, R, "ext").await.unwrap(),
        vec![material(1)]
    );
    let mut gone = stored;
    gone.state = KeyState::PendingImport;
    s.replace_key_material(&gone, None).await.unwrap();
    assert_eq!(s.get_key_material(A, R, "ext", 1).await.unwrap(), None);
    assert_eq!(
        s.get_key(A, R, "ext").await.unwrap().unwrap().state,
        KeyState::PendingImport
    );
    s.delete_key(A, R, "ext").await.unwrap();

    // Aliases: unique, updatable, deletable, listable per key.
    s.create_alias(&alias("alias/two", "k2")).await.unwrap();
    assert!(matches!(
        s.create_alias(&alias("alias/two", "k3")).await,
        Err(StoreError::Conflict)
    ));
    assert!(s.update_alias(A, R, "alias/two", "k3", 5).await.unwrap());
    assert!(!s.update_alias(A, R, "alias/none", "k3", 5).await.unwrap());
    assert_eq!(
        s.get_alias(A, R, "alias/two")
            .await
            .unwrap()
            .unwrap()
            .key_id,
        "k3"
    );
    let only_k3 = s.list_aliases(A, R, Some("k3"), None, 10).await.unwrap();
    assert_eq!(only_k3.items.len(), 1);
    let first = s.list_aliases(A, R, None, None, 1).await.unwrap();
    assert_eq!(first.items[0].alias_name, "alias/one");
    let second = s
        .list_aliases(A, R, None, first.next.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(second.items[0].alias_name, "alias/two");
    assert!(s.delete_alias(A, R, "alias/two").await.unwrap());
    assert!(!s.delete_alias(A, R, "alias/two").await.unwrap());

    // Tags: upsert and remove.
    s.tag_key(
        A,
        R,
        "k1",
        &[
            Tag {
                key: "team".into(),
                value: "core".into(),
            },
            Tag {
                key: "env".into(),
                value: "prod".into(),
            },
        ],
    )
    .await
    .unwrap();
    let t = s.list_key_tags(A, R, "k1").await.unwrap();
    assert_eq!(
        t.iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect::<Vec<_>>(),
        [("env", "prod"), ("team", "core")]
    );
    s.untag_key(A, R, "k1", &["env".into()]).await.unwrap();
    assert_eq!(s.list_key_tags(A, R, "k1").await.unwrap().len(), 1);

    // Deleting a key takes its material, aliases and tags with it.
    s.delete_key(A, R, "k1").await.unwrap();
    assert_eq!(s.get_key(A, R, "k1").await.unwrap(), None);
    assert_eq!(s.get_alias(A, R, "alias/one").await.unwrap(), None);
    assert!(s.list_key_materials(A, R, "k1").await.unwrap().is_empty());
    assert!(s.list_key_tags(A, R, "k1").await.unwrap().is_empty());
}

/// Related multi-Region keys: listed across Regions, with their primary's Region.
pub async fn multi_region_keys(s: &Store) {
    seed(s).await;
    let mut primary = key("mrk-0123456789abcdef0123456789abcdef");
    primary.multi_region = true;
    s.create_key(&primary, None, &[], None).await.unwrap();
    let mut replica = primary.clone();
    replica.region = "eu-west-1".into();
    replica.mrk_primary_region = Some("us-east-1".into());
    s.create_key(&replica, None, &[], None).await.unwrap();
    s.create_key(
        &key("11111111-2222-3333-4444-555555555555"),
        None,
        &[],
        None,
    )
    .await
    .unwrap();
    let related = s
        .list_key_regions("000000000000", &primary.key_id)
        .await
        .unwrap();
    let regions: Vec<_> = related
        .iter()
        .map(|k| (k.region.as_str(), k.mrk_primary_region.as_deref()))
        .collect();
    assert_eq!(
        regions,
        [("eu-west-1", Some("us-east-1")), ("us-east-1", None)]
    );
    // Failover: the replica becomes the primary.
    let mut new_primary = related[0].clone();
    new_primary.mrk_primary_region = None;
    s.update_key(&new_primary).await.unwrap();
    let got = s
        .get_key("000000000000", "eu-west-1", &primary.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.mrk_primary_region, None);
    assert!(
        s.list_key_regions("000000000000", "mrk-other")
            .await
            .unwrap()
            .is_empty()
    );
}
