//! The canonical request: the exact bytes both sides hash before signing.
//!
//! The same writer feeds either a `String` (for [`canonical_request`], tests and debugging) or a
//! SHA-256 context directly (for [`crate::verify()`]), so the hot path never builds the string and
//! the two can't disagree.

use aws_lc_rs::digest;

use crate::Error;
use crate::uri;

/// One request as the server received it.
///
/// Everything is raw: `path` and `query` exactly as they appeared in the request target (still
/// percent-encoded, no `?`), header names in any case, repeated headers as separate entries in
/// arrival order. For HTTP/2, pass the `:authority` as a `host` header.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The raw path, e.g. `/` or `/a%3Ab/c`.
    pub path: &'a str,
    /// The raw query string without the leading `?`, or `""`.
    pub query: &'a str,
    /// All request headers, `(name, value)`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Lowercase hex SHA-256 of the body the server actually received. Never the client's
    /// `x-amz-content-sha256`: trusting that would let a body be swapped under a valid signature.
    pub payload_sha256_hex: &'a str,
}

impl std::fmt::Debug for Request<'_> {
    /// Header values are left out: they include the `Authorization` header and session tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &names)
            .field("payload_sha256_hex", &self.payload_sha256_hex)
            .finish()
    }
}

impl<'a> Request<'a> {
    /// Values of every header called `name` (any case), in arrival order.
    pub(crate) fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The first value of header `name`, if any.
    pub(crate) fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// Somewhere to write the canonical request to.
pub(crate) trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// SHA-256 of everything written, buffered so that the many tiny writes the canonicaliser makes
/// (a `:`, a `\n`, a `%2F`) don't each cost a call into the hash.
pub(crate) struct HashSink {
    ctx: digest::Context,
    buf: [u8; 256],
    len: usize,
}

impl HashSink {
    pub(crate) fn new() -> Self {
        Self {
            ctx: digest::Context::new(&digest::SHA256),
            buf: [0; 256],
            len: 0,
        }
    }

    pub(crate) fn finish(mut self) -> digest::Digest {
        self.ctx.update(&self.buf[..self.len]);
        self.ctx.finish()
    }
}

impl Sink for HashSink {
    fn put(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > self.buf.len() {
            self.ctx.update(&self.buf[..self.len]);
            self.len = 0;
            if bytes.len() > self.buf.len() {
                self.ctx.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// Writes one header value with leading and trailing spaces removed and runs of spaces collapsed
/// to one. Only spaces, as the SDKs do: tabs and other whitespace are signed as they are.
fn put_trimmed_value(sink: &mut impl Sink, value: &str) {
    for (i, word) in value.split(' ').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            sink.put(" ");
        }
        sink.put(word);
    }
}

/// Writes the whole canonical request for `req`, signing `signed_headers` (as the client listed
/// them). `presigned` leaves `X-Amz-Signature` out of the canonical query.
pub(crate) fn write_canonical(
    sink: &mut impl Sink,
    req: &Request<'_>,
    signed_headers: &[String],
    presigned: bool,
) -> Result<(), Error> {
    sink.put(req.method);
    sink.put("\n");
    uri::put_canonical_uri(sink, req.path);
    sink.put("\n");
    uri::put_canonical_query(sink, req.query, presigned);
    sink.put("\n");
    for name in signed_headers {
        sink.put(name);
        sink.put(":");
        let mut found = false;
        for value in req.header_values(name) {
            if found {
                sink.put(",");
            }
            found = true;
            put_trimmed_value(sink, value);
        }
        if !found {
            return Err(Error::Incomplete(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )));
        }
        sink.put("\n");
    }
    sink.put("\n");
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            sink.put(";");
        }
        sink.put(name);
    }
    sink.put("\n");
    sink.put(req.payload_sha256_hex);
    Ok(())
}

/// The canonical request for `req` with the given signed headers (lowercase, in the order the
/// client listed them in `SignedHeaders`), as in AWS's "Create a canonical request" step.
///
/// Fails with [`Error::Incomplete`] if a signed header is absent from the request.
pub fn canonical_request(req: &Request<'_>, signed_headers: &[String]) -> Result<String, Error> {
    let mut out = String::with_capacity(256);
    write_canonical(&mut out, req, signed_headers, false)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_sink_matches_one_shot_digest() {
        let long = "x".repeat(1000);
        let pieces = ["a", "", "bc", long.as_str(), "d", &long[..255], "e"];
        let mut sink = HashSink::new();
        let mut whole = String::new();
        for p in pieces {
            sink.put(p);
            whole.push_str(p);
        }
        let one_shot = digest::digest(&digest::SHA256, whole.as_bytes());
        assert_eq!(sink.finish().as_ref(), one_shot.as_ref());
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let headers = [
            ("Host", "example.com"),
            ("My-Header", "  a   b  "),
            ("my-header", "c"),
            ("X-Tab", "\tt\t"),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            payload_sha256_hex: "e3b0",
        };
        let signed = [
            "host".to_owned(),
            "my-header".to_owned(),
            "x-tab".to_owned(),
        ];
        let creq = canonical_request(&req, &signed).unwrap();
        assert_eq!(
            creq,
            "GET\n/\n\nhost:example.com\nmy-header:a b,c\nx-tab:\tt\t\n\nhost;my-header;x-tab\ne3b0"
        );
    }

    #[test]
    fn missing_signed_header_is_reported_like_aws() {
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &[("host", "h")],
            payload_sha256_hex: "",
        };
        let err = canonical_request(&req, &["accept".to_owned()]).unwrap_err();
        assert_eq!(
            err.message(),
            "'accept' is named as a SignedHeader, but it does not exist in the HTTP request."
        );
    }

    #[test]
    fn debug_hides_header_values() {
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &[("x-amz-security-token", "SECRET-TOKEN")],
            payload_sha256_hex: "",
        };
        let shown = format!("{req:?}");
        assert!(shown.contains("x-amz-security-token"));
        assert!(!shown.contains("SECRET-TOKEN"));
    }
}
