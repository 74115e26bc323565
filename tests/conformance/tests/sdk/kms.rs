//! KMS, STS, authentication and server configuration through the AWS SDK for Rust (aws-sdk-kms,
//! aws-sdk-sts), plus raw SigV4 requests signed with the `aws-sigv4` crate for the cases an SDK
//! will not produce.

use crate::common::{self, ACCESS_KEY, SECRET_KEY, Server, sdk_config};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use std::time::{Duration, SystemTime};

async fn kms(server: &Server) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await)
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_end_to_end_survives_restart() {
    let mut server = Server::start();
    let client = kms(&server).await;

    let key = client.create_key().description("e2e").send().await.unwrap();
    let meta = key.key_metadata().unwrap();
    let key_id = meta.key_id().to_owned();
    assert_eq!(meta.key_state().unwrap().as_str(), "Enabled");
    assert!(
        meta.arn()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:000000000000:key/")
    );

    client
        .create_alias()
        .alias_name("alias/e2e")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let dup = client
        .create_alias()
        .alias_name("alias/e2e")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&dup), "AlreadyExistsException");

    // Encrypt by alias, with an encryption context; decrypt infers the key from the blob.
    let secret = b"payments-db-password";
    let enc = client
        .encrypt()
        .key_id("alias/e2e")
        .plaintext(Blob::new(secret.as_slice()))
        .encryption_context("app", "payments")
        .send()
        .await
        .unwrap();
    let blob = enc.ciphertext_blob().unwrap().clone();
    assert!(
        !common::contains(blob.as_ref(), secret),
        "ciphertext must not contain the plaintext"
    );
    let dec = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("app", "payments")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), secret);
    assert_eq!(dec.key_id().unwrap(), meta.arn().unwrap());

    // The encryption context is bound: a different one does not decrypt.
    let wrong = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("app", "other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong), "InvalidCiphertextException");

    // Data keys: the plaintext key decrypts from its blob; WithoutPlaintext returns no plaintext.
    let dk = client
        .generate_data_key()
        .key_id("alias/e2e")
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(dk.plaintext().unwrap().as_ref().len(), 32);
    let back = client
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.plaintext().unwrap().as_ref(),
        dk.plaintext().unwrap().as_ref()
    );
    let dk2 = client
        .generate_data_key_without_plaintext()
        .key_id(&key_id)
        .number_of_bytes(64)
        .send()
        .await
        .unwrap();
    assert!(dk2.ciphertext_blob().is_some());
    let back2 = client
        .decrypt()
        .ciphertext_blob(dk2.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(back2.plaintext().unwrap().as_ref().len(), 64);

    // ReEncrypt to a second key.
    let other = client
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let re = client
        .re_encrypt()
        .ciphertext_blob(blob.clone())
        .source_encryption_context("app", "payments")
        .destination_key_id(&other)
        .send()
        .await
        .unwrap();
    let re_dec = client
        .decrypt()
        .ciphertext_blob(re.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(re_dec.plaintext().unwrap().as_ref(), secret);

    // Rotation keeps old material: the blob made before still decrypts.
    client
        .rotate_key_on_demand()
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    let after_rotation = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("app", "payments")
        .send()
        .await
        .unwrap();
    assert_eq!(after_rotation.plaintext().unwrap().as_ref(), secret);

    // Disabled keys refuse to work, with AWS's error.
    client.disable_key().key_id(&key_id).send().await.unwrap();
    let disabled = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("app", "payments")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&disabled), "DisabledException");
    let disabled = client
        .encrypt()
        .key_id("alias/e2e")
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&disabled), "DisabledException");
    client.enable_key().key_id(&key_id).send().await.unwrap();

    // Restart on the same data dir: the old ciphertext still decrypts.
    server.restart();
    let client = kms(&server).await;
    let dec = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("app", "payments")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), secret);
    let aliases = client.list_aliases().send().await.unwrap();
    assert!(
        aliases
            .aliases()
            .iter()
            .any(|a| a.alias_name() == Some("alias/e2e"))
    );

    // Nothing in the data dir or the log holds the plaintext.
    server.stop();
    for (path, bytes) in common::files_under(&server.data_dir) {
        assert!(
            !common::contains(&bytes, secret),
            "{} holds the plaintext",
            path.display()
        );
    }
    assert!(!server.log_text().contains("payments-db-password"));
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_errors_follow_aws() {
    let server = Server::start();
    let client = kms(&server).await;
    let missing = client
        .describe_key()
        .key_id("alias/none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "NotFoundException");
    let too_big = client
        .encrypt()
        .key_id("alias/aws/secretsmanager")
        .plaintext(Blob::new(vec![1u8; 4097]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&too_big), "ValidationException");
    assert!(
        too_big
            .message()
            .unwrap()
            .contains("less than or equal to 4096")
    );
    let bad_alias = client
        .create_alias()
        .alias_name("alias/aws/mine")
        .target_key_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad_alias), "NotAuthorizedException"); // alias/aws/ is reserved

    // The AWS managed key exists on first use and cannot be managed by the customer.
    let managed = client
        .describe_key()
        .key_id("alias/aws/secretsmanager")
        .send()
        .await
        .unwrap();
    let managed = managed.key_metadata().unwrap();
    assert_eq!(managed.key_manager().unwrap().as_str(), "AWS");
    let refused = client
        .disable_key()
        .key_id(managed.key_id())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "UnsupportedOperationException");

    // Deletion scheduling and cancellation.
    let k = client
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let sched = client
        .schedule_key_deletion()
        .key_id(&k)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(sched.pending_window_in_days(), Some(7));
    let pending = client
        .encrypt()
        .key_id(&k)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&pending), "KMSInvalidStateException");
    client
        .cancel_key_deletion()
        .key_id(&k)
        .send()
        .await
        .unwrap();
    let state = client.describe_key().key_id(&k).send().await.unwrap();
    assert_eq!(
        state.key_metadata().unwrap().key_state().unwrap().as_str(),
        "Disabled"
    );

    // Pagination with Limit/Marker walks every key exactly once.
    for _ in 0..3 {
        client.create_key().send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_keys()
            .limit(2)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        seen.extend(page.keys().iter().map(|k| k.key_id().unwrap().to_owned()));
        if !page.truncated() {
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len());
    assert_eq!(seen.len(), 5, "managed key + 4 created keys");

    let random = client
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_eq!(random.plaintext().unwrap().as_ref().len(), 32);
}

