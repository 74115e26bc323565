//! The hot pure functions of a read: SigV4 verification, envelope decryption, policy evaluation.
//! `cargo bench -p coffer-microbench`; figures in docs/benchmarks.md.
#![allow(clippy::unwrap_used, missing_docs)]

use coffer_crypto::{BlobHeader, EncryptionContext, aead, blob};
use coffer_policy::{Policy, Principal, Request, evaluate};
use coffer_sigv4::{
    Request as SigRequest, canonical_request, derive_signing_key, parse_authorization, sign,
    string_to_sign, verify,
};
use coffer_types::SecretBytes;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn sigv4(c: &mut Criterion) {
    let headers = vec![
        ("host", "secretsmanager.us-east-1.amazonaws.com"),
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "secretsmanager.GetSecretValue"),
        ("x-amz-date", "20150830T123600Z"),
    ];
    let signed = ["content-type", "host", "x-amz-date", "x-amz-target"].map(str::to_owned);
    let payload = "5d7a3c1e0b9f4a2d8c6e1f3a5b7d9c0e2f4a6b8d0c1e3f5a7b9d1c3e5f7a9b1d";
    let key = derive_signing_key(b"secret", "20150830", "us-east-1", "secretsmanager");
    let req = SigRequest {
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
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/secretsmanager/aws4_request, SignedHeaders={}, Signature={}",
        signed.join(";"),
        sign(&key, &sts)
    );
    let mut with_auth = headers.clone();
    with_auth.push(("authorization", &header));
    let req = SigRequest {
        headers: &with_auth,
        ..req
    };
    let auth = parse_authorization(&header).unwrap();
    c.bench_function("sigv4 verify (cached signing key)", |b| {
        b.iter(|| verify(black_box(&auth), black_box(&req), &key, 1_440_938_160).unwrap())
    });
    c.bench_function("sigv4 parse_authorization", |b| {
        b.iter(|| parse_authorization(black_box(&header)).unwrap())
    });
    c.bench_function("sigv4 derive_signing_key", |b| {
        b.iter(|| derive_signing_key(b"secret", "20150830", "us-east-1", "secretsmanager"))
    });
}

fn envelope(c: &mut Criterion) {
    let material = SecretBytes::new(vec![7u8; 32]);
    let header = BlobHeader {
        key_arn: "arn:aws:kms:us-east-1:000000000000:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
            .into(),
        material_version: 1,
    };
    let context = EncryptionContext::from([
        (
            "SecretARN".to_owned(),
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-AbCdEf".to_owned(),
        ),
        (
            "SecretVersionId".to_owned(),
            "0123456789abcdef0123456789abcdef".to_owned(),
        ),
    ]);
    let data_key = [9u8; 32];
    let wrapped = blob::encrypt(&material, &header, &context, &data_key).unwrap();
    let value = vec![b'x'; 4096];
    let sealed = aead::seal(&data_key, &value, b"aad").unwrap();
    c.bench_function("envelope: unwrap data key (KMS blob decrypt)", |b| {
        b.iter(|| blob::decrypt(&material, black_box(&wrapped), &context).unwrap())
    });
    c.bench_function("envelope: open a 4 KiB value (AES-256-GCM)", |b| {
        b.iter(|| aead::open(&data_key, black_box(&sealed), b"aad").unwrap())
    });
}

fn policy(c: &mut Criterion) {
    let identity = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ssm:GetParameter*"],"Resource":"arn:aws:ssm:*:*:parameter/prod/payments-api/*"},
            {"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*",
             "Condition":{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}},
            {"Effect":"Deny","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:*:secret:break-glass/*"}]}"#,
    )
    .unwrap();
    let resource = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Principal":{"AWS":"arn:aws:iam::111111111111:role/CrossAccountReader"},
            "Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"*"}]}"#,
    )
    .unwrap();
    let principal =
        Principal::assumed_role("arn:aws:iam::111111111111:role/CrossAccountReader", "s").unwrap();
    let request = Request::new(
        principal,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/payments-api/database-AbCdEf",
    )
    .with("secretsmanager:VersionStage", "AWSCURRENT");
    c.bench_function(
        "policy: cross-account GetSecretValue (identity + resource)",
        |b| {
            b.iter(|| {
                evaluate(
                    black_box(&request),
                    &[&identity],
                    Some(&resource),
                    "000000000000",
                )
            })
        },
    );
}

criterion_group!(benches, sigv4, envelope, policy);
criterion_main!(benches);
