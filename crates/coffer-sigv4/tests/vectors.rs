//! AWS's SigV4 test suite, as shipped in the `aws-sigv4` crate (Apache-2.0; see
//! `tests/vectors/README.md`).
//!
//! For every vector: our canonical request and string to sign equal AWS's, our signature equals
//! AWS's, and `verify` (or `verify_presigned`) accepts the signed request while rejecting it
//! under a wrong secret.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use coffer_sigv4::{
    Error, Request, canonical_request, derive_signing_key, parse_authorization, parse_presigned,
    sign, string_to_sign, verify, verify_presigned,
};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A request read from one of the suite's `*-signed-request.txt` files.
struct RawRequest {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawRequest {
    fn parse(text: &str) -> Self {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let request_line = lines.next().unwrap();
        let (method, target) = request_line.split_once(' ').unwrap();
        // The target may itself contain spaces (`/example space/`), so only the protocol
        // suffix is cut off, and not every file has one.
        let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // obs-fold: a continuation of the previous header, joined by a space as an HTTP
                // server would.
                let last = headers.last_mut().unwrap();
                last.1.push(' ');
                last.1.push_str(line.trim());
                continue;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        RawRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn payload_hash(&self) -> String {
        hex::encode(digest::digest(&digest::SHA256, &self.body))
    }
}

fn header_refs(raw: &RawRequest) -> Vec<(&str, &str)> {
    raw.headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// `"key": "value"` from the small, flat `context.json` files, without a JSON dependency.
fn json_str(json: &str, key: &str) -> String {
    let needle = format!("\"{key}\": \"");
    let start = json.find(&needle).unwrap() + needle.len();
    let len = json[start..].find('"').unwrap();
    json[start..start + len].to_owned()
}

struct Context {
    secret: String,
    region: String,
    service: String,
    amz_date: String,
    now_unix: i64,
}

fn context(dir: &Path) -> Context {
    match fs::read_to_string(dir.join("context.json")) {
        Ok(json) => {
            assert_eq!(json_str(&json, "timestamp"), "2015-08-30T12:36:00Z");
            Context {
                secret: json_str(&json, "secret_access_key"),
                region: json_str(&json, "region"),
                service: json_str(&json, "service"),
                amz_date: "20150830T123600Z".to_owned(),
                now_unix: 1_440_938_160,
            }
        }
        // `double-url-encode` ships without a context; its parameters are in its string to sign.
        Err(_) => Context {
            secret: SECRET.to_owned(),
            region: "us-east-2".to_owned(),
            service: "lambda".to_owned(),
            amz_date: "20210511T154045Z".to_owned(),
            now_unix: 1_620_747_645,
        },
    }
}

/// A vector file. Some end in a newline the expected strings don't have (every expected string
/// ends in a hash), so trailing newlines are dropped.
fn read(dir: &Path, file: &str) -> Option<String> {
    let text = fs::read_to_string(dir.join(file)).ok()?;
    Some(text.trim_end_matches('\n').to_owned())
}

fn vector_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn check_header_form(dir: &Path, ctx: &Context) {
    let name = dir.file_name().unwrap().to_string_lossy();
    let raw = RawRequest::parse(&read(dir, "header-signed-request.txt").unwrap());
    let headers = header_refs(&raw);
    let payload = raw.payload_hash();
    let req = Request {
        method: &raw.method,
        path: &raw.path,
        query: &raw.query,
        headers: &headers,
        payload_sha256_hex: &payload,
    };
    let authz = raw
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .unwrap();
    let auth = parse_authorization(&authz.1).unwrap();
    assert_eq!(auth.region, ctx.region, "{name}");
    assert_eq!(auth.service, ctx.service, "{name}");

    let creq = canonical_request(&req, &auth.signed_headers).unwrap();
    assert_eq!(
        creq,
        read(dir, "header-canonical-request.txt").unwrap(),
        "{name}: creq"
    );
    let sts = string_to_sign(&ctx.amz_date, &auth.scope(), &creq);
    if let Some(expected) = read(dir, "header-string-to-sign.txt") {
        assert_eq!(sts, expected, "{name}: string to sign");
    }
    let key = derive_signing_key(
        ctx.secret.as_bytes(),
        &auth.date,
        &auth.region,
        &auth.service,
    );
    let signature = sign(&key, &sts);
    assert_eq!(signature, auth.signature, "{name}: signature in the header");
    if let Some(expected) = read(dir, "header-signature.txt") {
        assert_eq!(signature, expected.trim(), "{name}: signature file");
    }
    verify(&auth, &req, &key, ctx.now_unix).unwrap();

    let wrong = derive_signing_key(b"not-the-secret", &auth.date, &auth.region, &auth.service);
    assert_eq!(
        verify(&auth, &req, &wrong, ctx.now_unix),
        Err(Error::Mismatch),
        "{name}"
    );
}

fn check_query_form(dir: &Path, ctx: &Context) {
    let name = dir.file_name().unwrap().to_string_lossy();
    let Some(text) = read(dir, "query-signed-request.txt") else {
        return;
    };
    let raw = RawRequest::parse(&text);
    let headers = header_refs(&raw);
    let payload = raw.payload_hash();
    let req = Request {
        method: &raw.method,
        path: &raw.path,
        query: &raw.query,
        headers: &headers,
        payload_sha256_hex: &payload,
    };
    let presigned = parse_presigned(&raw.query).unwrap().unwrap();
    assert_eq!(presigned.amz_date, ctx.amz_date);
    assert_eq!(presigned.expires_secs, 3600);

    // The canonical request of a presigned URL is that of the URL without its signature.
    let unsigned_query: Vec<&str> = raw
        .query
        .split('&')
        .filter(|p| !p.starts_with("X-Amz-Signature="))
        .collect();
    let unsigned_query = unsigned_query.join("&");
    let unsigned = Request {
        query: &unsigned_query,
        ..req
    };
    let creq = canonical_request(&unsigned, &presigned.auth.signed_headers).unwrap();
    assert_eq!(
        creq,
        read(dir, "query-canonical-request.txt").unwrap(),
        "{name}: creq"
    );
    let sts = string_to_sign(&ctx.amz_date, &presigned.auth.scope(), &creq);
    assert_eq!(
        sts,
        read(dir, "query-string-to-sign.txt").unwrap(),
        "{name}: sts"
    );
    let key = derive_signing_key(
        ctx.secret.as_bytes(),
        &presigned.auth.date,
        &presigned.auth.region,
        &presigned.auth.service,
    );
    assert_eq!(
        sign(&key, &sts),
        presigned.auth.signature,
        "{name}: signature"
    );

    verify_presigned(&presigned, &req, &key, ctx.now_unix).unwrap();
    // Still good at the last second of its validity, not after.
    verify_presigned(&presigned, &req, &key, ctx.now_unix + 3600).unwrap();
    assert!(matches!(
        verify_presigned(&presigned, &req, &key, ctx.now_unix + 3601),
        Err(Error::PresignExpired { .. })
    ));
    let wrong = derive_signing_key(b"nope", &presigned.auth.date, "us-east-1", "service");
    assert_eq!(
        verify_presigned(&presigned, &req, &wrong, ctx.now_unix),
        Err(Error::Mismatch)
    );
}

#[test]
fn aws_test_suite() {
    let dirs = vector_dirs();
    assert!(dirs.len() >= 30, "vectors missing: {}", dirs.len());
    for dir in &dirs {
        let ctx = context(dir);
        check_header_form(dir, &ctx);
        let name = dir.file_name().unwrap().to_string_lossy();
        // In `post-sts-header-after` the session token was added to the URL *after* signing, so
        // no verifier can accept it: the token is part of the query it sees.
        if name != "post-sts-header-after" {
            check_query_form(dir, &ctx);
        }
    }
}

#[test]
fn get_vanilla_by_hand() {
    // The best-known vector, spelled out so a failure here needs no files to understand.
    let headers = [
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
    ];
    let req = Request {
        method: "GET",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    };
    let auth = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    )
    .unwrap();
    let key = derive_signing_key(SECRET.as_bytes(), "20150830", "us-east-1", "service");
    verify(&auth, &req, &key, 1_440_938_160).unwrap();
}
