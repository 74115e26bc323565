//! The awsJson 1.1 request decoder: what `coffer-server`'s `protocol::json` does with a request
//! before the handler runs, through the same functions: the `X-Amz-Target` split and
//! `dispatch::by_target`, the body read as JSON (empty is `{}`), then `Services::decode_input`
//! (the decoding half of `Services::dispatch`: botocore-model validation and the operation's
//! typed-input decode).
//!
//! Input: a first line, the `X-Amz-Target` value, then the body. Properties: nothing panics;
//! every refusal is a 4xx with a code and a message; a document that fails validation also
//! fails decoding with the same error.
#![no_main]

use coffer_service::Services;
use coffer_service::dispatch;
use coffer_service::model::model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let nl = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let Ok(target) = std::str::from_utf8(&data[..nl]) else {
        return;
    };
    let body = data.get(nl + 1..).unwrap_or(&[]);

    let Some((prefix, op)) = target.rsplit_once('.') else {
        return;
    };
    let Some(service) = dispatch::by_target(prefix, op) else {
        return;
    };
    if !service.has_operation(op) {
        return;
    }
    let input: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return,
        }
    };
    let validated = service.model.map(|m| model(m).validate_input(op, &input));
    match Services::decode_input(service.id, op, input) {
        Ok(()) => {
            if let Some(v) = validated {
                assert!(v.is_ok(), "decoded what validation refused: {v:?}");
            }
        }
        Err(e) => {
            let (code, status, message) = (e.code(), e.status(), e.message());
            assert!((400..500).contains(&status), "{code} {status} {message}");
            assert!(!code.is_empty());
            if let Some(Err(v)) = validated {
                assert_eq!(message, v.message(), "validation error changed");
            }
        }
    }
});
