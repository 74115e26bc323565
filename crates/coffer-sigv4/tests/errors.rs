//! Every error, with the exact text AWS answers.
#![allow(clippy::unwrap_used)]

use coffer_sigv4::{
    Authorization, Error, Request, canonical_request, check_scope, derive_signing_key,
    parse_authorization, request_time, sign, string_to_sign, verify,
};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const VANILLA: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
/// 2015-08-30T12:36:00Z, the time of AWS's test-suite requests.
const T0: i64 = 1_440_938_160;

fn vanilla_headers(date: &'static str) -> [(&'static str, &'static str); 2] {
    [("Host", "example.amazonaws.com"), ("X-Amz-Date", date)]
}

fn request<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
    Request {
        method: "GET",
        path: "/",
        query: "",
        headers,
        payload_sha256_hex: EMPTY_SHA256,
    }
}

fn incomplete(header: &str) -> String {
    match parse_authorization(header) {
        Err(Error::Incomplete(message)) => message,
        other => panic!("expected Incomplete for {header:?}, got {other:?}"),
    }
}

fn vanilla_key() -> coffer_sigv4::SigningKey {
    derive_signing_key(SECRET, "20150830", "us-east-1", "service")
}

#[test]
fn missing_parameters() {
    let header = "AWS4-HMAC-SHA256 Credential=ABCDEF";
    assert_eq!(
        incomplete(header),
        "Authorization header requires 'Signature' parameter. Authorization header requires \
         'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=ABCDEF"
    );
    let header = "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc";
    assert_eq!(
        incomplete(header),
        format!("Authorization header requires 'Credential' parameter. Authorization={header}")
    );
    // A bearer token is answered as "no parameters at all", as AWS does.
    assert_eq!(
        incomplete("eyJhbGciOiJIUzI1NiJ9.e30.sig"),
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
         Authorization=eyJhbGciOiJIUzI1NiJ9.e30.sig"
    );
}

#[test]
fn nothing_to_verify_is_missing() {
    assert_eq!(parse_authorization(""), Err(Error::Missing));
    assert_eq!(Error::Missing.message(), "Missing Authentication Token");
}

#[test]
fn token_without_equal_sign() {
    let header = "AWS4-HMAC-SHA256 Credential=AKIAXXXXXXXXXX /20150620/us-east-1/cloudformation/aws4_request, SignedHeaders=host;x-amz-date, Signature=240c";
    assert_eq!(
        incomplete(header),
        format!(
            "'/20150620/us-east-1/cloudformation/aws4_request' not a valid key=value pair \
             (missing equal-sign) in Authorization header: '{header}'."
        )
    );
}

#[test]
fn wrong_algorithm() {
    assert_eq!(
        incomplete(
            "AWS4-HMAC-SHA512 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=00"
        ),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"
    );
    assert_eq!(
        incomplete("AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
        "Unsupported AWS 'algorithm': 'AWS'"
    );
}

#[test]
fn malformed_credential() {
    let header = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/aws4_request, SignedHeaders=host, Signature=00";
    assert_eq!(
        incomplete(header),
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKID/20150830/us-east-1/aws4_request'"
    );
    let header = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request/x, SignedHeaders=host, Signature=00";
    assert!(incomplete(header).starts_with("Credential must have exactly 5"));
    let header = "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws5_request, SignedHeaders=host, Signature=00";
    assert_eq!(
        parse_authorization(header),
        Err(Error::ScopeMismatch(
            "Credential should be scoped with a valid terminator: 'aws4_request', not \
             'aws5_request'. "
                .to_owned()
        ))
    );
}

#[test]
fn scope_date_mismatch() {
    let auth = parse_authorization(&VANILLA.replace("/20150830/", "/20150831/")).unwrap();
    let headers = vanilla_headers("20150830T123600Z");
    let key = derive_signing_key(SECRET, "20150831", "us-east-1", "service");
    assert_eq!(
        verify(&auth, &request(&headers), &key, T0),
        Err(Error::ScopeMismatch(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '20150831' != '20150830', from '20150830T123600Z'."
                .to_owned()
        ))
    );
}

#[test]
fn wrong_region_or_service() {
    let auth = parse_authorization(VANILLA).unwrap();
    assert_eq!(check_scope(&auth, "us-east-1", "service"), Ok(()));
    assert_eq!(
        check_scope(&auth, "eu-west-1", "service")
            .unwrap_err()
            .message(),
        "Credential should be scoped to a valid region, not 'us-east-1'. "
    );
    assert_eq!(
        check_scope(&auth, "us-east-1", "secretsmanager")
            .unwrap_err()
            .message(),
        "Credential should be scoped to correct service: 'secretsmanager'. "
    );
}

#[test]
fn expired_in_the_past() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = vanilla_headers("20150830T123600Z");
    let now = T0 + 30 * 60; // 13:06:00
    let err = verify(&auth, &request(&headers), &vanilla_key(), now).unwrap_err();
    assert_eq!(
        err,
        Error::Expired {
            request_time: "20150830T123600Z".to_owned(),
            now: "20150830T130600Z".to_owned()
        }
    );
    assert_eq!(
        err.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T125100Z \
         (20150830T130600Z - 15 min.)"
    );
}

