//! The SigV4 `Authorization` header parser (`coffer_sigv4::parse_authorization`) and `verify`.
//!
//! Input: text; line 1 is the header value, every further line a request header `name:value`.
//! Properties: nothing panics; a parsed header renders (`Display`) to a header that parses to the
//! same thing; what the header form accepts (as an HTTP header can carry it) the presigned form
//! accepts with the same meaning; a request signed with the crate's own `sign` never fails
//! `verify` with a signature mismatch.
#![no_main]

use coffer_sigv4::{
    Error, Request, canonical_request, derive_signing_key, parse_authorization, parse_presigned,
    request_time, sign, string_to_sign, verify,
};
use libfuzzer_sys::fuzz_target;

const PAYLOAD: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What `http::HeaderValue::to_str` lets through: the server only ever parses such values.
fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let header = lines.next().unwrap_or("");
    let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(':')).collect();

    let auth = match parse_authorization(header) {
        Ok(auth) => auth,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };

    // Display round trip.
    let rendered = auth.to_string();
    assert_eq!(
        parse_authorization(&rendered).as_ref(),
        Ok(&auth),
        "rendered as {rendered:?}"
    );

    // The same credential, signed headers and signature, presigned.
    if header_safe(header) {
        let query = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={}T000000Z\
             &X-Amz-Expires=300&X-Amz-SignedHeaders={}&X-Amz-Signature={}",
            pct(&format!("{}/{}", auth.access_key_id, auth.scope())),
            pct(&auth.date),
            pct(&auth.signed_headers.join(";")),
            pct(&auth.signature),
        );
        match parse_presigned(&query) {
            Ok(Some(p)) => assert_eq!(p.auth, auth, "presigned as {query:?}"),
            Ok(None) => panic!("presigned form not recognised: {query:?}"),
            // The scope date is not a date: the presigned form also carries X-Amz-Date.
            Err(Error::Incomplete(m)) if m.starts_with("Date must be in ISO-8601") => {}
            Err(e) => panic!("presigned form refused: {e:?} for {query:?}"),
        }
    }

    // Verification over a request made of the other lines.
    let req = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: PAYLOAD,
    };
    let key = derive_signing_key(
        b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        &auth.date,
        &auth.region,
        &auth.service,
    );
    let now = request_time(&req).unwrap_or(1_440_938_160);
    let _ = verify(&auth, &req, &key, now);

    // Signed by the crate itself: never a mismatch.
    let Some(amz_date) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-date"))
        .map(|(_, v)| v.trim())
    else {
        return;
    };
    let Ok(creq) = canonical_request(&req, &auth.signed_headers) else {
        return;
    };
    let mut signed = auth.clone();
    signed.signature = sign(&key, &string_to_sign(amz_date, &auth.scope(), &creq));
    let outcome = verify(&signed, &req, &key, now);
    assert_ne!(outcome, Err(Error::Mismatch), "own signature refused");
});
