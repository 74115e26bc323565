//! Parameter Store through aws-sdk-ssm against a spawned `coffer server`, plus raw signed requests
//! for input the SDK will not send.

use crate::common::{self, ACCESS_KEY, SECRET_KEY, Server, sdk_config};
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use std::time::SystemTime;

async fn ssm(server: &Server) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await)
}

async fn kms(server: &Server) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await)
}

fn code<E: ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_owned()
}

fn message<E: ProvideErrorMetadata>(e: &E) -> String {
    e.message().unwrap_or_default().to_owned()
}

fn status<E>(e: &aws_sdk_ssm::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> u16 {
    e.raw_response().map_or(0, |r| r.status().as_u16())
}

fn filter(key: &str, option: Option<&str>, values: &[&str]) -> ParameterStringFilter {
    let mut b = ParameterStringFilter::builder().key(key);
    if let Some(o) = option {
        b = b.option(o);
    }
    for v in values {
        b = b.values(*v);
    }
    b.build().unwrap()
}

const SEED_ACCOUNT: &str = "012345678901";
const SEED_KEY: &str = "arn:aws:kms:us-east-1:012345678901:key/mrk-abc123";
const DB_URL: &str =
    "postgresql://payments:password@prod-db.cluster.us-east-1.rds.amazonaws.com/payments";

/// The seed's Parameter Store flow and rollback, then hygiene: the SecureString plaintext is
/// nowhere in the data directory (WAL included) or the debug log.
#[tokio::test(flavor = "multi_thread")]
async fn ssm_seed_flow_and_rollback() {
    // The seed names the key `arn:aws:kms:us-east-1:012345678901:key/mrk-abc123`: run as that
    // account and create the key with that id (the `_custom_id_` tag), so the seed's command runs
    // as written.
    let mut server = Server::start_with(&["--account-id", SEED_ACCOUNT]);
    let client = ssm(&server).await;
    let key = kms(&server)
        .await
        .create_key()
        .description("payments")
        .multi_region(true)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("_custom_id_")
                .tag_value("mrk-abc123")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_owned();
    assert_eq!(key_arn, SEED_KEY);

    let put = client
        .put_parameter()
        .name("/prod/payments-api/database-url")
        .value(DB_URL)
        .r#type(ParameterType::SecureString)
        .key_id(&key_arn)
        .description("Production payments database connection URL")
        .send()
        .await
        .unwrap();
    assert_eq!(put.version(), 1);
    assert_eq!(put.tier(), Some(&ParameterTier::Standard));
    client
        .put_parameter()
        .name("/prod/payments-api/feature-flags")
        .value(r#"{"new-checkout":true,"legacy-payments":false}"#)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();

    let got = client
        .get_parameter()
        .name("/prod/payments-api/database-url")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = got.parameter().unwrap();
    assert_eq!(p.value(), Some(DB_URL));
    assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(
        p.arn(),
        Some("arn:aws:ssm:us-east-1:012345678901:parameter/prod/payments-api/database-url")
    );
    assert_eq!(p.data_type(), Some("text"));
    // Without decryption: ciphertext, never the value.
    let sealed = client
        .get_parameter()
        .name("/prod/payments-api/database-url")
        .send()
        .await
        .unwrap();
    let sealed = sealed.parameter().unwrap().value().unwrap().to_owned();
    assert!(!sealed.contains("payments:password"));
    assert_ne!(sealed, DB_URL);

    let by_path = client
        .get_parameters_by_path()
        .path("/prod/payments-api/")
        .with_decryption(true)
        .recursive(true)
        .send()
        .await
        .unwrap();
    let values: Vec<(&str, &str)> = by_path
        .parameters()
        .iter()
        .map(|p| (p.name().unwrap(), p.value().unwrap()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("/prod/payments-api/database-url", DB_URL),
            (
                "/prod/payments-api/feature-flags",
                r#"{"new-checkout":true,"legacy-payments":false}"#
            ),
        ]
    );

    // Versions 2..5, then read version 5 by selector.
    for i in 2..=5 {
        let out = client
            .put_parameter()
            .name("/prod/payments-api/database-url")
            .value(format!("{DB_URL}?v={i}"))
            .overwrite(true)
            .send()
            .await
            .unwrap();
        assert_eq!(out.version(), i);
    }
    let v5 = client
        .get_parameter()
        .name("/prod/payments-api/database-url:5")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let v5 = v5.parameter().unwrap();
    assert_eq!(v5.version(), 5);
    assert_eq!(v5.selector(), Some(":5"));
    assert_eq!(v5.value(), Some(format!("{DB_URL}?v=5").as_str()));
    let history = client
        .get_parameter_history()
        .name("/prod/payments-api/database-url")
        .send()
        .await
        .unwrap();
    let versions: Vec<i64> = history.parameters().iter().map(|h| h.version()).collect();
    assert_eq!(versions, vec![1, 2, 3, 4, 5]);
    let first = &history.parameters()[0];
    assert_eq!(first.key_id(), Some(key_arn.as_str()));
    assert_eq!(
        first.description(),
        Some("Production payments database connection URL")
    );
    assert!(!first.value().unwrap().contains("payments:password"));

    // Roll back: read version 1, put it back with --overwrite.
    let old = client
        .get_parameter()
        .name("/prod/payments-api/database-url:1")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let old_value = old.parameter().unwrap().value().unwrap().to_owned();
    let back = client
        .put_parameter()
        .name("/prod/payments-api/database-url")
        .value(&old_value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    assert_eq!(back.version(), 6);

    let now = client
        .get_parameter()
        .name("/prod/payments-api/database-url")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(now.parameter().unwrap().value(), Some(DB_URL));
    assert_eq!(now.parameter().unwrap().version(), 6);

    server.stop();
    for (path, bytes) in common::files_under(&server.data_dir) {
        assert!(
            !common::contains(&bytes, b"payments:password"),
            "{} holds the SecureString plaintext",
            path.display()
        );
    }
    let log = server.log_text();
    assert!(
        log.contains("DEBUG"),
        "the server did not log at debug level"
    );
    assert!(!log.contains("payments:password"));
}

/// Everything a parameter carries survives a restart: versions, SecureString values, labels,
/// tags, policies, settings; and no plaintext is left on disk.
#[tokio::test(flavor = "multi_thread")]
async fn ssm_data_survives_restart() {
    let mut server = Server::start();
    let client = ssm(&server).await;
    for v in ["first-secret-value", "second-secret-value"] {
        client
            .put_parameter()
            .name("/r/secret")
            .value(v)
            .r#type(ParameterType::SecureString)
            .overwrite(v.starts_with("second"))
            .send()
            .await
            .unwrap();
    }
    client
        .label_parameter_version()
        .name("/r/secret")
        .parameter_version(1)
        .labels("stable")
        .send()
        .await
        .unwrap();
    client
        .put_parameter()
        .name("/r/plain")
        .value("a,b,c")
        .r#type(ParameterType::StringList)
        .tier(ParameterTier::Advanced)
        .policies(r#"[{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"30","Unit":"Days"}}]"#)
        .tags(Tag::builder().key("team").value("core").build().unwrap())
        .send()
        .await
        .unwrap();
    client
        .update_service_setting()
        .setting_id("/ssm/parameter-store/default-parameter-tier")
        .setting_value("Intelligent-Tiering")
        .send()
        .await
        .unwrap();

    server.restart();
    let client = ssm(&server).await;
    let stable = client
        .get_parameter()
        .name("/r/secret:stable")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stable.parameter().unwrap().value(),
        Some("first-secret-value")
    );
    let current = client
        .get_parameter()
        .name("/r/secret")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        current.parameter().unwrap().value(),
        Some("second-secret-value")
    );
    assert_eq!(current.parameter().unwrap().version(), 2);
    let d = client
        .describe_parameters()
        .parameter_filters(filter("Name", None, &["/r/plain"]))
        .send()
        .await
        .unwrap();
    let meta = &d.parameters()[0];
    assert_eq!(meta.tier(), Some(&ParameterTier::Advanced));
    assert_eq!(meta.policies().len(), 1);
    assert_eq!(meta.policies()[0].policy_status(), Some("Pending"));
    let tags = client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/r/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_list().len(), 1);
    let setting = client
        .get_service_setting()
        .setting_id("/ssm/parameter-store/default-parameter-tier")
        .send()
        .await
        .unwrap();
    assert_eq!(
        setting.service_setting().unwrap().setting_value(),
        Some("Intelligent-Tiering")
    );

    server.stop();
    for (path, bytes) in common::files_under(&server.data_dir) {
        for secret in [b"first-secret-value".as_slice(), b"second-secret-value"] {
            assert!(
                !common::contains(&bytes, secret),
                "{} holds a SecureString plaintext",
                path.display()
            );
        }
    }
    assert!(!server.log_text().contains("secret-value"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ssm_errors_follow_aws() {
    let server = Server::start();
    let client = ssm(&server).await;

    let e = client
        .get_parameter()
        .name("/missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterNotFound");
    assert_eq!(status(&e), 400);

    let e = client
        .put_parameter()
        .name("/aws/reserved")
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException");
    assert_eq!(
        message(&e),
        "No access to reserved parameter name: /aws/reserved."
    );
    for name in ["SSM-thing", "awsThing"] {
        let e = client
            .put_parameter()
            .name(name)
            .value("v")
            .r#type(ParameterType::String)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "ValidationException", "{name}");
        assert!(message(&e).contains("can't be prefixed with"), "{name}");
    }
    let deep = (1..=16).map(|i| format!("/l{i}")).collect::<String>();
    let e = client
        .put_parameter()
        .name(deep)
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "HierarchyLevelLimitExceededException");

    let e = client
        .put_parameter()
        .name("/no-type")
        .value("v")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&e),
        "A parameter type is required when you create a parameter."
    );

    client
        .put_parameter()
        .name("/e/one")
        .value("v")
        .r#type(ParameterType::String)
        .allowed_pattern(r"^[a-z]+$")
        .send()
        .await
        .unwrap();
    let e = client
        .put_parameter()
        .name("/e/one")
        .value("v2")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterAlreadyExists");
    // The pattern stays with the parameter.
    let e = client
        .put_parameter()
        .name("/e/one")
        .value("NOT-LOWER")
        .overwrite(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterPatternMismatchException");
    let e = client
        .put_parameter()
        .name("/e/one")
        .value("abc")
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "HierarchyTypeMismatchException");
    let e = client
        .put_parameter()
        .name("/e/two")
        .value("abc")
        .r#type(ParameterType::String)
        .allowed_pattern("([")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidAllowedPatternException");
    let e = client
        .put_parameter()
        .name("/e/two")
        .value("abc")
        .r#type(ParameterType::String)
        .key_id("alias/aws/ssm")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = client
        .put_parameter()
        .name("/e/two")
        .value("abc")
        .r#type(ParameterType::SecureString)
        .key_id("alias/does-not-exist")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidKeyId");
    let e = client
        .put_parameter()
        .name("/e/one")
        .value("abc")
        .overwrite(true)
        .tags(Tag::builder().key("k").value("v").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(message(&e).starts_with("Invalid request: tags and overwrite"));

    // Selectors.
    let e = client
        .get_parameter()
        .name("/e/one:7")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterVersionNotFound");
    let e = client
        .get_parameter()
        .name("/e/one:1:2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = client
        .get_parameters_by_path()
        .path("/e")
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidNextToken");
    let e = client
        .describe_parameters()
        .parameter_filters(filter("Label", None, &["x"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidFilterKey");
    let e = client
        .get_parameters_by_path()
        .path("/e")
        .parameter_filters(filter("Type", Some("Contains"), &["String"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidFilterOption");
    let e = client
        .get_parameters_by_path()
        .path("/e")
        .max_results(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    assert!(message(&e).contains("Member must have value less than or equal to 10"));
    let e = client
        .get_service_setting()
        .setting_id("/ssm/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ServiceSettingNotFound");
    let e = client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Document)
        .resource_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidResourceType");
    let e = client
        .delete_parameter()
        .name("/e/none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterNotFound");
}

/// Raw signed requests: what an SDK will not send still gets AWS's 4xx, never a 5xx or a hang.
#[tokio::test(flavor = "multi_thread")]
async fn ssm_bad_input_gets_a_client_error() {
    let server = Server::start();
    let ep = server.endpoint();
    let now = SystemTime::now();
    let cases = [
        ("PutParameter", "{}", "ValidationException"),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":"v","Type":"Number"}"#,
            "ValidationException",
        ),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":"","Type":"String"}"#,
            "ValidationException",
        ),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":7,"Type":"String"}"#,
            "SerializationException",
        ),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":"v","Type":"String","Policies":"{"}"#,
            "ValidationException",
        ),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":"v","Type":"String","Tier":"Advanced","Policies":"[{\"Type\":\"Rotate\"}]"}"#,
            "InvalidPolicyTypeException",
        ),
        (
            "PutParameter",
            r#"{"Name":"/x","Value":"v","Type":"String","DataType":"number"}"#,
            "ValidationException",
        ),
        ("GetParameters", r#"{"Names":[]}"#, "ValidationException"),
        (
            "GetParameters",
            r#"{"Names":["a","b","c","d","e","f","g","h","i","j","k"]}"#,
            "ValidationException",
        ),
        (
            "GetParametersByPath",
            r#"{"Path":"no-slash"}"#,
            "ValidationException",
        ),
        (
            "DescribeParameters",
            r#"{"MaxResults":51}"#,
            "ValidationException",
        ),
        (
            "DescribeParameters",
            r#"{"Filters":[{"Key":"Name","Values":["a"]}],"ParameterFilters":[{"Key":"Name","Values":["a"]}]}"#,
            "ValidationException",
        ),
        (
            "LabelParameterVersion",
            r#"{"Name":"/x","Labels":[]}"#,
            "ValidationException",
        ),
        (
            "UpdateServiceSetting",
            r#"{"SettingId":"/ssm/parameter-store/default-parameter-tier","SettingValue":"Gold"}"#,
            "ValidationException",
        ),
        (
            "DeleteResourcePolicy",
            r#"{"ResourceArn":"arn:aws:ssm:us-east-1:000000000000:parameter/none","PolicyId":"p","PolicyHash":"h"}"#,
            "ResourceNotFoundException",
        ),
        ("NoSuchOperation", "{}", "UnknownOperationException"),
    ];
    for (op, body, expected) in cases {
        let (status, got) = send(signed_ssm_request(&ep, op, body, now)).await;
        assert_eq!(status, 400, "{op} {body}: {got}");
        assert_eq!(got["__type"], expected, "{op} {body}: {got}");
    }
    // A failed request changed nothing.
    let (status, got) = send(signed_ssm_request(
        &ep,
        "GetParameter",
        r#"{"Name":"/x"}"#,
        now,
    ))
    .await;
    assert_eq!(
        (status, got["__type"].as_str()),
        (400, Some("ParameterNotFound"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ssm_labels_tags_and_listings() {
    let server = Server::start();
    let client = ssm(&server).await;
    for i in 1..=3 {
        client
            .put_parameter()
            .name("/app/config")
            .value(format!("v{i}"))
            .r#type(ParameterType::String)
            .overwrite(i > 1)
            .send()
            .await
            .unwrap();
    }
    let out = client
        .label_parameter_version()
        .name("/app/config")
        .parameter_version(1)
        .labels("prod")
        .labels("9lives")
        .labels("ssm-no")
        .send()
        .await
        .unwrap();
    assert_eq!(out.parameter_version(), 1);
    assert_eq!(out.invalid_labels(), ["9lives", "ssm-no"]);
    let prod = client
        .get_parameter()
        .name("/app/config:prod")
        .send()
        .await
        .unwrap();
    assert_eq!(prod.parameter().unwrap().value(), Some("v1"));
    // Moving the label to the newest version (no version given).
    let out = client
        .label_parameter_version()
        .name("arn:aws:ssm:us-east-1:000000000000:parameter/app/config")
        .labels("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(out.parameter_version(), 3);
    let prod = client
        .get_parameters()
        .names("/app/config:prod")
        .names("/app/config:nolabel")
        .send()
        .await
        .unwrap();
    assert_eq!(prod.parameters()[0].value(), Some("v3"));
    assert_eq!(prod.invalid_parameters(), ["/app/config:nolabel"]);
    let history = client
        .get_parameter_history()
        .name("/app/config")
        .send()
        .await
        .unwrap();
    assert!(history.parameters()[0].labels().is_empty());
    assert_eq!(history.parameters()[2].labels(), ["prod"]);
    // Ten labels per version.
    let mut req = client
        .label_parameter_version()
        .name("/app/config")
        .parameter_version(2);
    for i in 0..10 {
        req = req.labels(format!("l{i}"));
    }
    req.send().await.unwrap();
    let e = client
        .label_parameter_version()
        .name("/app/config")
        .parameter_version(2)
        .labels("eleventh")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterVersionLabelLimitExceeded");
    let un = client
        .unlabel_parameter_version()
        .name("/app/config")
        .parameter_version(2)
        .labels("l0")
        .labels("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(un.removed_labels(), ["l0"]);
    assert_eq!(un.invalid_labels(), ["prod"]);
    let e = client
        .label_parameter_version()
        .name("/app/config")
        .parameter_version(9)
        .labels("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterVersionNotFound");

    // Tags.
    client
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/app/config")
        .tags(
            Tag::builder()
                .key("team")
                .value("payments")
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    client
        .remove_tags_from_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/app/config")
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/app/config")
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tag_list()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, vec![("team", "payments")]);
    let e = client
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id("/nope")
        .tags(Tag::builder().key("a").value("b").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidResourceId");

    // Paging a listing: 25 parameters, pages of 10 by path and of 7 by DescribeParameters.
    for i in 0..25 {
        client
            .put_parameter()
            .name(format!("/list/p{i:02}"))
            .value("x")
            .r#type(if i % 2 == 0 {
                ParameterType::String
            } else {
                ParameterType::StringList
            })
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_parameters_by_path()
            .path("/list")
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        assert!(page.parameters().len() <= 10);
        names.extend(
            page.parameters()
                .iter()
                .map(|p| p.name().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        (0..25)
            .map(|i| format!("/list/p{i:02}"))
            .collect::<Vec<_>>()
    );
    let mut described = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .describe_parameters()
            .parameter_filters(filter("Name", Some("BeginsWith"), &["/list/"]))
            .parameter_filters(filter("Type", None, &["StringList"]))
            .max_results(7)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        described.extend(
            page.parameters()
                .iter()
                .map(|p| p.name().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        described,
        (0..25)
            .filter(|i| i % 2 == 1)
            .map(|i| format!("/list/p{i:02}"))
            .collect::<Vec<_>>()
    );
    let tagged = client
        .describe_parameters()
        .parameter_filters(filter("tag:team", None, &["payments"]))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.parameters().len(), 1);
    assert_eq!(tagged.parameters()[0].name(), Some("/app/config"));
    // By label through GetParametersByPath.
    let labelled = client
        .get_parameters_by_path()
        .path("/app")
        .parameter_filters(filter("Label", None, &["prod"]))
        .send()
        .await
        .unwrap();
    assert_eq!(labelled.parameters().len(), 1);
    assert_eq!(labelled.parameters()[0].value(), Some("v3"));

    // Delete several at once.
    let del = client
        .delete_parameters()
        .names("/list/p00")
        .names("/list/p01")
        .names("/list/none")
        .send()
        .await
        .unwrap();
    assert_eq!(del.deleted_parameters(), ["/list/p00", "/list/p01"]);
    assert_eq!(del.invalid_parameters(), ["/list/none"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ssm_tiers_settings_and_sharing() {
    let server = Server::start();
    let client = ssm(&server).await;
    let big = "x".repeat(5000);
    let e = client
        .put_parameter()
        .name("/t/big")
        .value(&big)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    assert!(message(&e).starts_with("Standard tier parameters support a maximum"));
    let out = client
        .put_parameter()
        .name("/t/big")
        .value(&big)
        .r#type(ParameterType::String)
        .tier(ParameterTier::IntelligentTiering)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tier(), Some(&ParameterTier::Advanced));
    let e = client
        .put_parameter()
        .name("/t/big")
        .value("small")
        .tier(ParameterTier::Standard)
        .overwrite(true)
        .send()
        .await
        .unwrap_err();
    assert!(message(&e).contains("can't downgrade"), "{}", message(&e));
    let e = client
        .put_parameter()
        .name("/t/huge")
        .value("x".repeat(8193))
        .r#type(ParameterType::String)
        .tier(ParameterTier::Advanced)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");

    // The default tier setting decides for new parameters.
    let setting = client
        .get_service_setting()
        .setting_id("/ssm/parameter-store/default-parameter-tier")
        .send()
        .await
        .unwrap();
    let s = setting.service_setting().unwrap();
    assert_eq!(s.setting_value(), Some("Standard"));
    assert_eq!(s.status(), Some("Default"));
    client
        .update_service_setting()
        .setting_id("arn:aws:ssm:us-east-1:000000000000:servicesetting/ssm/parameter-store/default-parameter-tier")
        .setting_value("Advanced")
        .send()
        .await
        .unwrap();
    let out = client
        .put_parameter()
        .name("/t/default")
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tier(), Some(&ParameterTier::Advanced));
    let reset = client
        .reset_service_setting()
        .setting_id("/ssm/parameter-store/default-parameter-tier")
        .send()
        .await
        .unwrap();
    assert_eq!(
        reset.service_setting().unwrap().setting_value(),
        Some("Standard")
    );
    client
        .update_service_setting()
        .setting_id("/ssm/parameter-store/high-throughput-enabled")
        .setting_value("true")
        .send()
        .await
        .unwrap();
    let ht = client
        .get_service_setting()
        .setting_id("/ssm/parameter-store/high-throughput-enabled")
        .send()
        .await
        .unwrap();
    assert_eq!(ht.service_setting().unwrap().setting_value(), Some("true"));
    assert_eq!(ht.service_setting().unwrap().status(), Some("Customized"));

    // Sharing an Advanced parameter.
    let arn = "arn:aws:ssm:us-east-1:000000000000:parameter/t/default";
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":["ssm:GetParameter"],"Resource":"arn:aws:ssm:us-east-1:000000000000:parameter/t/default"}]}"#;
    let put = client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
    let id = put.policy_id().unwrap().to_owned();
    let hash = put.policy_hash().unwrap().to_owned();
    let got = client
        .get_resource_policies()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.policies().len(), 1);
    assert_eq!(got.policies()[0].policy(), Some(policy));
    let e = client
        .delete_resource_policy()
        .resource_arn(arn)
        .policy_id(&id)
        .policy_hash("stale")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourcePolicyConflictException");
    client
        .delete_resource_policy()
        .resource_arn(arn)
        .policy_id(&id)
        .policy_hash(&hash)
        .send()
        .await
        .unwrap();
    let e = client
        .put_resource_policy()
        .resource_arn(arn)
        .policy("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "MalformedResourcePolicyDocumentException");
    client
        .put_parameter()
        .name("/t/standard")
        .value("v")
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
    let e = client
        .put_resource_policy()
        .resource_arn("arn:aws:ssm:us-east-1:000000000000:parameter/t/standard")
        .policy(policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourcePolicyInvalidParameterException");
}

/// A disabled key: the SecureString cannot be read decrypted, with AWS's InvalidKeyId, and the
/// value is not in the answer.
#[tokio::test(flavor = "multi_thread")]
async fn ssm_disabled_key_refuses_decryption() {
    let server = Server::start();
    let client = ssm(&server).await;
    let kms = kms(&server).await;
    let key = kms.create_key().send().await.unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_owned();
    client
        .put_parameter()
        .name("/k/secret")
        .value("distinctive-secret-value")
        .r#type(ParameterType::SecureString)
        .key_id(&key_id)
        .send()
        .await
        .unwrap();
    kms.disable_key().key_id(&key_id).send().await.unwrap();
    let e = client
        .get_parameter()
        .name("/k/secret")
        .with_decryption(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidKeyId");
    assert!(message(&e).contains("DisabledException"));
    assert!(!format!("{e:?}").contains("distinctive-secret-value"));
    kms.enable_key().key_id(&key_id).send().await.unwrap();
    let ok = client
        .get_parameter()
        .name("/k/secret")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.parameter().unwrap().value(),
        Some("distinctive-secret-value")
    );
    // The default key, alias/aws/ssm, is created on first use.
    client
        .put_parameter()
        .name("/k/default")
        .value("d")
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let d = client
        .describe_parameters()
        .parameter_filters(filter("Name", None, &["/k/default"]))
        .send()
        .await
        .unwrap();
    assert_eq!(d.parameters()[0].key_id(), Some("alias/aws/ssm"));
}

/// `/aws/reference/secretsmanager/...` answered from Secrets Manager. Needs Secrets Manager's
/// CreateSecret/PutSecretValue (developed on main).
#[tokio::test(flavor = "multi_thread")]
async fn ssm_reads_secrets_manager_references() {
    let server = Server::start();
    let client = ssm(&server).await;
    let sm = aws_sdk_secretsmanager::Client::new(
        &sdk_config(&server.endpoint(), ACCESS_KEY, SECRET_KEY).await,
    );
    let e = client
        .get_parameter()
        .name("/aws/reference/secretsmanager/prod/db")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&e),
        "WithDecryption flag must be True for retrieving a Secret Manager secret."
    );
    let e = client
        .get_parameter()
        .name("/aws/reference/secretsmanager/prod/missing")
        .with_decryption(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ParameterNotFound");

    let created = sm
        .create_secret()
        .name("prod/db")
        .secret_string("first-secret")
        .send()
        .await
        .unwrap();
    sm.put_secret_value()
        .secret_id("prod/db")
        .secret_string("second-secret")
        .send()
        .await
        .unwrap();
    let got = client
        .get_parameter()
        .name("/aws/reference/secretsmanager/prod/db")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    let p = got.parameter().unwrap();
    assert_eq!(p.name(), Some("/aws/reference/secretsmanager/prod/db"));
    assert_eq!(p.r#type(), Some(&ParameterType::SecureString));
    assert_eq!(p.value(), Some("second-secret"));
    assert_eq!(p.version(), 0);
    assert_eq!(p.arn(), created.arn());
    let source: serde_json::Value = serde_json::from_str(p.source_result().unwrap()).unwrap();
    assert_eq!(source["ARN"].as_str(), created.arn());
    let previous = client
        .get_parameter()
        .name("/aws/reference/secretsmanager/prod/db:AWSPREVIOUS")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(previous.parameter().unwrap().value(), Some("first-secret"));
    assert_eq!(
        previous.parameter().unwrap().selector(),
        Some(":AWSPREVIOUS")
    );
    let by_id = client
        .get_parameters()
        .names(format!(
            "/aws/reference/secretsmanager/prod/db:{}",
            created.version_id().unwrap()
        ))
        .names("/aws/reference/secretsmanager/prod/db:NOSTAGE")
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.parameters()[0].value(), Some("first-secret"));
    assert_eq!(
        by_id.invalid_parameters(),
        ["/aws/reference/secretsmanager/prod/db:NOSTAGE"]
    );
}

fn signed_ssm_request(
    endpoint: &str,
    target: &str,
    body: &str,
    time: SystemTime,
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
        ("x-amz-target".to_owned(), format!("AmazonSSM.{target}")),
    ];
    let identity =
        aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("ssm")
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
