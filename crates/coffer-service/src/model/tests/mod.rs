//! Tests against the real embedded models: the cases AWS's own services reject. Query-protocol
//! tests and a small synthetic model (for shapes the real inputs lack) are in `query.rs`.
#![allow(clippy::unwrap_used)]

mod query;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::shape::Model;
use super::*;

fn constraint(service: Service, op: &str, input: Value) -> String {
    match model(service).validate_input(op, &input) {
        Err(ValidationError::Constraint { message, .. }) => message,
        other => panic!("{op}: expected a constraint error, got {other:?}"),
    }
}

fn serialization(service: Service, op: &str, input: Value) -> String {
    match model(service).validate_input(op, &input) {
        Err(ValidationError::Serialization(message)) => message,
        other => panic!("{op}: expected a serialization error, got {other:?}"),
    }
}

fn valid(service: Service, op: &str, input: Value) {
    if let Err(e) = model(service).validate_input(op, &input) {
        panic!("{op}: expected valid, got {e:?}");
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn every_model_loads() {
    for service in Service::ALL {
        let m = Model::from_json(service.source()).unwrap();
        assert!(m.operations.len() > 10, "{}", service.name());
        assert_eq!(model(service).service(), service);
    }
    let kms = model(Service::Kms);
    assert_eq!(kms.target_prefix(), Some("TrentService"));
    assert_eq!(kms.protocol(), "json");
    assert_eq!(kms.json_version(), Some("1.1"));
    assert!(kms.has_operation("Encrypt"));
    assert!(!kms.has_operation("encrypt"));
    assert_eq!(
        model(Service::SecretsManager).target_prefix(),
        Some("secretsmanager")
    );
    assert_eq!(model(Service::Ssm).target_prefix(), Some("AmazonSSM"));
    assert_eq!(model(Service::Sts).protocol(), "query");
    assert_eq!(model(Service::Sts).target_prefix(), None);
    assert_eq!(
        model(Service::Sts).result_wrapper("AssumeRole"),
        Some("AssumeRoleResult")
    );
    assert_eq!(
        model(Service::Iam).xml_namespace(),
        Some("https://iam.amazonaws.com/doc/2010-05-08/")
    );
    assert_eq!(
        kms.io_shapes("Encrypt"),
        Some((Some("EncryptRequest"), Some("EncryptResponse")))
    );
    let errors = kms.operation_errors("Encrypt").unwrap();
    // KMS's model has no `error` traits: the code is the shape name, the status is up to us.
    let not_found = errors
        .iter()
        .find(|e| e.name == "NotFoundException")
        .unwrap();
    assert_eq!(not_found.code, "NotFoundException");
    assert_eq!(not_found.http_status, None);
    let iam_errors = model(Service::Iam).operation_errors("CreateUser").unwrap();
    let exists = iam_errors
        .iter()
        .find(|e| e.name == "EntityAlreadyExistsException")
        .unwrap();
    assert_eq!(exists.code, "EntityAlreadyExists");
    assert_eq!(exists.http_status, Some(409));
    assert_eq!(model(Service::Iam).operation_names().count(), 176);
}

/// Model patterns the regex crate cannot express; they are not enforced. If a botocore upgrade
/// changes this list, review the new entries (a lookahead can often be hand-translated).
#[test]
fn unsupported_patterns_are_known() {
    let mut all = Vec::new();
    for service in Service::ALL {
        for (shape, pattern) in model(service).unsupported_patterns() {
            #[allow(clippy::print_stdout)]
            {
                println!("{}: {shape}: {pattern}", service.name());
            }
            all.push(format!("{}:{shape}", service.name()));
        }
    }
    let expected = [
        // `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`: lookahead in the middle ("no `--`").
        "iam:accountAliasType",
        // `^.{1,100000}$`: compiles past the size limit (the length limit still applies).
        "ssm:InstancePropertyFilterValue",
        "ssm:InstancePropertyStringFilterKey",
        // An ISO 8601 regex with lookaheads and backreferences.
        "ssm:StringDateTime",
    ];
    let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    all.sort();
    assert_eq!(all, expected);
}

#[test]
fn kms_encrypt_plaintext_too_long_hides_the_value() {
    let plaintext = B64.encode([b'x'; 4097]);
    let message = constraint(
        Service::Kms,
        "Encrypt",
        json!({"KeyId": "alias/x", "Plaintext": plaintext}),
    );
    assert_eq!(
        message,
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
         Member must have length less than or equal to 4096"
    );
    assert!(!message.contains("eHh4"));
    // Exactly 4096 decoded bytes pass; the length is measured after base64 decoding.
    valid(
        Service::Kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": B64.encode([0u8; 4096])}),
    );
}

#[test]
fn kms_create_alias_pattern() {
    assert_eq!(
        constraint(
            Service::Kms,
            "CreateAlias",
            json!({"AliasName": "bad name", "TargetKeyId": "k"})
        ),
        "1 validation error detected: Value 'bad name' at 'aliasName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
    );
    valid(
        Service::Kms,
        "CreateAlias",
        json!({"AliasName": "alias/good_name-1", "TargetKeyId": "k"}),
    );
}

#[test]
fn kms_create_key_enum_lists_values_in_model_order() {
    assert_eq!(
        constraint(Service::Kms, "CreateKey", json!({"KeySpec": "NOPE"})),
        "1 validation error detected: Value 'NOPE' at 'keySpec' failed to satisfy constraint: \
         Member must satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, \
         ECC_NIST_P384, ECC_NIST_P521, ECC_SECG_P256K1, SYMMETRIC_DEFAULT, HMAC_224, HMAC_256, \
         HMAC_384, HMAC_512, SM2, ML_DSA_44, ML_DSA_65, ML_DSA_87, ECC_NIST_EDWARDS25519]"
    );
    valid(Service::Kms, "CreateKey", json!({"KeySpec": "HMAC_256"}));
}

#[test]
fn kms_generate_data_key_number_of_bytes_range() {
    assert_eq!(
        constraint(
            Service::Kms,
            "GenerateDataKey",
            json!({"KeyId": "k", "NumberOfBytes": 2000})
        ),
        "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy \
         constraint: Member must have value less than or equal to 1024"
    );
    assert!(
        constraint(
            Service::Kms,
            "GenerateDataKey",
            json!({"KeyId": "k", "NumberOfBytes": 0})
        )
        .ends_with("Member must have value greater than or equal to 1")
    );
    // An integral float is an integer; a fraction is not.
    valid(
        Service::Kms,
        "GenerateDataKey",
        json!({"KeyId": "k", "NumberOfBytes": 32.0}),
    );
    serialization(
        Service::Kms,
        "GenerateDataKey",
        json!({"KeyId": "k", "NumberOfBytes": 32.5}),
    );
    // Outside Java's int range: not an Integer at all.
    serialization(
        Service::Kms,
        "GenerateDataKey",
        json!({"KeyId": "k", "NumberOfBytes": 4_294_967_296_i64}),
    );
}

#[test]
fn required_member_missing_or_null() {
    let expected = "1 validation error detected: Value null at 'keyId' failed to satisfy \
                    constraint: Member must not be null";
    assert_eq!(
        constraint(Service::Kms, "Encrypt", json!({"Plaintext": "AA=="})),
        expected
    );
    assert_eq!(
        constraint(
            Service::Kms,
            "Encrypt",
            json!({"KeyId": null, "Plaintext": "AA=="})
        ),
        expected
    );
}

#[test]
fn two_errors_are_joined() {
    assert_eq!(
        constraint(
            Service::Kms,
            "CreateAlias",
            json!({"AliasName": "bad name"})
        ),
        "2 validation errors detected: Value 'bad name' at 'aliasName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$; \
         Value null at 'targetKeyId' failed to satisfy constraint: Member must not be null"
    );
    let e = model(Service::Kms)
        .validate_input("CreateAlias", &json!({"AliasName": ""}))
        .unwrap_err();
    assert!(
        matches!(e, ValidationError::Constraint { count: 3, .. }),
        "{e:?}"
    );
    assert_eq!(e.error_code(), "ValidationException");
}

#[test]
fn type_mismatches_are_serialization_errors() {
    let kms = Service::Kms;
    assert_eq!(
        serialization(
            kms,
            "GenerateDataKey",
            json!({"KeyId": "k", "NumberOfBytes": "32"})
        ),
        "STRING_VALUE can not be converted to an Integer"
    );
    assert_eq!(
        serialization(
            kms,
            "Encrypt",
            json!({"KeyId": {"a": 1}, "Plaintext": "AA=="})
        ),
        "Start of structure or map found where not expected."
    );
    assert_eq!(
        serialization(kms, "Encrypt", json!({"KeyId": ["k"], "Plaintext": "AA=="})),
        "Start of list found where not expected."
    );
    assert_eq!(
        serialization(kms, "Encrypt", json!({"KeyId": 12, "Plaintext": "AA=="})),
        "NUMBER_VALUE can not be converted to a String"
    );
    assert_eq!(
        serialization(kms, "Encrypt", json!(["KeyId"])),
        "Start of list found where not expected."
    );
    serialization(kms, "Encrypt", json!("KeyId"));
    serialization(kms, "CreateKey", json!({"MultiRegion": "true"}));
    serialization(kms, "CreateKey", json!({"Tags": {"TagKey": "a"}}));
    serialization(
        kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": "not base64!"}),
    );
    serialization(
        kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": {"a": 1}}),
    );
    let e = model(kms)
        .validate_input("NoSuchOperation", &json!({}))
        .unwrap_err();
    assert_eq!(e.error_code(), "SerializationException");
    // Serialization wins over constraint errors found earlier in the document.
    serialization(
        kms,
        "GenerateDataKey",
        json!({"KeyId": "", "NumberOfBytes": "x"}),
    );
}

#[test]
fn unknown_members_and_null_optionals_are_ignored() {
    valid(
        Service::Kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": "AA==", "Bogus": {"deep": [1, 2]}, "GrantTokens": null}),
    );
    // An operation whose input has no members, and unpadded base64.
    valid(Service::Kms, "ListKeys", json!({}));
    valid(
        Service::Kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": "AA"}),
    );
}

#[test]
fn secrets_manager_create_secret() {
    let long_name = "n".repeat(513);
    let message = constraint(
        Service::SecretsManager,
        "CreateSecret",
        json!({"Name": long_name}),
    );
    assert_eq!(
        message,
        format!(
            "1 validation error detected: Value '{long_name}' at 'name' failed to satisfy \
             constraint: Member must have length less than or equal to 512"
        )
    );
    // SecretString is `sensitive` in the model: never echoed.
    let secret = "s".repeat(65_537);
    let message = constraint(
        Service::SecretsManager,
        "CreateSecret",
        json!({"Name": "n", "SecretString": secret}),
    );
    assert_eq!(
        message,
        "1 validation error detected: Value at 'secretString' failed to satisfy constraint: \
         Member must have length less than or equal to 65536"
    );
    let message = constraint(
        Service::SecretsManager,
        "CreateSecret",
        json!({"Name": "n", "SecretString": ""}),
    );
    assert!(message.starts_with("1 validation error detected: Value at 'secretString'"));
    valid(
        Service::SecretsManager,
        "CreateSecret",
        json!({"Name": "n", "SecretString": "hunter2", "Tags": [{"Key": "k", "Value": ""}]}),
    );
}

#[test]
fn ssm_put_parameter() {
    let name = "/".repeat(2049);
    let message = constraint(
        Service::Ssm,
        "PutParameter",
        json!({"Name": name, "Value": "v"}),
    );
    assert!(
        message.contains(&format!("Value '{name}' at 'name' failed")),
        "{message}"
    );
    assert!(message.ends_with("Member must have length less than or equal to 2048"));
    assert_eq!(
        constraint(Service::Ssm, "PutParameter", json!({"Name": "/a"})),
        "1 validation error detected: Value null at 'value' failed to satisfy constraint: \
         Member must not be null"
    );
    // Nested list element, with the element's pattern (\p{L} etc. compile).
    assert_eq!(
        constraint(
            Service::Ssm,
            "PutParameter",
            json!({"Name": "/a", "Value": "v", "Tags": [{"Key": "ok", "Value": "ok"}, {"Key": "bad!"}]})
        ),
        "2 validation errors detected: Value 'bad!' at 'tags.2.member.key' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: \
         ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$; Value null at 'tags.2.member.value' failed to \
         satisfy constraint: Member must not be null"
    );
}

#[test]
fn list_length_and_list_elements() {
    let tokens = vec!["t"; 11];
    assert_eq!(
        constraint(
            Service::Kms,
            "Encrypt",
            json!({"KeyId": "k", "Plaintext": "AA==", "GrantTokens": tokens})
        ),
        "1 validation error detected: Value '[t, t, t, t, t, t, t, t, t, t, t]' at \
         'grantTokens' failed to satisfy constraint: Member must have length less than or \
         equal to 10"
    );
    // A broken element is reported once, at the list, with all of the element's constraints.
    assert_eq!(
        constraint(
            Service::Kms,
            "Encrypt",
            json!({"KeyId": "k", "Plaintext": "AA==", "GrantTokens": ["ok", ""]})
        ),
        "1 validation error detected: Value '[ok, ]' at 'grantTokens' failed to satisfy \
         constraint: Member must satisfy constraint: [Member must have length less than or \
         equal to 8192, Member must have length greater than or equal to 1, Member must not be \
         null]"
    );
    assert!(
        constraint(
            Service::Kms,
            "Encrypt",
            json!({"KeyId": "k", "Plaintext": "AA==", "GrantTokens": [null]})
        )
        .contains("Member must satisfy constraint: [")
    );
    assert_eq!(
        constraint(
            Service::Kms,
            "CreateKey",
            json!({"Tags": [{"TagKey": "", "TagValue": "v"}]})
        ),
        "1 validation error detected: Value '' at 'tags.1.member.tagKey' failed to satisfy \
         constraint: Member must have length greater than or equal to 1"
    );
    // Lists render as Java does: `[a, b]`.
    let message = constraint(
        Service::Ssm,
        "GetParameters",
        json!({"Names": vec!["n"; 11]}),
    );
    assert!(message.contains("Value '[n, n"), "{message}");
}

#[test]
fn maps() {
    let long_key = "k".repeat(51);
    assert_eq!(
        constraint(
            Service::Ssm,
            "StartAutomationExecution",
            json!({"DocumentName": "AWS-RestartEC2Instance", "Parameters": {long_key.clone(): ["v"]}})
        ),
        format!(
            "1 validation error detected: Value '{{{long_key}=[v]}}' at 'parameters' failed to \
             satisfy constraint: Map keys must satisfy constraint: [Member must have length less \
             than or equal to 50, Member must have length greater than or equal to 1]"
        )
    );
    assert_eq!(
        constraint(
            Service::Ssm,
            "StartAutomationExecution",
            json!({"DocumentName": "AWS-RestartEC2Instance", "Parameters": {"k": vec!["v"; 51]}})
        ),
        format!(
            "1 validation error detected: Value '{{k=[{}]}}' at 'parameters' failed to satisfy \
             constraint: Map value must satisfy constraint: [Member must have length less than \
             or equal to 50, Member must have length greater than or equal to 0, Member must not \
             be null]",
            vec!["v"; 51].join(", ")
        )
    );
    assert!(
        constraint(
            Service::Ssm,
            "StartAutomationExecution",
            json!({"DocumentName": "AWS-RestartEC2Instance", "Parameters": {}})
        )
        .ends_with("at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1")
    );
    // Nested inside a map value: the N-th entry, not the key, goes in the path.
    let message = constraint(
        Service::Ssm,
        "CreateOpsItem",
        json!({"Description": "d", "Source": "s", "Title": "t",
               "OperationalData": {"a": {"Value": "v", "Type": "Nope"}}}),
    );
    assert!(
        message.contains("Value 'Nope' at 'operationalData.1.value.type' failed"),
        "{message}"
    );
    valid(
        Service::Kms,
        "Encrypt",
        json!({"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": {"purpose": "test"}}),
    );
}

#[test]
fn timestamps() {
    for ok in [
        json!(1_700_000_000),
        json!(1_700_000_000.25),
        json!("1700000000"),
        json!("2023-11-14T22:13:20Z"),
    ] {
        valid(
            Service::CloudTrail,
            "LookupEvents",
            json!({"StartTime": ok}),
        );
    }
    for bad in [json!("yesterday"), json!(true), json!([1])] {
        serialization(
            Service::CloudTrail,
            "LookupEvents",
            json!({"StartTime": bad}),
        );
    }
}
