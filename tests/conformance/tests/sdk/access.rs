//! Access control with the AWS SDK for Rust: the seed's cross-account pattern between two
//! accounts' roots (`--dev` selects an account by a 12-digit key id), step by step.

use crate::common::{Server, sdk_config};

const A: &str = "222222222222";
const B: &str = "333333333333";

fn code<E: aws_sdk_secretsmanager::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_owned()
}

fn statement(principal: &str, actions: &[&str]) -> serde_json::Value {
    serde_json::json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"})
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_account_secret_needs_resource_policy_and_key_policy() {
    let server = Server::start_with(&["--dev"]);
    let a = sdk_config(&server.endpoint(), A, "x").await;
    let b = sdk_config(&server.endpoint(), B, "y").await;
    let (kms_a, sm_a) = (
        aws_sdk_kms::Client::new(&a),
        aws_sdk_secretsmanager::Client::new(&a),
    );
    let sm_b = aws_sdk_secretsmanager::Client::new(&b);
    let b_root = format!("arn:aws:iam::{B}:root");
    let a_root = format!("arn:aws:iam::{A}:root");

    let key = kms_a.create_key().send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    let arn = sm_a
        .create_secret()
        .name("shared/db")
        .secret_string("s3cr3t")
        .kms_key_id(&key_arn)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let managed_arn = sm_a
        .create_secret()
        .name("shared/managed")
        .secret_string("m")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let read = |id: String| {
        let sm_b = sm_b.clone();
        async move {
            match sm_b.get_secret_value().secret_id(id).send().await {
                Ok(v) => Ok(v.secret_string().unwrap().to_owned()),
                Err(e) => Err(code(&e)),
            }
        }
    };

    // No resource policy.
    assert_eq!(
        read(arn.clone()).await.unwrap_err(),
        "AccessDeniedException"
    );
    // A's secret is not found by name from B (names are per account).
    assert_eq!(
        read("shared/db".into()).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [statement(&b_root, &["secretsmanager:GetSecretValue"])]});
    for id in [&arn, &managed_arn] {
        sm_a.put_resource_policy()
            .secret_id(id)
            .resource_policy(policy.to_string())
            .send()
            .await
            .unwrap();
    }
    // Resource policy but a key policy that does not name B.
    assert_eq!(
        read(arn.clone()).await.unwrap_err(),
        "AccessDeniedException"
    );
    let key_policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        statement(&a_root, &["kms:*"]),
        statement(&b_root, &["kms:Decrypt", "kms:DescribeKey"]),
    ]});
    kms_a
        .put_key_policy()
        .key_id(&key_arn)
        .policy_name("default")
        .policy(key_policy.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(read(arn.clone()).await.unwrap(), "s3cr3t");
    // Under aws/secretsmanager: never from another account, even with the resource policy
    // allowing it (AWS's InvalidRequestException: "You can't access a secret from a different AWS
    // account if you encrypt the secret with the default KMS service key.").
    assert_eq!(
        read(managed_arn).await.unwrap_err(),
        "InvalidRequestException"
    );
    // B still cannot write A's secret: the resource policy grants reads only.
    let put = sm_b
        .put_secret_value()
        .secret_id(&arn)
        .secret_string("mine")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&put), "AccessDeniedException");
}