#[test]
fn expired_in_the_future() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = vanilla_headers("20150830T123600Z");
    let now = T0 - 30 * 60; // 12:06:00, so the request is 30 minutes ahead
    let err = verify(&auth, &request(&headers), &vanilla_key(), now).unwrap_err();
    assert_eq!(
        err.message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T122100Z \
         (20150830T120600Z + 15 min.)"
    );
    // The example from the brief, the other way round.
    let err = Error::Expired {
        request_time: "20150830T130600Z".to_owned(),
        now: "20150830T123600Z".to_owned(),
    };
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20150830T130600Z is still later than 20150830T125100Z \
         (20150830T123600Z + 15 min.)"
    );
}

#[test]
fn skew_of_exactly_fifteen_minutes_is_allowed() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = vanilla_headers("20150830T123600Z");
    for now in [T0 - 900, T0 + 900] {
        assert_eq!(
            verify(&auth, &request(&headers), &vanilla_key(), now),
            Ok(())
        );
    }
    for now in [T0 - 901, T0 + 901] {
        assert!(matches!(
            verify(&auth, &request(&headers), &vanilla_key(), now),
            Err(Error::Expired { .. })
        ));
    }
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = vanilla_headers("20150830T123600Z");
    let key = derive_signing_key(
        b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
        "20150830",
        "us-east-1",
        "service",
    );
    let err = verify(&auth, &request(&headers), &key, T0).unwrap_err();
    assert_eq!(err, Error::Mismatch);
    assert_eq!(
        err.message(),
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    );
}

#[test]
fn malformed_signatures_are_mismatches() {
    let headers = vanilla_headers("20150830T123600Z");
    let good = parse_authorization(VANILLA).unwrap();
    for signature in [
        "",
        "5fa0",
        &good.signature.to_uppercase(),
        &format!("{}00", good.signature),
    ] {
        let auth = Authorization {
            signature: signature.to_owned(),
            ..good.clone()
        };
        assert_eq!(
            verify(&auth, &request(&headers), &vanilla_key(), T0),
            Err(Error::Mismatch),
            "{signature}"
        );
    }
}

#[test]
fn no_date_header() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = [("Host", "example.amazonaws.com")];
    let expected = format!(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization={VANILLA}"
    );
    assert_eq!(
        verify(&auth, &request(&headers), &vanilla_key(), T0),
        Err(Error::Incomplete(expected))
    );
    assert_eq!(
        request_time(&request(&headers)),
        Err(Error::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .to_owned()
        ))
    );
}

#[test]
fn malformed_date() {
    let auth = parse_authorization(VANILLA).unwrap();
    let headers = vanilla_headers("2015-08-30T12:36:00Z");
    assert_eq!(
        verify(&auth, &request(&headers), &vanilla_key(), T0),
        Err(Error::Incomplete(
            "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
                .to_owned()
        ))
    );
}

#[test]
fn host_and_date_must_be_signed() {
    let headers = vanilla_headers("20150830T123600Z");
    let auth = parse_authorization(
        &VANILLA.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date"),
    )
    .unwrap();
    assert_eq!(
        verify(&auth, &request(&headers), &vanilla_key(), T0),
        Err(Error::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned()
        ))
    );
    let auth = parse_authorization(
        &VANILLA.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host"),
    )
    .unwrap();
    assert_eq!(
        verify(&auth, &request(&headers), &vanilla_key(), T0),
        Err(Error::Incomplete(
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.".to_owned()
        ))
    );
}

#[test]
fn date_header_fallback() {
    // Signed with only a `Date` header: the string to sign carries its ISO-8601 basic form, and
    // `Date` itself need not be signed.
    let headers = [
        ("Host", "example.amazonaws.com"),
        ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
    ];
    let req = request(&headers);
    let signed_headers = vec!["host".to_owned()];
    let creq = canonical_request(&req, &signed_headers).unwrap();
    let sts = string_to_sign(
        "20150830T123600Z",
        "20150830/us-east-1/service/aws4_request",
        &creq,
    );
    let signature = sign(&vanilla_key(), &sts);
    let auth = parse_authorization(&format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host, Signature={signature}"
    ))
    .unwrap();
    assert_eq!(request_time(&req), Ok(T0));
    assert_eq!(verify(&auth, &req, &vanilla_key(), T0), Ok(()));

    // X-Amz-Date wins over Date when both are present.
    let headers = [
        ("Host", "example.amazonaws.com"),
        ("Date", "Mon, 31 Aug 2015 00:00:00 GMT"),
        ("x-amz-date", "20150830T123600Z"),
    ];
    assert_eq!(request_time(&request(&headers)), Ok(T0));
}
