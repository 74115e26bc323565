//! Contract: IAM entities, policies, attachments, groups, access keys of users, OIDC providers.

use coffer_store::*;

const A: &str = "000000000000";
const B: &str = "111111111111";

fn entity(account: &str, kind: IamKind, name: &str) -> IamEntityRecord {
    let k = kind.as_str();
    IamEntityRecord {
        account_id: account.into(),
        kind,
        name: name.into(),
        id: format!("ID{account}{k}{name}").to_uppercase(),
        path: "/".into(),
        arn: format!("arn:aws:iam::{account}:{k}/{name}"),
        created_at: 5,
        tags: vec![],
        trust_policy: (kind == IamKind::Role).then(|| "{\"trust\":1}".to_owned()),
        max_session_duration: (kind == IamKind::Role).then_some(3600),
        description: None,
        permissions_boundary: None,
        row_version: 1,
    }
}

fn doc(n: u32) -> String {
    format!("{{\"doc\":{n}}}")
}

pub async fn contract(s: &Store) {
    crate::foundation::seed(s).await;
    s.ensure_account(B, 1).await.unwrap();

    // Entities: unique per (account, kind, name); the same name in another kind or account is
    // another entity.
    let alice = entity(A, IamKind::User, "alice");
    s.create_entity(&alice).await.unwrap();
    assert!(matches!(
        s.create_entity(&alice).await,
        Err(StoreError::Conflict)
    ));
    let mut alice_b = entity(B, IamKind::User, "alice");
    alice_b.path = "/team/".into();
    s.create_entity(&alice_b).await.unwrap();
    let role = entity(A, IamKind::Role, "alice");
    s.create_entity(&role).await.unwrap();
    s.create_entity(&entity(A, IamKind::User, "bob"))
        .await
        .unwrap();
    s.create_entity(&entity(A, IamKind::Group, "devs"))
        .await
        .unwrap();
    assert_eq!(
        s.get_entity(A, IamKind::User, "alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        s.get_entity(A, IamKind::Role, "alice").await.unwrap(),
        Some(role.clone())
    );
    assert_eq!(s.get_entity(A, IamKind::Role, "nope").await.unwrap(), None);
    let users: Vec<_> = s
        .list_entities(A, IamKind::User, "/")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(users, ["alice", "bob"]);
    assert_eq!(
        s.list_entities(B, IamKind::User, "/team/")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.list_entities(B, IamKind::User, "/other/")
            .await
            .unwrap()
            .is_empty()
    );

    // Updates are compare-and-set on row_version.
    let mut r2 = role.clone();
    r2.trust_policy = Some(doc(9));
    r2.tags = vec![Tag {
        key: "team".into(),
        value: "payments".into(),
    }];
    s.update_entity(&r2).await.unwrap();
    assert!(matches!(
        s.update_entity(&r2).await,
        Err(StoreError::Conflict)
    ));
    let stored = s
        .get_entity(A, IamKind::Role, "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.row_version, 2);
    assert_eq!(stored.trust_policy.as_deref(), Some(doc(9).as_str()));
    assert_eq!(stored.tags, r2.tags);

    // Inline policies: put replaces, names listed in order.
    s.put_inline_policy(A, IamKind::User, "alice", "p2", &doc(2))
        .await
        .unwrap();
    s.put_inline_policy(A, IamKind::User, "alice", "p1", &doc(0))
        .await
        .unwrap();
    s.put_inline_policy(A, IamKind::User, "alice", "p1", &doc(1))
        .await
        .unwrap();
    assert_eq!(
        s.list_inline_policies(A, IamKind::User, "alice")
            .await
            .unwrap(),
        ["p1", "p2"]
    );
    assert_eq!(
        s.get_inline_policy(A, IamKind::User, "alice", "p1")
            .await
            .unwrap(),
        Some(doc(1))
    );
    assert!(
        s.list_inline_policies(A, IamKind::Role, "alice")
            .await
            .unwrap()
            .is_empty()
    );

    // Managed policies with versions.
    let arn = format!("arn:aws:iam::{A}:policy/Read");
    let mut mp = ManagedPolicyRecord {
        account_id: A.into(),
        name: "Read".into(),
        id: "ANPAREAD".into(),
        path: "/".into(),
        arn: arn.clone(),
        description: String::new(),
        default_version: "v1".into(),
        next_version: 2,
        created_at: 1,
        updated_at: 1,
        row_version: 1,
    };
    let v1 = PolicyVersionRecord {
        version_id: "v1".into(),
        document: doc(10),
        created_at: 1,
    };
    s.create_managed_policy(&mp, &v1).await.unwrap();
    let mut dup = mp.clone();
    dup.id = "ANPAOTHER".into();
    assert!(matches!(
        s.create_managed_policy(&dup, &v1).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_managed_policy(A, &arn).await.unwrap(),
        Some(mp.clone())
    );
    assert_eq!(s.get_managed_policy(B, &arn).await.unwrap(), None);

    // Attachments feed the effective policies of users, their groups, and roles.
    s.attach_policy(A, IamKind::Role, "alice", &arn)
        .await
        .unwrap();
    s.attach_policy(A, IamKind::Role, "alice", &arn)
        .await
        .unwrap();
    assert_eq!(
        s.list_attached_policies(A, IamKind::Role, "alice")
            .await
            .unwrap(),
        vec![arn.clone()]
    );
    assert_eq!(s.count_policy_attachments(A, &arn).await.unwrap(), 1);
    assert_eq!(
        s.effective_policies(A, IamKind::Role, "alice")
            .await
            .unwrap(),
        [doc(10)]
    );
    s.add_group_member(A, "devs", "bob").await.unwrap();
    s.add_group_member(A, "devs", "bob").await.unwrap();
    s.put_inline_policy(A, IamKind::Group, "devs", "g", &doc(20))
        .await
        .unwrap();
    s.attach_policy(A, IamKind::Group, "devs", &arn)
        .await
        .unwrap();
    let mut bob = s.effective_policies(A, IamKind::User, "bob").await.unwrap();
    bob.sort();
    assert_eq!(bob, [doc(10), doc(20)]);
    assert_eq!(s.list_groups_of_user(A, "bob").await.unwrap(), ["devs"]);
    assert_eq!(s.list_group_members(A, "devs").await.unwrap(), ["bob"]);
    let mut alice_docs = s
        .effective_policies(A, IamKind::User, "alice")
        .await
        .unwrap();
    alice_docs.sort();
    assert_eq!(alice_docs, [doc(1), doc(2)], "alice is in no group");
    assert!(
        s.effective_policies(A, IamKind::Group, "bob")
            .await
            .unwrap()
            .is_empty(),
        "a group named like a member inherits nothing"
    );

    // A permissions boundary is a managed policy's default version.
    assert_eq!(
        s.permissions_boundary(A, IamKind::Role, "alice")
            .await
            .unwrap(),
        None
    );
    let mut bounded = s
        .get_entity(A, IamKind::Role, "alice")
        .await
        .unwrap()
        .unwrap();
    bounded.permissions_boundary = Some(arn.clone());
    s.update_entity(&bounded).await.unwrap();
    assert_eq!(
        s.permissions_boundary(A, IamKind::Role, "alice")
            .await
            .unwrap(),
        Some(doc(10))
    );
    assert_eq!(
        s.get_entity(A, IamKind::Role, "alice")
            .await
            .unwrap()
            .unwrap()
            .permissions_boundary,
        Some(arn.clone())
    );

    // A new default version changes what every holder gets; compare-and-set on the policy.
    mp.default_version = "v2".into();
    mp.next_version = 3;
    mp.updated_at = 2;
    let v2 = PolicyVersionRecord {
        version_id: "v2".into(),
        document: doc(11),
        created_at: 2,
    };
    s.add_policy_version(&mp, &v2).await.unwrap();
    assert!(matches!(
        s.add_policy_version(&mp, &v2).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.effective_policies(A, IamKind::Role, "alice")
            .await
            .unwrap(),
        [doc(11)]
    );
    assert_eq!(
        s.get_policy_version(A, "Read", "v1").await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(s.list_policy_versions(A, "Read").await.unwrap(), [v1, v2]);

    // Detach, remove members, delete inline.
    assert!(
        s.detach_policy(A, IamKind::Group, "devs", &arn)
            .await
            .unwrap()
    );
    assert!(
        !s.detach_policy(A, IamKind::Group, "devs", &arn)
            .await
            .unwrap()
    );
    assert!(s.remove_group_member(A, "devs", "bob").await.unwrap());
    assert!(
        s.effective_policies(A, IamKind::User, "bob")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.delete_inline_policy(A, IamKind::User, "alice", "p2")
            .await
            .unwrap()
    );
    assert!(
        !s.delete_inline_policy(A, IamKind::User, "alice", "p2")
            .await
            .unwrap()
    );

    // Access keys of users: listed by principal, status changes, deletion.
    for (id, at) in [("AKIAALICE2", 2), ("AKIAALICE1", 1)] {
        s.insert_access_key(&AccessKeyRecord {
            access_key_id: id.into(),
            account_id: A.into(),
            principal_arn: alice.arn.clone(),
            principal_id: alice.id.clone(),
            wrapped_secret: vec![9; 40],
            status: AccessKeyStatus::Active,
            created_at: at,
        })
        .await
        .unwrap();
    }
    let keys: Vec<_> = s
        .list_access_keys_of(A, &alice.arn)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.access_key_id)
        .collect();
    assert_eq!(keys, ["AKIAALICE1", "AKIAALICE2"]);
    assert!(
        s.set_access_key_status("AKIAALICE1", AccessKeyStatus::Inactive)
            .await
            .unwrap()
    );
    assert!(
        !s.set_access_key_status("AKIANOPE", AccessKeyStatus::Inactive)
            .await
            .unwrap()
    );
    assert_eq!(
        s.get_access_key("AKIAALICE1")
            .await
            .unwrap()
            .unwrap()
            .status,
        AccessKeyStatus::Inactive
    );
    assert!(s.delete_access_key("AKIAALICE2").await.unwrap());
    assert!(!s.delete_access_key("AKIAALICE2").await.unwrap());
    assert_eq!(s.get_access_key("AKIAALICE2").await.unwrap(), None);

    // Deleting an entity takes its inline policies, attachments and memberships with it.
    s.add_group_member(A, "devs", "alice").await.unwrap();
    assert!(s.delete_entity(A, IamKind::User, "alice").await.unwrap());
    assert!(!s.delete_entity(A, IamKind::User, "alice").await.unwrap());
    assert!(
        s.list_inline_policies(A, IamKind::User, "alice")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.list_group_members(A, "devs").await.unwrap().is_empty());
    assert!(
        s.get_entity(B, IamKind::User, "alice")
            .await
            .unwrap()
            .is_some()
    );
    assert!(s.delete_entity(A, IamKind::Role, "alice").await.unwrap());
    assert_eq!(s.count_policy_attachments(A, &arn).await.unwrap(), 0);
    assert!(s.delete_managed_policy(A, &arn).await.unwrap());
    assert!(!s.delete_managed_policy(A, &arn).await.unwrap());
    assert_eq!(s.get_policy_version(A, "Read", "v1").await.unwrap(), None);

    // OIDC providers.
    let p = OidcProviderRecord {
        account_id: A.into(),
        arn: format!("arn:aws:iam::{A}:oidc-provider/issuer.example/k8s"),
        url: "https://issuer.example/k8s".into(),
        client_ids: vec!["sts.amazonaws.com".into()],
        thumbprints: vec!["a".repeat(40)],
        created_at: 3,
    };
    s.create_oidc_provider(&p).await.unwrap();
    assert!(matches!(
        s.create_oidc_provider(&p).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_oidc_provider(A, &p.arn).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(s.list_oidc_providers(A).await.unwrap(), vec![p.clone()]);
    assert!(s.list_oidc_providers(B).await.unwrap().is_empty());
    assert!(s.delete_oidc_provider(A, &p.arn).await.unwrap());
    assert_eq!(s.get_oidc_provider(A, &p.arn).await.unwrap(), None);
}
