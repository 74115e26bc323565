//! Contract: what maintenance needs of a store — `meta` read and replaced, every sealed value
//! listed and replaced by compare-and-set (and then served, whatever the caches), and a
//! snapshot of every table that restores into an empty store of either kind.

use crate::foundation::{A, R, key, material, seed};
use coffer_store::snapshot::{Item, Target};
use coffer_store::*;

async fn sealed_world(s: &Store) {
    seed(s).await;
    let ak = AccessKeyRecord {
        access_key_id: "AKIAMAINTENANCE".into(),
        account_id: A.into(),
        principal_arn: format!("arn:aws:iam::{A}:root"),
        principal_id: A.into(),
        wrapped_secret: vec![1; 40],
        status: AccessKeyStatus::Active,
        created_at: 1,
    };
    s.insert_access_key(&ak).await.unwrap();
    s.create_key(&key("k1"), Some(&material(1)), &[], None)
        .await
        .unwrap();
    let mut k = key("k1");
    k.current_material = 2;
    s.rotate_key_material(&k, &material(2)).await.unwrap();
    let f = RotationFunctionRecord {
        account_id: A.into(),
        region: R.into(),
        name: "fn".into(),
        url: "http://127.0.0.1:9/".into(),
        timeout_ms: 1000,
        signing_key: vec![9; 60],
        created_at: 1,
    };
    s.create_rotation_function(&f).await.unwrap();
}

pub async fn meta_and_sealed(s: &Store) {
    assert_eq!(s.get_meta("absent").await.unwrap(), None);
    s.set_meta("fact", b"one").await.unwrap();
    s.set_meta("fact", b"two").await.unwrap();
    assert_eq!(s.get_meta("fact").await.unwrap(), Some(b"two".to_vec()));
    // init_meta keeps a replaced value.
    assert_eq!(s.init_meta("fact", b"three").await.unwrap(), b"two");

    sealed_world(s).await;
    let keys = s.list_sealed(SealedKind::AccessKey).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id[0], "AKIAMAINTENANCE");
    let mats = s.list_sealed(SealedKind::KeyMaterial).await.unwrap();
    assert_eq!(mats.len(), 2);
    assert_eq!(mats.iter().map(|m| m.version).sum::<i64>(), 3);
    assert_eq!(mats[0].id, [A.to_owned(), R.to_owned(), "k1".to_owned()]);
    let fns = s.list_sealed(SealedKind::RotationFunction).await.unwrap();
    assert_eq!(fns.len(), 1);
    assert_eq!(fns[0].value, vec![9; 60]);

    // Compare-and-set: replaced once, then the old value no longer matches.
    let _ = s.get_access_key("AKIAMAINTENANCE").await.unwrap(); // fill any read cache
    assert!(s.replace_sealed(&keys[0], &[2; 40]).await.unwrap());
    assert!(!s.replace_sealed(&keys[0], &[3; 40]).await.unwrap());
    let got = s.get_access_key("AKIAMAINTENANCE").await.unwrap().unwrap();
    assert_eq!(got.wrapped_secret, vec![2; 40]);
    let v2 = mats.iter().find(|m| m.version == 2).unwrap();
    let _ = s.get_key_material(A, R, "k1", 2).await.unwrap();
    assert!(s.replace_sealed(v2, &[5; 60]).await.unwrap());
    assert_eq!(
        s.get_key_material(A, R, "k1", 2)
            .await
            .unwrap()
            .unwrap()
            .wrapped,
        vec![5; 60]
    );
    assert_eq!(
        s.get_key_material(A, R, "k1", 1)
            .await
            .unwrap()
            .unwrap()
            .wrapped,
        material(1).wrapped,
        "only the named version changes"
    );
    assert!(s.replace_sealed(&fns[0], &[8; 60]).await.unwrap());
    let listed = s.list_rotation_functions(A, R).await.unwrap();
    assert_eq!(listed[0].signing_key, vec![8; 60]);
}

async fn export(s: &Store) -> Vec<Item> {
    let mut items = Vec::new();
    s.export_snapshot(&mut |i| {
        items.push(i);
        Ok(())
    })
    .await
    .unwrap();
    items
}

pub async fn snapshot_round_trip(s: &Store) {
    sealed_world(s).await;
    s.init_master_key_check(b"check").await.unwrap();
    let items = export(s).await;
    let Some(Item::Header { tables, .. }) = items.first() else {
        panic!("no header first");
    };
    let Some(Item::End { rows }) = items.last() else {
        panic!("no trailer last");
    };
    let counted: std::collections::BTreeMap<String, u64> = tables.iter().cloned().collect();
    assert_eq!(&counted, rows);
    assert_eq!(counted["kms_key_material"], 2);
    assert_eq!(counted["meta"], 1);
    assert!(counted.contains_key("accounts") && !counted.keys().any(|t| t.starts_with("_sqlx")));
    let position = |t: &str| tables.iter().position(|(n, _)| n == t).unwrap();
    assert!(
        position("kms_keys") < position("kms_key_material"),
        "parents first"
    );

    // Into an empty SQLite store: every row, counts checked; a second time refused.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("restored.db");
    let target = Target::Sqlite(sqlite::SqliteStore::open(&path).await.unwrap());
    let copied = target
        .restore(items.clone().into_iter().map(Ok), |_, _| {})
        .await
        .unwrap();
    assert_eq!(copied.tables, counted);
    let again = target
        .restore(items.clone().into_iter().map(Ok), |_, _| {})
        .await;
    assert!(format!("{:?}", again.unwrap_err()).contains("not empty"));
    let restored = open(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(
        restored
            .get_key_material(A, R, "k1", 2)
            .await
            .unwrap()
            .unwrap()
            .wrapped,
        material(2).wrapped
    );
    assert_eq!(
        restored.get_meta("master_key_check").await.unwrap(),
        Some(b"check".to_vec())
    );

    // A snapshot cut short (no trailer) restores nothing.
    let dir2 = tempfile::tempdir().unwrap();
    let path2 = dir2.path().join("cut.db");
    let cut = Target::Sqlite(sqlite::SqliteStore::open(&path2).await.unwrap());
    let short = items[..items.len() - 1].to_vec();
    assert!(
        cut.restore(short.into_iter().map(Ok), |_, _| {})
            .await
            .is_err()
    );
    let empty = open(&format!("sqlite://{}", path2.display()))
        .await
        .unwrap();
    assert_eq!(empty.list_accounts().await.unwrap().len(), 0);
}
