//! Contract: rotations in progress, their history, and HTTP rotation functions.

use super::secrets::{secret, version};
use coffer_store::*;

const A: &str = "000000000000";
const R: &str = "us-east-1";

fn rotation(arn: &str, token: &str) -> RotationRecord {
    RotationRecord {
        secret_arn: arn.into(),
        token: token.into(),
        function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
        step: "createSecret".into(),
        attempts: 0,
        started_at: 1_000,
        next_attempt_at: 2_000,
        last_error: None,
        row_version: 1,
    }
}

pub async fn contract(s: &Store) {
    let mut sec = secret("rot/one", 100);
    sec.rotation_enabled = true;
    sec.next_rotation_at = Some(5_000);
    sec.rotation_lambda_arn = Some("arn:aws:lambda:us-east-1:000000000000:function:f".into());
    s.create_secret(&sec, Some(&version("v1", &["AWSCURRENT"])))
        .await
        .unwrap();
    let arn = sec.arn.clone();

    // Due by its next rotation date only, and only while no rotation runs.
    assert!(
        s.secrets_due_for_rotation(4_999, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = s.secrets_due_for_rotation(5_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].arn, arn);

    // Starting is compare-and-set on the secret, and one rotation at a time.
    let stale = sec.clone();
    let mut read = s.get_secret_by_arn(&arn).await.unwrap().unwrap();
    read.last_changed_at = 200;
    s.start_rotation(&read, &rotation(&arn, "t1"))
        .await
        .unwrap();
    assert!(matches!(
        s.start_rotation(&stale, &rotation(&arn, "t2")).await,
        Err(StoreError::Conflict)
    ));
    let fresh = s.get_secret_by_arn(&arn).await.unwrap().unwrap();
    assert_eq!(fresh.last_changed_at, 200);
    assert!(matches!(
        s.start_rotation(&fresh, &rotation(&arn, "t2")).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        s.secrets_due_for_rotation(9_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The rotation record: compare-and-set updates, due by next_attempt_at.
    let mut r = s.get_rotation(&arn).await.unwrap().unwrap();
    assert_eq!(r, rotation(&arn, "t1"));
    assert!(s.rotations_due(1_999, 10).await.unwrap().is_empty());
    assert_eq!(s.rotations_due(2_000, 10).await.unwrap().len(), 1);
    r.step = "setSecret".into();
    r.attempts = 1;
    r.last_error = Some("boom".into());
    r.next_attempt_at = 3_000;
    s.update_rotation(&r).await.unwrap();
    assert!(matches!(
        s.update_rotation(&r).await,
        Err(StoreError::Conflict)
    ));
    let r2 = s.get_rotation(&arn).await.unwrap().unwrap();
    assert_eq!(r2.row_version, 2);
    assert_eq!(r2.step, "setSecret");
    assert_eq!(r2.last_error.as_deref(), Some("boom"));

    // Ending needs the right token and the secret as read.
    let mut done = s.get_secret_by_arn(&arn).await.unwrap().unwrap();
    done.last_rotated_at = Some(3_000);
    done.next_rotation_at = Some(90_000);
    assert!(matches!(
        s.end_rotation(&done, Some("other")).await,
        Err(StoreError::Conflict)
    ));
    assert!(s.get_rotation(&arn).await.unwrap().is_some());
    s.end_rotation(&done, Some("t1")).await.unwrap();
    assert!(s.get_rotation(&arn).await.unwrap().is_none());
    let after = s.get_secret_by_arn(&arn).await.unwrap().unwrap();
    assert_eq!(after.last_rotated_at, Some(3_000));
    assert_eq!(after.next_rotation_at, Some(90_000));
    // Cancelling ends whatever runs, or nothing.
    s.end_rotation(&after, None).await.unwrap();

    // History, newest first, bounded.
    for i in 0..105 {
        s.add_rotation_event(
            &arn,
            &RotationEventRecord {
                at: i,
                token: "t1".into(),
                step: "setSecret".into(),
                outcome: "failed".into(),
                message: Some(format!("attempt {i}")),
            },
        )
        .await
        .unwrap();
    }
    let events = s.list_rotation_events(&arn, 1_000).await.unwrap();
    assert_eq!(events.len(), 100);
    assert_eq!(events[0].at, 104);
    assert_eq!(s.list_rotation_events(&arn, 3).await.unwrap().len(), 3);

    // Purging the secret takes its rotation state with it.
    let again = s.get_secret_by_arn(&arn).await.unwrap().unwrap();
    s.start_rotation(&again, &rotation(&arn, "t3"))
        .await
        .unwrap();
    assert!(s.purge_secret(&arn).await.unwrap());
    assert!(s.get_rotation(&arn).await.unwrap().is_none());
    assert!(s.list_rotation_events(&arn, 10).await.unwrap().is_empty());

    // HTTP rotation functions.
    let f = RotationFunctionRecord {
        account_id: A.into(),
        region: R.into(),
        name: "my-rotator".into(),
        url: "http://127.0.0.1:9/rotate".into(),
        timeout_ms: 30_000,
        signing_key: vec![7; 60],
        created_at: 1,
    };
    s.create_rotation_function(&f).await.unwrap();
    assert!(matches!(
        s.create_rotation_function(&f).await,
        Err(StoreError::Conflict)
    ));
    let mut g = f.clone();
    g.name = "a-first".into();
    s.create_rotation_function(&g).await.unwrap();
    assert_eq!(
        s.get_rotation_function(A, R, "my-rotator").await.unwrap(),
        Some(f.clone())
    );
    assert!(
        s.get_rotation_function(A, "eu-west-1", "my-rotator")
            .await
            .unwrap()
            .is_none()
    );
    let names: Vec<String> = s
        .list_rotation_functions(A, R)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["a-first", "my-rotator"]);
    assert!(
        s.delete_rotation_function(A, R, "my-rotator")
            .await
            .unwrap()
    );
    assert!(
        !s.delete_rotation_function(A, R, "my-rotator")
            .await
            .unwrap()
    );
    assert!(!format!("{g:?}").contains("7, 7"));
}
