//! The KMS ciphertext blob (`coffer_crypto::blob`): `BlobHeader::parse` and `decrypt` on
//! arbitrary bytes, `encrypt` -> `parse`/`decrypt` round trips.
//!
//! Input: the blob. Properties: nothing panics; a parsed header is a prefix of the blob, and a
//! blob made with `encrypt` for that header starts with the same bytes and parses back to it;
//! arbitrary bytes never decrypt under a key they were not made with; what `encrypt` makes,
//! `decrypt` opens with the same context and refuses with another.
#![no_main]

use coffer_crypto::CryptoError;
use coffer_crypto::blob::{self, BlobHeader, EncryptionContext};
use coffer_types::SecretBytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let material = SecretBytes::new(vec![7u8; 32]);
    let context: EncryptionContext = [(
        "SecretARN".to_owned(),
        "arn:aws:secretsmanager:x".to_owned(),
    )]
    .into_iter()
    .collect();

    // Forged or mangled input: never opens.
    assert!(blob::decrypt(&material, data, &context).is_err());
    assert!(blob::decrypt(&material, data, &EncryptionContext::new()).is_err());

    let header = match BlobHeader::parse(data) {
        Ok((header, len)) => {
            assert!(len <= data.len());
            assert_eq!(len, 2 + header.key_arn.len() + 4);
            header
        }
        Err(e) => {
            assert_eq!(e, CryptoError::InvalidCiphertext);
            // Still exercise the round trip with a header made of the input.
            let text = String::from_utf8_lossy(&data[..data.len().min(255)]);
            let mut arn = text.into_owned();
            while arn.len() > 255 {
                arn.pop();
            }
            BlobHeader {
                key_arn: arn,
                material_version: data.len() as u32,
            }
        }
    };

    // Round trip, with the context taken from the input.
    let mut ctx = EncryptionContext::new();
    for pair in String::from_utf8_lossy(data).split('&').take(8) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        ctx.insert(k.to_owned(), v.to_owned());
    }
    let made = blob::encrypt(&material, &header, &ctx, data).expect("encrypt");
    let (back, len) = BlobHeader::parse(&made).expect("own blob parses");
    assert_eq!(back, header);
    if let Ok((_, n)) = BlobHeader::parse(data) {
        assert_eq!(&made[..n], &data[..n], "header bytes differ");
    }
    assert!(len < made.len());
    let opened = blob::decrypt(&material, &made, &ctx).expect("own blob opens");
    assert_eq!(opened.expose(), data);
    let mut other = ctx.clone();
    let mut extra = "extra".to_owned();
    while other.contains_key(&extra) {
        extra.push('+');
    }
    other.insert(extra, String::new());
    assert!(
        blob::decrypt(&material, &made, &other).is_err(),
        "context not bound"
    );
    let mut flipped = made.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert!(
        blob::decrypt(&material, &flipped, &ctx).is_err(),
        "tag not checked"
    );
});
