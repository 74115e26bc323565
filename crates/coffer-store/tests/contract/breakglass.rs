//! Contract: break-glass incidents and their reads.

use crate::foundation::{A, seed};
use coffer_store::*;

fn request(id: &str) -> BreakGlassRecord {
    BreakGlassRecord {
        request_id: id.into(),
        account_id: A.into(),
        role_arn: "arn:aws:iam::000000000000:role/breakglass".into(),
        requester_arn: "arn:aws:iam::000000000000:user/alice".into(),
        reason: "prod down".into(),
        duration_seconds: 3600,
        state: "Pending".into(),
        created_at: 10,
        request_expires_at: 1_000,
        approver_arn: None,
        approved_at: None,
        session_expires_at: None,
        revoked_at: None,
        closed_at: None,
    }
}

pub async fn contract(s: &Store) {
    seed(s).await;
    let r = request("bg-1");
    s.create_breakglass(&r).await.unwrap();
    assert!(matches!(
        s.create_breakglass(&r).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_breakglass("bg-1").await.unwrap(), Some(r.clone()));
    assert_eq!(s.get_breakglass("bg-2").await.unwrap(), None);

    // Approve from Pending; a second approval from the same read state conflicts.
    let approved = BreakGlassRecord {
        state: "Approved".into(),
        approver_arn: Some("arn:aws:iam::000000000000:user/bob".into()),
        approved_at: Some(100),
        session_expires_at: Some(200),
        ..r.clone()
    };
    s.update_breakglass(&approved, "Pending").await.unwrap();
    assert!(matches!(
        s.update_breakglass(&approved, "Pending").await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        s.get_breakglass("bg-1").await.unwrap(),
        Some(approved.clone())
    );

    // Ended: once the window is over (or revoked), until closed.
    assert!(s.ended_breakglass(199).await.unwrap().is_empty());
    assert_eq!(s.ended_breakglass(200).await.unwrap().len(), 1);
    s.create_breakglass(&request("bg-2")).await.unwrap();
    let revoked = BreakGlassRecord {
        state: "Revoked".into(),
        approved_at: Some(50),
        session_expires_at: Some(10_000),
        revoked_at: Some(60),
        ..request("bg-2")
    };
    s.update_breakglass(&revoked, "Pending").await.unwrap();
    let ended: Vec<String> = s
        .ended_breakglass(199)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    assert_eq!(ended, ["bg-2"]);
    let closed = BreakGlassRecord {
        closed_at: Some(300),
        ..approved.clone()
    };
    s.update_breakglass(&closed, "Approved").await.unwrap();
    let ended: Vec<String> = s
        .ended_breakglass(400)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.request_id)
        .collect();
    assert_eq!(ended, ["bg-2"]);

    // Reads: counted per resource; rotation outcome recorded.
    let arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
    s.record_breakglass_read("bg-1", arn, "secret", 120)
        .await
        .unwrap();
    s.record_breakglass_read("bg-1", arn, "secret", 130)
        .await
        .unwrap();
    s.record_breakglass_read(
        "bg-1",
        "arn:aws:ssm:us-east-1:000000000000:parameter/p",
        "parameter",
        125,
    )
    .await
    .unwrap();
    let reads = s.breakglass_reads("bg-1").await.unwrap();
    assert_eq!(reads.len(), 2);
    assert_eq!(
        (
            reads[0].resource_arn.as_str(),
            reads[0].reads,
            reads[0].first_read_at
        ),
        (arn, 2, 120)
    );
    assert_eq!(reads[0].rotation, "pending");
    s.set_breakglass_rotation("bg-1", arn, "rotated", 500)
        .await
        .unwrap();
    let reads = s.breakglass_reads("bg-1").await.unwrap();
    assert_eq!(
        (reads[0].rotation.as_str(), reads[0].rotation_at),
        ("rotated", Some(500))
    );
    assert!(s.breakglass_reads("bg-2").await.unwrap().is_empty());
}
