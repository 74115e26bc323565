//! Contract: KMS grants.

use crate::foundation::{A, R, key, material, seed};
use coffer_store::*;

fn grant(key_id: &str, id: &str, at: i64, grantee: &str, retiring: Option<&str>) -> GrantRecord {
    GrantRecord {
        account_id: A.into(),
        region: R.into(),
        key_id: key_id.into(),
        grant_id: id.into(),
        name: String::new(),
        grantee_principal: grantee.into(),
        retiring_principal: retiring.map(str::to_owned),
        operations: vec!["Encrypt".into(), "Decrypt".into()],
        constraints: Some(r#"{"EncryptionContextSubset":{"app":"x"}}"#.into()),
        issuing_account: A.into(),
        created_at: at,
    }
}

pub async fn contract(s: &Store) {
    seed(s).await;
    s.create_key(&key("k1"), Some(&material(1)), &[], None)
        .await
        .unwrap();
    s.create_key(&key("k2"), Some(&material(1)), &[], None)
        .await
        .unwrap();
    let role = "arn:aws:iam::000000000000:role/app";
    let ops = "arn:aws:iam::000000000000:role/ops";

    // Create, read back exactly; a second grant with the same id on the key conflicts.
    let g1 = grant("k1", "g1", 10, role, Some(ops));
    s.create_grant(&g1).await.unwrap();
    assert!(matches!(
        s.create_grant(&g1).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_grant(A, R, "k1", "g1").await.unwrap(),
        Some(g1.clone())
    );
    assert_eq!(s.get_grant(A, R, "k2", "g1").await.unwrap(), None);
    // The same id on another key is another grant.
    s.create_grant(&grant("k2", "g1", 10, role, None))
        .await
        .unwrap();

    // Creation order, then id; pages follow the cursor.
    s.create_grant(&grant("k1", "g3", 20, ops, Some(ops)))
        .await
        .unwrap();
    s.create_grant(&grant("k1", "g2", 20, role, None))
        .await
        .unwrap();
    let all = s.key_grants(A, R, "k1").await.unwrap();
    let ids: Vec<&str> = all.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, ["g1", "g2", "g3"]);
    let none = GrantFilter::default();
    let p1 = s.list_grants(A, R, "k1", none, None, 2).await.unwrap();
    assert_eq!(p1.items.len(), 2);
    let next = p1.next.clone().unwrap();
    assert_eq!(next, grant_cursor(&p1.items[1]));
    let p2 = s
        .list_grants(A, R, "k1", none, Some(&next), 2)
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.items[0].grant_id, "g3");
    assert_eq!(p2.next, None);

    // Filters by grant id and by grantee.
    let by_id = GrantFilter {
        grant_id: Some("g2"),
        grantee_principal: None,
    };
    let found = s.list_grants(A, R, "k1", by_id, None, 10).await.unwrap();
    assert_eq!(found.items.len(), 1);
    let by_grantee = GrantFilter {
        grant_id: None,
        grantee_principal: Some(role),
    };
    let found = s
        .list_grants(A, R, "k1", by_grantee, None, 10)
        .await
        .unwrap();
    let ids: Vec<&str> = found.items.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, ["g1", "g2"]);

    // Retirable grants across keys, by retiring principal.
    let r = s.list_retirable_grants(R, ops, None, 10).await.unwrap();
    let ids: Vec<&str> = r.items.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, ["g1", "g3"]);
    assert!(
        s.list_retirable_grants("eu-west-1", ops, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // Delete says whether it existed; a deleted key takes its grants with it.
    assert!(s.delete_grant(A, R, "k1", "g2").await.unwrap());
    assert!(!s.delete_grant(A, R, "k1", "g2").await.unwrap());
    s.delete_key(A, R, "k1").await.unwrap();
    assert!(s.key_grants(A, R, "k1").await.unwrap().is_empty());
    assert_eq!(s.key_grants(A, R, "k2").await.unwrap().len(), 1);
}
