//! `Debug` output never contains key material.
#![allow(clippy::unwrap_used)]

use coffer_sigv4::{SigningKey, derive_signing_key};

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Every rendering of the key's bytes a careless `Debug` might produce.
fn renderings(bytes: &[u8; 32]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        format!("{bytes:?}"),
        format!("{:?}", &bytes[..4]),
        bytes[..4]
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    ]
}

#[test]
fn signing_key_debug_is_redacted() {
    let key = derive_signing_key(SECRET, "20150830", "us-east-1", "service");
    for shown in [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{:?}", key.clone()),
    ] {
        assert_eq!(shown, "SigningKey(<redacted>)");
        for leak in renderings(key.as_bytes()) {
            assert!(!shown.contains(&leak), "{shown} contains {leak}");
        }
    }
}

#[test]
fn signing_key_inside_other_types_stays_redacted() {
    #[derive(Debug)]
    #[allow(dead_code)] // Only here to be printed.
    struct Cache {
        entries: Vec<(String, SigningKey)>,
        last: Option<SigningKey>,
    }
    let key = SigningKey::from_bytes([0x5A; 32]);
    let cache = Cache {
        entries: vec![("AKIDEXAMPLE/20150830".to_owned(), key.clone())],
        last: Some(key.clone()),
    };
    let shown = format!("{cache:#?}");
    assert!(shown.contains("SigningKey(<redacted>)"));
    for leak in renderings(key.as_bytes()) {
        assert!(!shown.contains(&leak), "{shown} contains {leak}");
    }
    assert!(!shown.contains("90")); // 0x5A in decimal
}
