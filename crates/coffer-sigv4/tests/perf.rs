//! A rough timing of the hot path. Ignored by default (debug builds say nothing useful); run with
//! `cargo test -p coffer-sigv4 --release --test perf -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use coffer_sigv4::{
    Request, canonical_request, derive_signing_key, parse_authorization, sign, string_to_sign,
    verify,
};

#[test]
#[ignore = "timing; run in release"]
fn verify_timing() {
    // A Secrets Manager GetSecretValue call as the Rust SDK sends it.
    let headers = vec![
        ("host", "secretsmanager.us-east-1.amazonaws.com"),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "secretsmanager.GetSecretValue"),
        ("content-length", "27"),
        ("user-agent", "aws-sdk-rust/1.3.9 os/linux lang/rust/1.85.0"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.3.9 api/secretsmanager/1.66.0 os/linux lang/rust/1.85.0",
        ),
        (
            "amz-sdk-invocation-id",
            "8f1a1c7e-6f0c-4a8e-9d59-3c1b2e0c7f11",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
        ("x-amz-date", "20150830T123600Z"),
    ];
    let payload = "5d7a3c1e0b9f4a2d8c6e1f3a5b7d9c0e2f4a6b8d0c1e3f5a7b9d1c3e5f7a9b1d";
    let signed = [
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "content-length",
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-target",
        "x-amz-user-agent",
    ]
    .map(str::to_owned);
    let key = derive_signing_key(b"secret", "20150830", "us-east-1", "secretsmanager");
    let req = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: payload,
    };
    let creq = canonical_request(&req, &signed).unwrap();
    let sts = string_to_sign(
        "20150830T123600Z",
        "20150830/us-east-1/secretsmanager/aws4_request",
        &creq,
    );
    let header = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/secretsmanager/aws4_request, \
         SignedHeaders={}, Signature={}",
        signed.join(";"),
        sign(&key, &sts)
    );
    let mut with_auth = headers.clone();
    with_auth.push(("authorization", &header));
    let req = Request {
        headers: &with_auth,
        ..req
    };
    let auth = parse_authorization(&header).unwrap();
    verify(&auth, &req, &key, 1_440_938_160).unwrap();

    const N: u32 = 200_000;
    let start = Instant::now();
    for _ in 0..N {
        verify(black_box(&auth), black_box(&req), &key, 1_440_938_160).unwrap();
    }
    let per_verify = start.elapsed() / N;
    let start = Instant::now();
    for _ in 0..N {
        black_box(parse_authorization(black_box(&header)).unwrap());
    }
    let per_parse = start.elapsed() / N;
    let start = Instant::now();
    for _ in 0..N / 10 {
        black_box(derive_signing_key(
            b"secret",
            "20150830",
            "us-east-1",
            "secretsmanager",
        ));
    }
    let per_derive = start.elapsed() / (N / 10);
    println!(
        "verify: {per_verify:?}  parse_authorization: {per_parse:?}  derive_signing_key: {per_derive:?}"
    );
}
