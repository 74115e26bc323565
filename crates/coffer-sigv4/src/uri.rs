//! Canonical URI and canonical query string.
//!
//! Both work on the raw request target as it came off the wire (still percent-encoded), because
//! that is what the client's signer saw: the SDKs build the URI first and sign that.

use std::borrow::Cow;

use crate::canonical::Sink;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// RFC 3986 unreserved characters: the only bytes SigV4 leaves unencoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `%XX` for one byte, as a stack string.
fn percent_byte(b: u8) -> [u8; 3] {
    [
        b'%',
        HEX_UPPER[usize::from(b >> 4)],
        HEX_UPPER[usize::from(b & 0xF)],
    ]
}

fn put_percent_byte(sink: &mut impl Sink, b: u8) {
    let enc = percent_byte(b);
    // Three ASCII bytes.
    sink.put(std::str::from_utf8(&enc).unwrap_or("%00"));
}

/// Writes `s` with every byte outside the unreserved set (and `/`, when `keep_slash`)
/// percent-encoded. Runs of bytes that pass through are written as one slice, so hashing sinks
/// see few, larger updates.
fn put_encoded(sink: &mut impl Sink, s: &str, keep_slash: bool) {
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            continue;
        }
        // A non-empty run is all ASCII, so both of its ends are character boundaries (`i` may
        // itself be inside a multi-byte character, which is why empty runs are skipped).
        if run_start < i {
            sink.put(&s[run_start..i]);
        }
        put_percent_byte(sink, b);
        run_start = i + 1;
    }
    if run_start < bytes.len() {
        sink.put(&s[run_start..]);
    }
}

/// Removes `.` and `..` segments and empty segments (`//`), the way the AWS SDKs normalise the
/// path before signing (RFC 3986 section 5.2.4, plus collapsing of repeated slashes). The result
/// always starts with `/`, and keeps a trailing slash if the input had one (or ended in a dot
/// segment, which stands for a directory).
pub(crate) fn normalize_path(path: &str) -> Cow<'_, str> {
    if path.is_empty() {
        return Cow::Borrowed("/");
    }
    if path.starts_with('/') && !path.contains('.') && !path.contains("//") {
        return Cow::Borrowed(path);
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let ends_as_directory = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || (ends_as_directory && !out.ends_with('/')) {
        out.push('/');
    }
    Cow::Owned(out)
}

/// Writes the canonical URI: the normalised path with each segment URI-encoded once more.
///
/// Non-S3 services "double encode": the wire path is already percent-encoded, and the signer
/// encodes it again, so `%3A` on the wire becomes `%253A` in the canonical request and a raw
/// (non-ASCII) byte becomes `%XX`.
pub(crate) fn put_canonical_uri(sink: &mut impl Sink, raw_path: &str) {
    let path = normalize_path(raw_path);
    put_encoded(sink, &path, true);
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Re-encodes one query key or value into canonical form: decoded once (`%XX` and `+` as space,
/// as form decoding does), then encoded with uppercase hex for everything but unreserved
/// characters. Borrowed when the input is already canonical, which is the common case.
pub(crate) fn canonical_query_component(raw: &str) -> Cow<'_, str> {
    if raw.bytes().all(is_unreserved) {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let decoded = match b {
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        i += 2;
                        (hi << 4) | lo
                    }
                    // A stray '%' stands for itself.
                    _ => b'%',
                }
            }
            b'+' => b' ',
            other => other,
        };
        if is_unreserved(decoded) {
            out.push(char::from(decoded));
        } else {
            let enc = percent_byte(decoded);
            for c in enc {
                out.push(char::from(c));
            }
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Percent-decodes a query component (`%XX`, and `+` as space) for reading parameter values.
/// Invalid UTF-8 in the result is replaced, which only matters for values that are wrong anyway.
pub(crate) fn decode_query_component(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw);
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi << 4) | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Splits a raw query into `(key, value)` pairs: `&`-separated, empty pieces skipped, a piece
/// without `=` has an empty value.
pub(crate) fn query_pairs(raw_query: &str) -> impl Iterator<Item = (&str, &str)> {
    raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
}

/// Writes the canonical query string: every parameter re-encoded canonically, sorted by encoded
/// key then encoded value, joined with `&`. With `skip_signature`, `X-Amz-Signature` is left out
/// (a presigned URL cannot sign its own signature).
pub(crate) fn put_canonical_query(sink: &mut impl Sink, raw_query: &str, skip_signature: bool) {
    if raw_query.is_empty() {
        return;
    }
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = query_pairs(raw_query)
        .map(|(k, v)| (canonical_query_component(k), canonical_query_component(v)))
        .filter(|(k, _)| !(skip_signature && k == "X-Amz-Signature"))
        .collect();
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            sink.put("&");
        }
        sink.put(k);
        sink.put("=");
        sink.put(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str) -> String {
        let mut s = String::new();
        put_canonical_uri(&mut s, path);
        s
    }

    fn query(q: &str) -> String {
        let mut s = String::new();
        put_canonical_query(&mut s, q, false);
        s
    }

    #[test]
    fn paths_normalise_like_the_sdks() {
        for (input, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/.", "/"),
            ("/..", "/"),
            ("/../foo", "/foo"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/foo/bar/.", "/foo/bar/"),
            ("/foo/bar/..", "/foo/"),
            ("/a/b/../c/./d", "/a/c/d"),
            ("foo", "/foo"),
            ("/.hidden/x.y", "/.hidden/x.y"),
        ] {
            assert_eq!(normalize_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn paths_are_encoded_again() {
        assert_eq!(uri("/example space/"), "/example%20space/");
        assert_eq!(uri("/a%3Ab"), "/a%253Ab");
        assert_eq!(uri("/\u{1234}"), "/%E1%88%B4");
        assert_eq!(
            uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(uri("/-._~09AZaz"), "/-._~09AZaz");
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(query(""), "");
        assert_eq!(query("b=2&a=1"), "a=1&b=2");
        assert_eq!(query("a=2&a=1&A=3"), "A=3&a=1&a=2");
        assert_eq!(query("k"), "k=");
        assert_eq!(query("k=&&j"), "j=&k=");
        assert_eq!(query("a+b=c%20d"), "a%20b=c%20d");
        assert_eq!(query("x=%2f%2F/"), "x=%2F%2F%2F");
        assert_eq!(query("x=%7e"), "x=~");
        assert_eq!(query("x=100%"), "x=100%25");
        assert_eq!(query("x=%zz%4"), "x=%25zz%254");
        assert_eq!(
            query("Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2"
        );
        assert_eq!(query("x=\u{1234}"), "x=%E1%88%B4");
    }

    #[test]
    fn presigned_signature_is_skipped() {
        let mut s = String::new();
        put_canonical_query(&mut s, "b=1&X-Amz-Signature=abc&a=2", true);
        assert_eq!(s, "a=2&b=1");
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_query_component("a%2Fb+c"), "a/b c");
        assert_eq!(decode_query_component("plain"), "plain");
        assert_eq!(decode_query_component("50%"), "50%");
    }
}
