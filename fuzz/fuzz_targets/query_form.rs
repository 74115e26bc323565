//! The query-protocol (form) decoder, as `coffer-server`'s `protocol::query` runs it for STS and
//! IAM: the body read with `serde_urlencoded`, `Action` looked up in the service's table, then
//! `Services::query_input` (form parameters -> JSON by the botocore model) and
//! `Services::decode_input` (what `Services::dispatch` does next: validation, typed decode).
//!
//! Input: the form body. Properties: nothing panics; a form that decodes gives a JSON object;
//! every refusal is a 4xx.
#![no_main]

use coffer_service::Services;
use coffer_service::dispatch::{self, Wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(data) else {
        return;
    };
    params.retain(|(k, _)| !k.starts_with("X-Amz-"));
    let Some(op) = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
    else {
        return;
    };
    for service in dispatch::SERVICES
        .iter()
        .filter(|d| matches!(d.wire, Wire::Query { .. }))
    {
        if !service.has_operation(&op) {
            continue;
        }
        match Services::query_input(service.id, &op, &params) {
            Ok(input) => {
                assert!(input.is_object(), "{input}");
                if let Err(e) = Services::decode_input(service.id, &op, input) {
                    assert!((400..500).contains(&e.status()), "{e:?}");
                    let _ = e.message();
                }
            }
            Err(e) => {
                assert!((400..500).contains(&e.status()), "{e:?}");
                let _ = (e.code(), e.message());
            }
        }
    }
});