#[tokio::test(flavor = "multi_thread")]
async fn sts_get_caller_identity() {
    let server = Server::start();
    let sts =
        aws_sdk_sts::Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("000000000000"));
    assert_eq!(me.arn(), Some("arn:aws:iam::000000000000:root"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_refused() {
    let server = Server::start();
    let wrong_secret = aws_sdk_kms::Client::new(
        &sdk_config(&server.endpoint(), ACCESS_KEY, "not-the-secret").await,
    );
    let e = wrong_secret.list_keys().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidSignatureException");
    assert!(
        e.message()
            .unwrap()
            .contains("does not match the signature you provided")
    );

    let unknown = aws_sdk_kms::Client::new(
        &sdk_config(&server.endpoint(), "AKIAUNKNOWNKEY000000", SECRET_KEY).await,
    );
    let e = unknown.list_keys().send().await.unwrap_err();
    assert_eq!(code(&e), "UnrecognizedClientException");

    let sts = aws_sdk_sts::Client::new(
        &sdk_config(&server.endpoint(), ACCESS_KEY, "not-the-secret").await,
    );
    let e = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");
    let sts = aws_sdk_sts::Client::new(
        &sdk_config(&server.endpoint(), "AKIAUNKNOWNKEY000000", SECRET_KEY).await,
    );
    let e = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidClientTokenId");
}

/// Sign a KMS request with the `aws-sigv4` crate at `time` and return it ready to send.
fn signed_kms_request(
    endpoint: &str,
    target: &str,
    body: &str,
    time: SystemTime,
    secret: &str,
) -> http::Request<String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    let host = endpoint.trim_start_matches("http://").to_owned();
    let headers = [
        ("host".to_owned(), host),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
        ("x-amz-target".to_owned(), format!("TrentService.{target}")),
    ];
    let identity =
        aws_credential_types::Credentials::new(ACCESS_KEY, secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("kms")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = format!("{endpoint}/");
    let signable = SignableRequest::new(
        "POST",
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut builder = http::Request::builder().method("POST").uri(&url);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let mut req = builder.body(body.to_owned()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    req
}

async fn send(req: http::Request<String>) -> (u16, serde_json::Value) {
    let req = reqwest::Request::try_from(req).unwrap();
    let resp = crate::common::http_client().execute(req).await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_signatures_are_checked() {
    let server = Server::start();
    let ep = server.endpoint();

    // A correct request is accepted.
    let (status, body) = send(signed_kms_request(
        &ep,
        "ListKeys",
        "{}",
        SystemTime::now(),
        SECRET_KEY,
    ))
    .await;
    assert_eq!(status, 200, "{body}");

    // Signed 20 minutes ago: AWS's expiry message.
    let old = SystemTime::now() - Duration::from_secs(20 * 60);
    let (status, body) = send(signed_kms_request(&ep, "ListKeys", "{}", old, SECRET_KEY)).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidSignatureException");
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Signature expired: ") && msg.ends_with(" - 15 min.)"),
        "{msg}"
    );

    // Body changed after signing.
    let mut req = signed_kms_request(
        &ep,
        "ListKeys",
        r#"{"Limit":1}"#,
        SystemTime::now(),
        SECRET_KEY,
    );
    *req.body_mut() = r#"{"Limit":2}"#.to_owned();
    let (status, body) = send(req).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidSignatureException");

    // A signed header changed after signing.
    let mut req = signed_kms_request(&ep, "ListKeys", "{}", SystemTime::now(), SECRET_KEY);
    req.headers_mut()
        .insert("x-amz-target", "TrentService.ListAliases".parse().unwrap());
    let (_, body) = send(req).await;
    assert_eq!(body["__type"], "InvalidSignatureException");

    // No signature at all.
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("{ep}/"))
        .header("x-amz-target", "TrentService.ListKeys")
        .body("{}".to_owned())
        .unwrap();
    let (status, body) = send(req).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("MissingAuthenticationTokenException"))
    );

    // Malformed Authorization header.
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("{ep}/"))
        .header("x-amz-target", "TrentService.ListKeys")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/kms/aws4_request",
        )
        .body("{}".to_owned())
        .unwrap();
    let (_, body) = send(req).await;
    assert_eq!(body["__type"], "IncompleteSignatureException");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_client_error() {
    let server = Server::start();
    let ep = server.endpoint();
    let now = SystemTime::now();
    let cases = [
        ("NoSuchOperation", "{}", "UnknownOperationException"),
        ("ListKeys", "{not json", "SerializationException"),
        ("ListKeys", r#"{"Limit":"ten"}"#, "SerializationException"),
        ("ListKeys", "[1,2]", "SerializationException"),
        (
            "Encrypt",
            r#"{"KeyId":"alias/aws/ssm","Plaintext":"!!!not base64"}"#,
            "SerializationException",
        ),
        ("Encrypt", r#"{"Plaintext":"aGk="}"#, "ValidationException"),
        (
            "Decrypt",
            r#"{"CiphertextBlob":"aGVsbG8gd29ybGQ="}"#,
            "InvalidCiphertextException",
        ),
        (
            "GenerateDataKey",
            r#"{"KeyId":"alias/aws/ssm"}"#,
            "ValidationException",
        ),
    ];
    for (op, body, expected) in cases {
        let (status, got) = send(signed_kms_request(&ep, op, body, now, SECRET_KEY)).await;
        assert_eq!(status, 400, "{op} {body}: {got}");
        assert_eq!(got["__type"], expected, "{op} {body}: {got}");
    }
    // Oversized body: refused before anything else, with a 4xx.
    let huge = format!(r#"{{"Description":"{}"}}"#, "a".repeat(2 * 1024 * 1024));
    let (status, got) = send(signed_kms_request(&ep, "CreateKey", &huge, now, SECRET_KEY)).await;
    assert_eq!(status, 413, "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_mode_accepts_any_key_and_selects_account() {
    let server = Server::start_with(&["--dev"]);
    let cfg = sdk_config(&server.endpoint(), "111111111111", "whatever").await;
    let sts = aws_sdk_sts::Client::new(&cfg);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("111111111111"));
    let kms = aws_sdk_kms::Client::new(&cfg);
    let key = kms.create_key().send().await.unwrap();
    assert!(
        key.key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .contains(":111111111111:key/")
    );
    // Another account does not see it.
    let other =
        aws_sdk_kms::Client::new(&sdk_config(&server.endpoint(), "222222222222", "x").await);
    assert!(other.list_keys().send().await.unwrap().keys().is_empty());
}

/// Start `coffer server` with exactly `args` and `envs`; returns the child and its combined log.
fn spawn_raw(args: &[&str], envs: &[(&str, &str)], log: &std::path::Path) -> std::process::Child {
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = std::process::Command::new(common::binary());
    cmd.arg("server")
        .args(args)
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn wait_exit(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

async fn wait_health(port: u16) -> bool {
    for _ in 0..200 {
        if let Ok(r) = crate::common::http_client()
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            && r.status() == 200
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_env_and_flags_merge() {
    let tmp = tempfile::tempdir().unwrap();
    let (file_port, env_port) = (port(), port());
    let config = tmp.path().join("coffer.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{file_port}\"\ndata_dir = \"{}\"\naccount_id = \"123456789012\"\n[log]\nformat = \"json\"\n",
            tmp.path().join("data").display()
        ),
    )
    .unwrap();
    let log = tmp.path().join("log");
    let creds = [
        ("COFFER_ROOT_ACCESS_KEY_ID", ACCESS_KEY),
        ("COFFER_ROOT_SECRET_ACCESS_KEY", SECRET_KEY),
    ];

    // The file alone decides the port, data dir, account and log format.
    let mut child = spawn_raw(&["--config", config.to_str().unwrap()], &creds, &log);
    assert!(
        wait_health(file_port).await,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let sts = aws_sdk_sts::Client::new(
        &sdk_config(
            &format!("http://127.0.0.1:{file_port}"),
            ACCESS_KEY,
            SECRET_KEY,
        )
        .await,
    );
    assert_eq!(
        sts.get_caller_identity().send().await.unwrap().account(),
        Some("123456789012")
    );
    std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = wait_exit(&mut child, 10).expect("SIGTERM stops the server");
    assert!(status.success(), "graceful shutdown exits 0");
    let text = std::fs::read_to_string(&log).unwrap();
    let first = text.lines().next().unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(first).unwrap_or_else(|_| panic!("log line is not JSON: {first}"));
    assert!(parsed.get("level").is_some());
    assert!(tmp.path().join("data/coffer.db").exists());

    // The environment overrides the file.
    let env_listen = format!("127.0.0.1:{env_port}");
    let mut envs = creds.to_vec();
    envs.push(("COFFER_LISTEN", &env_listen));
    let mut child = spawn_raw(&["--config", config.to_str().unwrap()], &envs, &log);
    assert!(
        wait_health(env_port).await,
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_different_master_key_refuses_to_start() {
    let mut server = Server::start();
    let client = kms(&server).await;
    client.create_key().send().await.unwrap();
    server.stop();

    let log = server.data_dir.with_file_name("second.log");
    let listen = format!("127.0.0.1:{}", port());
    let other_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; // 32 zero bytes
    let mut child = spawn_raw(
        &[
            "--listen",
            &listen,
            "--data-dir",
            server.data_dir.to_str().unwrap(),
        ],
        &[("COFFER_MASTER_KEY", other_key)],
        &log,
    );
    let status = wait_exit(&mut child, 20).expect("a server with the wrong master key must exit");
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("master key does not match"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_region_keys_tags_and_policies() {
    let server = Server::start();
    let client = kms(&server).await;
    let mrk = client
        .create_key()
        .multi_region(true)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("team")
                .tag_value("payments")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let meta = mrk.key_metadata().unwrap();
    assert!(meta.key_id().starts_with("mrk-"), "{}", meta.key_id());
    assert_eq!(meta.multi_region(), Some(true));
    let tags = client
        .list_resource_tags()
        .key_id(meta.key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    let policy = client
        .get_key_policy()
        .key_id(meta.key_id())
        .send()
        .await
        .unwrap();
    assert!(
        policy
            .policy()
            .unwrap()
            .contains("arn:aws:iam::000000000000:root")
    );
    let bad = client
        .put_key_policy()
        .key_id(meta.key_id())
        .policy("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&bad), "MalformedPolicyDocumentException");
    // Encrypt in the key's region works; another region does not see the key.
    client
        .encrypt()
        .key_id(meta.arn().unwrap())
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();
    let west = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(aws_config::Region::new("us-west-2"))
        .credentials_provider(aws_credential_types::Credentials::from_keys(
            ACCESS_KEY, SECRET_KEY, None,
        ))
        .load()
        .await;
    let west = aws_sdk_kms::Client::new(&west);
    let missing = west
        .describe_key()
        .key_id(meta.key_id())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "NotFoundException");
}
