//! Replication through the AWS SDK for Rust: a secret replicated to another Region (read-only
//! there, its own key, changes propagating, promotion) and a multi-Region KMS key whose
//! ciphertext decrypts in its replica's Region.

use crate::common::{ACCESS_KEY, SECRET_KEY, Server, sdk_config};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::{ReplicaRegionType, StatusType};

async fn in_region(server: &Server, region: &'static str) -> aws_config::SdkConfig {
    let base = sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await;
    base.into_builder()
        .region(aws_config::Region::new(region))
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_follows_its_primary_until_promoted() {
    let server = Server::start();
    let east = aws_sdk_secretsmanager::Client::new(&in_region(&server, "us-east-1").await);
    let west = aws_sdk_secretsmanager::Client::new(&in_region(&server, "us-west-2").await);
    let west_key = aws_sdk_kms::Client::new(&in_region(&server, "us-west-2").await)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let created = east
        .create_secret()
        .name("sdk/replicated")
        .secret_string("sdk-repl-one")
        .add_replica_regions(
            ReplicaRegionType::builder()
                .region("us-west-2")
                .kms_key_id(&west_key)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let status = created.replication_status();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].status(), Some(&StatusType::InSync));
    let replica = west
        .describe_secret()
        .secret_id("sdk/replicated")
        .send()
        .await
        .unwrap();
    assert_eq!(replica.primary_region(), Some("us-east-1"));
    assert_eq!(replica.kms_key_id(), Some(west_key.as_str()));
    assert_eq!(
        replica.arn().unwrap(),
        created.arn().unwrap().replace(":us-east-1:", ":us-west-2:")
    );

    east.put_secret_value()
        .secret_id("sdk/replicated")
        .secret_string("sdk-repl-two")
        .send()
        .await
        .unwrap();
    let got = west
        .get_secret_value()
        .secret_id("sdk/replicated")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("sdk-repl-two"));

    let refused = west
        .put_secret_value()
        .secret_id("sdk/replicated")
        .secret_string("no")
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("InvalidParameterException"));

    west.stop_replication_to_replica()
        .secret_id("sdk/replicated")
        .send()
        .await
        .unwrap();
    west.put_secret_value()
        .secret_id("sdk/replicated")
        .secret_string("sdk-repl-three")
        .send()
        .await
        .unwrap();
    let primary = east
        .describe_secret()
        .secret_id("sdk/replicated")
        .send()
        .await
        .unwrap();
    assert!(primary.replication_status().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_region_key_decrypts_in_its_replica_region() {
    let server = Server::start();
    let east = aws_sdk_kms::Client::new(&in_region(&server, "us-east-1").await);
    let eu = aws_sdk_kms::Client::new(&in_region(&server, "eu-west-1").await);
    let key = east.create_key().multi_region(true).send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    let out = east
        .replicate_key()
        .key_id(&key_id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let config = out
        .replica_key_metadata()
        .unwrap()
        .multi_region_configuration()
        .unwrap();
    assert_eq!(
        config.multi_region_key_type(),
        Some(&aws_sdk_kms::types::MultiRegionKeyType::Replica)
    );
    let blob = east
        .encrypt()
        .key_id(&key_id)
        .plaintext(aws_sdk_kms::primitives::Blob::new("made in us-east-1"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let plain = eu.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(
        plain.plaintext().unwrap().as_ref(),
        b"made in us-east-1".as_slice()
    );
}
