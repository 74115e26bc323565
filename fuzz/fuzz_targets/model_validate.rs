//! Model validation (`coffer_service::model`): `validate_input`, `redact_input` and
//! `redact_output` of every operation of every embedded botocore model.
//!
//! Input: a first line `service Operation` (e.g. `kms CreateKey`; anything else picks an
//! operation by hash), then a JSON document. Properties: nothing panics; validation is
//! deterministic; a constraint error's message starts with its count ("N validation error(s)");
//! no validation message contains the value of a member that redaction hides (sensitive
//! members and blobs), nor does a serialization message contain any string value of the input
//! (both checked on a copy whose string values start with a BEL and a number).
#![no_main]

use coffer_service::model::{HIDDEN, Service, ValidationError, model};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

fn operations() -> &'static [(Service, String)] {
    static OPS: OnceLock<Vec<(Service, String)>> = OnceLock::new();
    OPS.get_or_init(|| {
        Service::ALL
            .iter()
            .flat_map(|s| model(*s).operation_names().map(|o| (*s, o.to_owned())))
            .collect()
    })
}

fn pick(line: &str) -> (Service, &'static str) {
    let ops = operations();
    if let Some((svc, op)) = line.split_once(' ')
        && let Some((s, o)) = ops.iter().find(|(s, o)| s.name() == svc && o == op)
    {
        return (*s, o.as_str());
    }
    let mut h = DefaultHasher::new();
    line.hash(&mut h);
    let (s, o) = &ops[(h.finish() % ops.len() as u64) as usize];
    (*s, o.as_str())
}

/// The input strings redaction replaced with the marker.
fn hidden<'a>(orig: &'a Value, redacted: &Value, out: &mut Vec<&'a str>) {
    match (orig, redacted) {
        (Value::String(s), Value::String(r)) if r == HIDDEN && s != HIDDEN => out.push(s),
        (Value::Object(o), Value::Object(r)) => {
            for (k, rv) in r {
                if let Some(ov) = o.get(k) {
                    hidden(ov, rv, out);
                }
            }
        }
        (Value::Array(o), Value::Array(r)) => {
            for (ov, rv) in o.iter().zip(r) {
                hidden(ov, rv, out);
            }
        }
        _ => {}
    }
}

/// `v` with every string value prefixed by BEL, its number, BEL: each marked value is unique.
fn mark(v: &Value, n: &mut usize) -> Value {
    match v {
        Value::String(s) => {
            *n += 1;
            Value::String(format!("\u{7}{n}\u{7}{s}"))
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| mark(v, n)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), mark(v, n))).collect()),
        other => other.clone(),
    }
}

fn has_bel(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\u{7}'),
        Value::Array(a) => a.iter().any(has_bel),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\u{7}') || has_bel(v)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(nl) = data.iter().position(|b| *b == b'\n') else {
        return;
    };
    let (head, body) = (String::from_utf8_lossy(&data[..nl]), &data[nl + 1..]);
    let Ok(input) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let (service, op) = pick(&head);
    let m = model(service);

    let verdict = m.validate_input(op, &input);
    assert_eq!(
        format!("{verdict:?}"),
        format!("{:?}", m.validate_input(op, &input)),
        "not deterministic"
    );
    let _ = m.redact_input(op, &input).expect("known operation");
    let _ = m.redact_output(op, &input);

    // The properties on messages are checked on a copy whose string values all start with a
    // BEL and a number, unique per value; no message template holds a BEL, so a BEL in a
    // message is an echoed value, and an echoed hidden value is its whole marked text.
    if has_bel(&input) {
        return;
    }
    let marked = mark(&input, &mut 0);
    let Err(e) = m.validate_input(op, &marked) else {
        return;
    };
    let _ = (verdict, e.error_code());
    let message = e.message();
    match &e {
        ValidationError::Constraint { count, .. } => {
            assert!(*count > 0);
            assert!(
                message.starts_with(&format!("{count} validation error")),
                "{message:?}"
            );
            let redacted = m.redact_input(op, &marked).expect("known operation");
            let mut secret = Vec::new();
            hidden(&marked, &redacted, &mut secret);
            for s in secret {
                assert!(
                    !message.contains(s),
                    "hidden value {s:?} echoed in {message:?}"
                );
            }
        }
        ValidationError::Serialization(_) => {
            assert!(
                !message.contains('\u{7}'),
                "a value echoed in serialization error {message:?}"
            );
        }
    }
});
