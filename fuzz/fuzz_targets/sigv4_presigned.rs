//! The SigV4 presigned-query parser (`coffer_sigv4::parse_presigned`) and `verify_presigned`.
//!
//! Input: the raw query string. Properties: nothing panics; whatever the presigned form accepts,
//! the `Authorization` header form (the same credential, signed headers and signature) accepts
//! with the same meaning.
#![no_main]

use coffer_sigv4::{
    Request, derive_signing_key, parse_authorization, parse_presigned, request_time,
    verify_presigned,
};
use libfuzzer_sys::fuzz_target;

const PAYLOAD: &str = "UNSIGNED-PAYLOAD";

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let presigned = match parse_presigned(query) {
        Ok(Some(p)) => p,
        Ok(None) => return,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let auth = &presigned.auth;

    // The header form of the same fields.
    let header = auth.to_string();
    assert_eq!(
        parse_authorization(&header).as_ref(),
        Ok(auth),
        "header form {header:?}"
    );

    // Verification: at signing time, and just past expiry.
    let date_only = [("x-amz-date", presigned.amz_date.as_str())];
    let signed_at = request_time(&Request {
        method: "GET",
        path: "/",
        query: "",
        headers: &date_only,
        payload_sha256_hex: PAYLOAD,
    })
    .expect("parse_presigned checked X-Amz-Date");
    let headers = [("host", "sts.us-east-1.amazonaws.com")];
    let req = Request {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
        payload_sha256_hex: PAYLOAD,
    };
    let key = derive_signing_key(b"secret", &auth.date, &auth.region, &auth.service);
    for now in [
        signed_at,
        signed_at + i64::from(presigned.expires_secs) + 1,
        signed_at - 3600,
    ] {
        let _ = verify_presigned(&presigned, &req, &key, now);
    }
});
