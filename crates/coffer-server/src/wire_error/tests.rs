//! Rendering, over every row of every service's error table, against the botocore models; and
//! the server's own errors against AWS's common errors.

use super::*;
use coffer_service::dispatch::{SERVICES, Wire};
use coffer_service::error::{JSON_COMMON_ERRORS, QUERY_COMMON_ERRORS};
use serde_json::Value;

const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The message member an awsJson error shape declares, read from the botocore document itself.
fn declared_member(service: coffer_service::model::Service, code: &str) -> Option<String> {
    let doc: Value = serde_json::from_str(service.source()).ok()?;
    let members = doc["shapes"][code]["members"].as_object()?;
    ["Message", "message"]
        .into_iter()
        .find(|m| members.contains_key(*m))
        .map(str::to_owned)
}

#[test]
fn every_modelled_error_renders_as_the_model_says() {
    let mut rendered = 0;
    for d in SERVICES {
        for &(variant, code, status) in d.errors {
            let e = (d.error)(variant, "it went wrong").unwrap_or_else(|| panic!("{variant}"));
            let w = WireError::from_service(&*e, "rid");
            assert_eq!((w.code, w.status), (code, status), "{:?}::{variant}", d.id);
            match d.wire {
                Wire::Json { .. } => {
                    let body: Value = serde_json::from_str(&w.json_body()).unwrap_or_default();
                    let member = d
                        .model
                        .and_then(|m| declared_member(m, code))
                        .unwrap_or_else(|| "message".to_owned());
                    let internal = status >= 500;
                    let mut expected = serde_json::Map::new();
                    expected.insert("__type".to_owned(), code.into());
                    expected.insert(member, e.message().into());
                    assert_eq!(body, Value::Object(expected), "{:?}::{variant}", d.id);
                    assert!(internal || body.to_string().contains("it went wrong"));
                }
                Wire::Query { xmlns, .. } => {
                    let xml = w.xml_body(xmlns, "rid");
                    let kind = if status < 500 { "Sender" } else { "Receiver" };
                    assert!(
                        xml.contains(&format!("<Type>{kind}</Type><Code>{code}</Code><Message>")),
                        "{xml}"
                    );
                }
            }
            rendered += 1;
        }
    }
    assert!(rendered > 100, "{rendered}");
}

#[test]
fn secrets_manager_says_message_with_a_capital() {
    let e = coffer_service::secretsmanager::SecretsManagerError::ResourceNotFound("gone".into());
    assert_eq!(
        WireError::from_service(&e, "r").json_body(),
        r#"{"Message":"gone","__type":"ResourceNotFoundException"}"#
    );
    let e = coffer_service::kms::KmsError::NotFound("gone".into());
    assert_eq!(
        WireError::from_service(&e, "r").json_body(),
        r#"{"__type":"NotFoundException","message":"gone"}"#
    );
}

/// AWS sends InvalidCiphertextException with no message member at all.
#[test]
fn an_empty_message_is_not_rendered() {
    let e = coffer_service::kms::KmsError::InvalidCiphertext(String::new());
    assert_eq!(
        WireError::from_service(&e, "r").json_body(),
        r#"{"__type":"InvalidCiphertextException"}"#
    );
}

fn assert_common(w: &WireError, protocol: Protocol) {
    let list = match protocol {
        Protocol::Json => JSON_COMMON_ERRORS,
        Protocol::Query { .. } => QUERY_COMMON_ERRORS,
    };
    assert!(
        list.contains(&(w.code, w.status)),
        "{} {} is not among the common errors of {protocol:?}",
        w.code,
        w.status
    );
}

#[test]
fn the_servers_own_errors_are_common_errors() {
    let json = Protocol::Json;
    let query = Protocol::Query { xmlns: XMLNS };
    for p in [json, query] {
        assert_common(&WireError::too_large(10), p);
        assert_common(&WireError::internal(), p);
        assert_common(&WireError::unsupported_service("lambda", p), p);
        let failures = [
            AuthFailure::Signature(SigError::Missing),
            AuthFailure::Signature(SigError::Incomplete("x".into())),
            AuthFailure::Signature(SigError::Mismatch),
            AuthFailure::Signature(SigError::ScopeMismatch("x".into())),
            AuthFailure::UnknownKey,
            AuthFailure::Expired,
            AuthFailure::Internal("x".into()),
        ];
        for f in &failures {
            assert_common(&WireError::from_auth(f, p, "r"), p);
        }
    }
    assert_common(&WireError::unknown_operation("A.B"), json);
    assert_common(&WireError::not_json(), json);
    assert_common(&WireError::not_form_encoded(), query);
    assert_common(&WireError::missing_action(), query);
    assert_common(&WireError::invalid_action("Foo", "2011-06-15"), query);
}

#[test]
fn unsupported_services_are_named_and_sanitised() {
    let w = WireError::unsupported_service("lambda", Protocol::Json);
    assert_eq!(w.code, "UnknownOperationException");
    assert!(
        w.message
            .starts_with("The service lambda is not supported by coffer (it serves kms, "),
        "{}",
        w.message
    );
    let w = WireError::unsupported_service("s3<script>", Protocol::Query { xmlns: XMLNS });
    assert_eq!(w.code, "InvalidAction");
    assert!(
        w.message.contains("The service s3script is not"),
        "{}",
        w.message
    );
}
