//! Pagination tokens: Secrets Manager's NextToken (and the ListSecrets position it names),
//! Parameter Store's operation-tagged NextToken, KMS's Marker and grant tokens.
//!
//! Input: a token (text). Properties: nothing panics; a token that decodes re-encodes to
//! itself (tokens are canonical base64url, so no two tokens name one cursor); anything encoded
//! decodes back to itself, and a Parameter Store token of one operation is refused by another.
#![no_main]

use coffer_service::fuzzing as f;
use libfuzzer_sys::fuzz_target;

const SSM_OPS: [&str; 4] = [
    "GetParametersByPath",
    "DescribeParameters",
    "GetParameterHistory",
    "GetResourcePolicies",
];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };

    // Decoding what a client sends.
    if let Ok(text) = f::secretsmanager_decode_token(token) {
        assert_eq!(f::secretsmanager_encode_token(&text), token);
    }
    let _ = f::secretsmanager_list_position(Some(token), None);
    for sort in 0..4u8 {
        for descending in [false, true] {
            let _ = f::secretsmanager_list_position(Some(token), Some((sort, descending)));
        }
    }
    for op in SSM_OPS {
        if let Ok(Some(cursor)) = f::ssm_decode_token(op, Some(token)) {
            assert_eq!(f::ssm_encode_token(op, &cursor), token);
        }
    }
    if let Ok(Some(cursor)) = f::kms_decode_marker(Some(token)) {
        assert_eq!(f::kms_encode_marker(Some(cursor)).as_deref(), Some(token));
    }
    let _ = f::kms_parse_grant_token(token);

    // Encoding what coffer would put in a token, then decoding it.
    let sm = f::secretsmanager_encode_token(token);
    assert_eq!(f::secretsmanager_decode_token(&sm).as_deref(), Ok(token));
    let _ = f::secretsmanager_list_position(Some(&sm), None);
    for (i, op) in SSM_OPS.iter().enumerate() {
        let t = f::ssm_encode_token(op, token);
        assert_eq!(
            f::ssm_decode_token(op, Some(&t)),
            Ok(Some(token.to_owned()))
        );
        let other = SSM_OPS[(i + 1) % SSM_OPS.len()];
        assert!(
            f::ssm_decode_token(other, Some(&t)).is_err(),
            "{op} token taken by {other}"
        );
    }
    let m = f::kms_encode_marker(Some(token.to_owned())).expect("some");
    assert_eq!(f::kms_decode_marker(Some(&m)), Ok(Some(token.to_owned())));
    if !token.contains('|') {
        let id = "a".repeat(64);
        let g = f::kms_grant_token(token, &id).expect("grant token");
        assert_eq!(f::kms_parse_grant_token(&g), Ok((token.to_owned(), id)));
    }
});
