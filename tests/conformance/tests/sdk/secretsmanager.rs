//! Secrets Manager through aws-sdk-secretsmanager: the life of a secret end to end, rollback with
//! staging labels, idempotent tokens, listing, errors, and what reaches the disk.

use crate::common::{self, ACCESS_KEY, SECRET_KEY, Server, sdk_config};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use std::collections::HashMap;

async fn client(server: &Server) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(
        &sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await,
    )
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_owned()
}

/// VersionIdsToStages as a plain map with sorted labels.
async fn stages(sm: &aws_sdk_secretsmanager::Client, id: &str) -> HashMap<String, Vec<String>> {
    let d = sm.describe_secret().secret_id(id).send().await.unwrap();
    d.version_ids_to_stages()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v.sort();
            (k.clone(), v)
        })
        .collect()
}

const FIRST: &str = "sm-e2e-first-value-Xq81";
const SECOND: &str = "sm-e2e-second-value-Pz27";

#[tokio::test(flavor = "multi_thread")]
async fn secret_lifecycle_rollback_and_restart() {
    let mut server = Server::start();
    let sm = client(&server).await;

    let created = sm
        .create_secret()
        .name("prod/app/db")
        .description("db creds")
        .secret_string(FIRST)
        .tags(Tag::builder().key("team").value("payments").build())
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap().to_owned();
    let prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/app/db-";
    assert!(arn.starts_with(prefix), "{arn}");
    assert_eq!(arn.len(), prefix.len() + 6);
    let v1 = created.version_id().unwrap().to_owned();

    // Found by name, full ARN and partial ARN.
    for id in ["prod/app/db", arn.as_str(), &arn[..arn.len() - 7]] {
        let got = sm.get_secret_value().secret_id(id).send().await.unwrap();
        assert_eq!(got.secret_string(), Some(FIRST), "by {id}");
        assert_eq!(got.arn(), Some(arn.as_str()));
    }

    // A new current version; the old one becomes AWSPREVIOUS.
    let put = sm
        .put_secret_value()
        .secret_id("prod/app/db")
        .secret_string(SECOND)
        .send()
        .await
        .unwrap();
    let v2 = put.version_id().unwrap().to_owned();
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);
    let map = stages(&sm, &arn).await;
    assert_eq!(map.len(), 2);
    assert_eq!(map[&v1], ["AWSPREVIOUS"]);
    assert_eq!(map[&v2], ["AWSCURRENT"]);
    let previous = sm
        .get_secret_value()
        .secret_id("prod/app/db")
        .version_stage("AWSPREVIOUS")
        .send()
        .await
        .unwrap();
    assert_eq!(previous.secret_string(), Some(FIRST));

    // Rolling back needs RemoveFromVersionId to name the current holder.
    let e = sm
        .update_secret_version_stage()
        .secret_id("prod/app/db")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = sm
        .update_secret_version_stage()
        .secret_id("prod/app/db")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    sm.update_secret_version_stage()
        .secret_id("prod/app/db")
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v2)
        .send()
        .await
        .unwrap();
    let map = stages(&sm, &arn).await;
    assert_eq!(map[&v1], ["AWSCURRENT"]);
    assert_eq!(map[&v2], ["AWSPREVIOUS"]);
    let current = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(current.secret_string(), Some(FIRST));

    // The same token and value is accepted again without a new version; another value is not.
    let token = "0123456789abcdef0123456789abcdef";
    for _ in 0..2 {
        let p = sm
            .put_secret_value()
            .secret_id(&arn)
            .client_request_token(token)
            .secret_binary(Blob::new(b"\x00\x01binary".to_vec()))
            .send()
            .await
            .unwrap();
        assert_eq!(p.version_id(), Some(token));
    }
    let e = sm
        .put_secret_value()
        .secret_id(&arn)
        .client_request_token(token)
        .secret_string("different")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceExistsException");
    let versions = sm
        .list_secret_version_ids()
        .secret_id(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2, "{versions:?}");
    let all = sm
        .list_secret_version_ids()
        .secret_id(&arn)
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    assert_eq!(all.versions().len(), 3);

    // Data survives a restart, binary included.
    server.restart();
    let sm = client(&server).await;
    let got = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(got.secret_binary().unwrap().as_ref(), b"\x00\x01binary");
    let old = sm
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(old.secret_string(), Some(SECOND));

    // Delete, read refused, restore, force delete, name reusable under a new ARN.
    let d = sm
        .delete_secret()
        .secret_id(&arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert!(d.deletion_date().is_some());
    let e = sm
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    let e = sm
        .create_secret()
        .name("prod/app/db")
        .secret_string("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException");
    sm.restore_secret().secret_id(&arn).send().await.unwrap();
    sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    sm.delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let e = sm
        .describe_secret()
        .secret_id(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let again = sm
        .create_secret()
        .name("prod/app/db")
        .secret_string("x")
        .send()
        .await
        .unwrap();
    assert_ne!(again.arn(), Some(arn.as_str()));
    let e = sm
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");

    // Nothing stored in clear, logs included.
    server.stop();
    let mut places = common::files_under(&server.data_dir);
    places.push((server.log.clone(), server.log_text().into_bytes()));
    for (path, bytes) in places {
        for needle in [FIRST, SECOND] {
            assert!(
                !common::contains(&bytes, needle.as_bytes()),
                "{needle} found in {}",
                path.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_keys_and_errors() {
    let server = Server::start();
    let sm = client(&server).await;
    let kms =
        aws_sdk_kms::Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await);

    for i in 0..7 {
        sm.create_secret()
            .name(format!("list/{i}"))
            .description(if i % 2 == 0 { "Even one" } else { "odd one" })
            .secret_string(format!("v{i}"))
            .send()
            .await
            .unwrap();
    }
    // Pages of 3, stable while a secret is added between pages.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = sm
            .list_secrets()
            .max_results(3)
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values("list/")
                    .build(),
            )
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.secret_list()
                .iter()
                .map(|s| s.name().unwrap().to_owned()),
        );
        pages += 1;
        if pages == 1 {
            sm.create_secret()
                .name("list/late")
                .secret_string("late")
                .send()
                .await
                .unwrap();
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
    for i in 0..7 {
        assert!(seen.contains(&format!("list/{i}")), "{seen:?}");
    }
    // Description matches ignore case; `!` negates.
    let even = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Description)
                .values("even")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(even.secret_list().len(), 4);
    let not_even = sm
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values("list/")
                .build(),
        )
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Description)
                .values("!even")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(not_even.secret_list().len(), 4, "3 odd + list/late");

    // Batch get: per-secret failures are reported, not fatal.
    let batch = sm
        .batch_get_secret_value()
        .secret_id_list("list/1")
        .secret_id_list("list/missing")
        .send()
        .await
        .unwrap();
    assert_eq!(batch.secret_values().len(), 1);
    assert_eq!(batch.secret_values()[0].secret_string(), Some("v1"));
    assert_eq!(batch.errors().len(), 1);
    assert_eq!(
        batch.errors()[0].error_code(),
        Some("ResourceNotFoundException")
    );

    // A customer key: a disabled key refuses reads, not with the value.
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    sm.create_secret()
        .name("keyed")
        .kms_key_id(&key_id)
        .secret_string("keyed-value")
        .send()
        .await
        .unwrap();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let e = sm
        .get_secret_value()
        .secret_id("keyed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "DecryptionFailure");
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let got = sm
        .get_secret_value()
        .secret_id("keyed")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("keyed-value"));

    // Bad input: AWS's codes, never a 5xx.
    let e = sm
        .create_secret()
        .name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = sm
        .create_secret()
        .name("x".repeat(513))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = sm
        .create_secret()
        .name("both")
        .secret_string("a")
        .secret_binary(Blob::new(b"b".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = sm
        .delete_secret()
        .secret_id("list/1")
        .recovery_window_in_days(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterException");
    let e = sm
        .get_secret_value()
        .secret_id("arn:aws:secretsmanager:us-east-1:111111111111:secret:theirs-AbCdEf")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException");
    let e = sm
        .get_secret_value()
        .secret_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let pw = sm
        .get_random_password()
        .password_length(40)
        .exclude_punctuation(true)
        .send()
        .await
        .unwrap();
    let pw = pw.random_password().unwrap();
    assert_eq!(pw.len(), 40);
    assert!(pw.chars().all(|c| c.is_ascii_alphanumeric()));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_keep_one_current_version() {
    let server = Server::start();
    let sm = client(&server).await;
    sm.create_secret()
        .name("contended")
        .secret_string("v0")
        .send()
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let sm = sm.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..5 {
                let p = sm
                    .put_secret_value()
                    .secret_id("contended")
                    .secret_string(format!("w{w}-{i}"))
                    .send()
                    .await
                    .unwrap();
                ids.push(p.version_id().unwrap().to_owned());
            }
            ids
        }));
    }
    // And eight retries of one request racing each other.
    let token = "fedcba9876543210fedcba9876543210";
    for _ in 0..8 {
        let sm = sm.clone();
        tasks.push(tokio::spawn(async move {
            let p = sm
                .put_secret_value()
                .secret_id("contended")
                .client_request_token(token)
                .secret_string("same")
                .send()
                .await
                .unwrap();
            vec![p.version_id().unwrap().to_owned()]
        }));
    }
    let mut written = std::collections::BTreeSet::new();
    for t in tasks {
        written.extend(t.await.unwrap());
    }
    assert_eq!(written.len(), 41, "40 puts and one idempotent token");
    let all = sm
        .list_secret_version_ids()
        .secret_id("contended")
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    assert_eq!(all.versions().len(), 42);
    let map = stages(&sm, "contended").await;
    let holders = |label: &str| {
        map.iter()
            .filter(|(_, l)| l.iter().any(|x| x == label))
            .count()
    };
    assert_eq!(holders("AWSCURRENT"), 1, "{map:?}");
    assert_eq!(holders("AWSPREVIOUS"), 1, "{map:?}");
    let current = sm
        .get_secret_value()
        .secret_id("contended")
        .send()
        .await
        .unwrap();
    assert!(written.contains(current.version_id().unwrap()));
}
