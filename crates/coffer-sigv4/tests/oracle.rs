//! Property tests with the AWS SDK's own signer (`aws-sigv4`) as the oracle.
//!
//! Random requests are signed the way the SDKs sign non-S3 requests (double percent-encoding,
//! path normalisation, header or query signatures, with and without a session token). `verify`
//! must accept every one of them, and must reject it once any one signed part is changed.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_lc_rs::digest;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign as oracle_sign,
};
use aws_sigv4::sign::v4;
use coffer_sigv4::{
    Authorization, Error, Request, derive_signing_key, parse_authorization, parse_presigned,
    verify, verify_presigned,
};
use proptest::prelude::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const HOST: &str = "secretsmanager.us-east-1.amazonaws.com";

/// Percent-encodes everything but RFC 3986 unreserved characters, as the SDKs encode path labels
/// and query parameters.
fn encode(s: &str) -> String {
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

/// One path segment as it could appear on the wire.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        // Characters a URI path may carry unencoded, sub-delimiters included.
        "[a-zA-Z0-9._~:@!$&'()*+,;=-]{1,6}",
        // Anything at all, encoded by the client first (so `%` on the wire gets encoded again).
        ".{1,6}".prop_map(|s| encode(&s)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 0..5), any::<bool>()).prop_map(|(segments, trailing)| {
        let mut p = format!("/{}", segments.join("/"));
        if trailing && !p.ends_with('/') {
            p.push('/');
        }
        p
    })
}

/// One query key or value as it could appear on the wire.
fn query_component() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._~-]{0,6}",
        // Raw characters a query may carry; `+` means a space to both sides.
        "[a-zA-Z0-9:/,@!$'()*;=+?-]{0,6}",
        ".{0,6}".prop_map(|s| encode(&s)),
        ".{0,6}".prop_map(|s| encode(&s).replace("%20", "+")),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let pair = (query_component(), query_component(), 0..4u8).prop_map(|(k, v, shape)| {
        match shape {
            0 => k,             // key only
            1 => String::new(), // an empty piece, as in `a=1&&b=2`
            _ => format!("{k}={}", v.replace('&', "%26")),
        }
    });
    prop::collection::vec(pair, 0..5).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|p| p.replace('&', "%26"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "x-a",
        "X-A",
        "x-b",
        "X-Amz-Target",
        "content-type",
        "Content-Type",
        "x-custom-header",
    ]);
    let value = "[ -~]{0,16}";
    prop::collection::vec((name, value), 0..5)
        .prop_map(|hs| hs.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
}

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    unix: u64,
    region: &'static str,
    service: &'static str,
    token: Option<String>,
    skew: i64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        path(),
        query(),
        headers(),
        prop::collection::vec(any::<u8>(), 0..64),
        // 2001..2100, so the date boundaries get exercised too.
        978_307_200u64..4_102_444_800,
        prop::sample::select(vec!["us-east-1", "eu-west-3", "ap-southeast-2"]),
        prop::sample::select(vec!["secretsmanager", "ssm", "kms", "sts"]),
        prop::option::of("[A-Za-z0-9/+=]{16,40}"),
        -900i64..=900,
    )
        .prop_map(
            |(method, path, query, headers, body, unix, region, service, token, skew)| Case {
                method,
                path,
                query,
                headers,
                body,
                unix,
                region,
                service,
                token,
                skew,
            },
        )
}

/// A request as the server would receive it after the oracle signed it.
#[derive(Clone)]
struct Signed {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    payload: String,
}

impl Signed {
    /// Runs `f` with a borrowed [`Request`] view of this request.
    fn with_request<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        f(&Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            payload_sha256_hex: &self.payload,
        })
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        &mut self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap()
            .1
    }
}

fn sha256_hex(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

/// Signs `case` with the AWS SDK signer; returns the request the server would see.
fn oracle(case: &Case, location: SignatureLocation) -> Signed {
    let identity = Credentials::new(AKID, SECRET, case.token.clone(), None, "test").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    if location == SignatureLocation::QueryParams {
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(case.unix))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let mut headers = vec![("host".to_owned(), HOST.to_owned())];
    headers.extend(case.headers.iter().cloned());
    let uri = if case.query.is_empty() {
        format!("https://{HOST}{}", case.path)
    } else {
        format!("https://{HOST}{}?{}", case.path, case.query)
    };
    let signable = SignableRequest::new(
        case.method,
        uri,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(&case.body),
    )
    .unwrap();
    let (instructions, _) = oracle_sign(signable, &params).unwrap().into_parts();
    let mut query = case.query.clone();
    for (name, value) in instructions.params() {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&encode(name));
        query.push('=');
        query.push_str(&encode(value));
    }
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
    Signed {
        method: case.method.to_owned(),
        path: case.path.clone(),
        query,
        headers,
        payload: sha256_hex(&case.body),
    }
}

fn key_for(auth: &Authorization) -> coffer_sigv4::SigningKey {
    derive_signing_key(SECRET.as_bytes(), &auth.date, &auth.region, &auth.service)
}

fn check(signed: &Signed, auth: &Authorization, now: i64) -> Result<(), Error> {
    signed.with_request(|req| verify(auth, req, &key_for(auth), now))
}

fn authorization_of(signed: &Signed) -> Authorization {
    let value = signed
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .unwrap();
    parse_authorization(&value.1).unwrap()
}

