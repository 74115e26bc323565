//! Parsing the `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
//! header.

use crate::Error;
use crate::signing::{ALGORITHM, TERMINATOR};

/// A parsed SigV4 `Authorization` header (or the equivalent presigned query parameters).
///
/// Nothing here is secret: the signature is an HMAC output the client sends in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id, first element of `Credential`.
    pub access_key_id: String,
    /// The credential scope date, `YYYYMMDD`.
    pub date: String,
    /// The credential scope region, e.g. `us-east-1`.
    pub region: String,
    /// The credential scope service, e.g. `secretsmanager`.
    pub service: String,
    /// `SignedHeaders`, split on `;`, as the client gave them (lowercase, sorted, if it follows
    /// the spec: the canonical request uses them in this order).
    pub signed_headers: Vec<String>,
    /// `Signature`, as the client gave it (lowercase hex if it follows the spec).
    pub signature: String,
}

impl Authorization {
    /// The credential scope, `date/region/service/aws4_request`.
    #[must_use]
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

impl std::fmt::Display for Authorization {
    /// The header value this was parsed from (modulo whitespace), as AWS echoes it in errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.access_key_id,
            self.scope(),
            self.signed_headers.join(";"),
            self.signature
        )
    }
}

/// Splits `Credential`'s `keyid/date/region/service/aws4_request` and checks its shape.
pub(crate) fn parse_credential(credential: &str) -> Result<[&str; 4], Error> {
    let mut parts = credential.split('/');
    let mut fields = [""; 5];
    let mut count = 0;
    for part in parts.by_ref() {
        if count == fields.len() {
            count += 1;
            break;
        }
        fields[count] = part;
        count += 1;
    }
    if count != 5 {
        return Err(Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    }
    let [access_key_id, date, region, service, terminator] = fields;
    if terminator != TERMINATOR {
        return Err(Error::ScopeMismatch(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
             '{terminator}'. "
        )));
    }
    Ok([access_key_id, date, region, service])
}

/// Parses an `Authorization` header value.
///
/// Like AWS, the parameters may be separated by commas and/or whitespace, and their order does
/// not matter. Errors carry AWS's wording:
/// - a value that is not `AWS4-HMAC-SHA256 …`: "Unsupported AWS 'algorithm': '…'";
/// - a token without `=`: "'…' not a valid key=value pair (missing equal-sign) in Authorization
///   header: '…'.";
/// - missing parameters: "Authorization header requires 'Credential' parameter. … Authorization=…";
/// - a `Credential` that is not five `/`-separated elements, or whose terminator is not
///   `aws4_request`.
pub fn parse_authorization(header_value: &str) -> Result<Authorization, Error> {
    // ASCII whitespace only, the same the parameters are split on: `str::trim` would also drop a
    // trailing vertical tab or U+3000 that the split keeps (found by fuzzing).
    let header = header_value.trim_matches(|c: char| c.is_ascii_whitespace());
    if header.is_empty() {
        return Err(Error::Missing);
    }
    // A single token (a bearer token, say) is "no parameters" rather than an unknown algorithm:
    // that is how AWS answers it.
    let (algorithm, params) = header
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((ALGORITHM, ""));
    if algorithm != ALGORITHM {
        return Err(Error::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for token in params
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        let Some((key, value)) = token.split_once('=') else {
            return Err(Error::Incomplete(format!(
                "'{token}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{header}'."
            )));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            // AWS ignores parameters it does not know.
            _ => continue,
        };
        slot.get_or_insert(value);
    }

    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        let mut message = String::new();
        for (name, present) in [
            ("Credential", credential.is_some()),
            ("Signature", signature.is_some()),
            ("SignedHeaders", signed_headers.is_some()),
        ] {
            if !present {
                message.push_str("Authorization header requires '");
                message.push_str(name);
                message.push_str("' parameter. ");
            }
        }
        message.push_str("Authorization=");
        message.push_str(header);
        return Err(Error::Incomplete(message));
    };

    let [access_key_id, date, region, service] = parse_credential(credential)?;
    Ok(Authorization {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_owned(),
    })
}

/// `SignedHeaders` split on `;`; an empty value is an empty list.
pub(crate) fn split_signed_headers(value: &str) -> Vec<String> {
    value
        .split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    #[test]
    fn parses_the_sdk_form() {
        let auth = parse_authorization(GOOD).unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.date, "20150830");
        assert_eq!(auth.region, "us-east-1");
        assert_eq!(auth.service, "service");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(
            auth.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(auth.scope(), "20150830/us-east-1/service/aws4_request");
        assert_eq!(auth.to_string(), GOOD);
    }

    #[test]
    fn separators_and_order_are_lenient() {
        let auth = parse_authorization(
            "  AWS4-HMAC-SHA256   Signature=ab,SignedHeaders=host,\tCredential=K/20150830/r/s/aws4_request ",
        )
        .unwrap();
        assert_eq!(auth.access_key_id, "K");
        assert_eq!(auth.signature, "ab");
        assert_eq!(auth.signed_headers, ["host"]);
    }

    #[test]
    fn trimmed_as_split_ascii_whitespace_only() {
        let auth =
            parse_authorization("AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, Signature=ab\u{b}")
                .unwrap();
        assert_eq!(auth.signature, "ab\u{b}");
        assert_eq!(parse_authorization(&auth.to_string()), Ok(auth));
    }

    #[test]
    fn empty_header_is_missing() {
        assert_eq!(parse_authorization("  "), Err(Error::Missing));
    }
}