proptest! {
    // 256 cases by default; set PROPTEST_CASES for a longer run.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn accepts_what_the_sdk_signs_and_nothing_else(case in case(), mutation in 0..12u8) {
        let signed = oracle(&case, SignatureLocation::Headers);
        let auth = authorization_of(&signed);
        let now = i64::try_from(case.unix).unwrap() + case.skew;
        prop_assert_eq!(check(&signed, &auth, now), Ok(()));

        let mut bad = signed.clone();
        let mut bad_auth = auth.clone();
        let expected = match mutation {
            0 => {
                // A signed header other than the date (that is mutation 5).
                let name = auth.signed_headers.iter().find(|h| *h != "x-amz-date").unwrap().clone();
                bad.header_mut(&name).push('x');
                Err(Error::Mismatch)
            }
            1 => { bad.payload = sha256_hex(b"another body"); Err(Error::Mismatch) }
            2 => { bad.path.push('z'); Err(Error::Mismatch) }
            3 => { if bad.query.is_empty() { bad.query = "zz=1".to_owned() } else { bad.query.push('x') }; Err(Error::Mismatch) }
            4 => { bad.method = if bad.method == "GET" { "POST" } else { "GET" }.to_owned(); Err(Error::Mismatch) }
            5 => {
                let date = bad.header_mut("x-amz-date");
                let later = amz_date::shift(date, 1);
                let crosses_day = later[..8] != date[..8];
                *date = later;
                if crosses_day { Err(Error::ScopeMismatch(String::new())) } else { Err(Error::Mismatch) }
            }
            6 => { bad_auth.region = "xx-test-1".to_owned(); Err(Error::Mismatch) }
            7 => { bad_auth.service = "other".to_owned(); Err(Error::Mismatch) }
            8 => {
                let flipped = if bad_auth.signature.starts_with('0') { '1' } else { '0' };
                bad_auth.signature.replace_range(..1, &flipped.to_string());
                Err(Error::Mismatch)
            }
            9 => {
                let signed_at = i64::try_from(case.unix).unwrap();
                for now in [signed_at + 901, signed_at - 901] {
                    let result = check(&bad, &bad_auth, now);
                    prop_assert!(matches!(result, Err(Error::Expired { .. })), "{:?}", result);
                }
                return Ok(());
            }
            10 => {
                // Drop every copy of a signed header.
                let name = auth.signed_headers.iter().find(|h| *h != "host" && *h != "x-amz-date").cloned();
                let Some(name) = name else { return Ok(()) };
                bad.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                Err(Error::Incomplete(format!("'{name}' is named as a SignedHeader, but it does not exist in the HTTP request.")))
            }
            _ => {
                // A header that was not signed may change freely.
                bad.headers.push(("x-unsigned".to_owned(), "anything".to_owned()));
                Ok(())
            }
        };
        // Moving the date by a second must not also push it out of the skew window.
        let now = if mutation == 5 { i64::try_from(case.unix).unwrap() } else { now };
        let result = check(&bad, &bad_auth, now);
        match expected {
            Err(Error::ScopeMismatch(_)) => prop_assert!(matches!(result, Err(Error::ScopeMismatch(_))), "{:?}", result),
            expected => prop_assert_eq!(result, expected),
        }
    }

    #[test]
    fn accepts_what_the_sdk_presigns(case in case(), mutation in 0..4u8) {
        let signed = oracle(&case, SignatureLocation::QueryParams);
        let presigned = parse_presigned(&signed.query).unwrap().unwrap();
        prop_assert_eq!(presigned.expires_secs, 300);
        let key = key_for(&presigned.auth);
        let signed_at = i64::try_from(case.unix).unwrap();
        let ok = signed.with_request(|req| verify_presigned(&presigned, req, &key, signed_at + 300));
        prop_assert_eq!(ok, Ok(()));

        let mut bad = signed.clone();
        let mut now = signed_at;
        match mutation {
            0 => bad.path.push('z'),
            1 => bad.query.push_str("&zz=1"),
            2 => bad.header_mut("host").push('x'),
            _ => now = signed_at + 301,
        }
        let result = bad.with_request(|req| verify_presigned(&presigned, req, &key, now));
        if mutation == 3 {
            prop_assert!(matches!(result, Err(Error::PresignExpired { .. })), "{:?}", result);
        } else {
            prop_assert_eq!(result, Err(Error::Mismatch));
        }
    }
}

/// Shifting an `X-Amz-Date` by whole seconds, for the date mutation. Done the slow, obvious way
/// so that it shares no code with the crate under test.
mod amz_date {
    fn leap(year: u64) -> bool {
        // Signed arithmetic keeps this clear of `is_multiple_of`, which is newer than our MSRV.
        let y = i64::try_from(year).unwrap();
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    use std::time::{Duration, SystemTime};

    pub fn shift(amz_date: &str, secs: u64) -> String {
        let t = parse(amz_date) + secs;
        format(SystemTime::UNIX_EPOCH + Duration::from_secs(t))
    }

    fn parse(s: &str) -> u64 {
        let n = |r: std::ops::Range<usize>| s[r].parse::<u64>().unwrap();
        let (y, m, d) = (n(0..4), n(4..6), n(6..8));
        let days = days_from_civil(y, m, d);
        days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15)
    }

    fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
        let mut days = 0;
        for year in 1970..y {
            days += if leap(year) { 366 } else { 365 };
        }
        let month_days = [
            31,
            if leap(y) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        days += month_days[..usize::try_from(m - 1).unwrap()]
            .iter()
            .sum::<u64>();
        days + d - 1
    }

    fn format(t: SystemTime) -> String {
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        let mut days = secs / 86_400;
        let mut year = 1970;
        loop {
            let len = if leap(year) { 366 } else { 365 };
            if days < len {
                break;
            }
            days -= len;
            year += 1;
        }
        let month_days = [
            31,
            if leap(year) { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let mut month = 0;
        while days >= month_days[month] {
            days -= month_days[month];
            month += 1;
        }
        let rem = secs % 86_400;
        format!(
            "{year:04}{:02}{:02}T{:02}{:02}{:02}Z",
            month + 1,
            days + 1,
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )
    }
}
