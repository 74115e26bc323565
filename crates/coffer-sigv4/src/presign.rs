//! Presigned requests: the signature travels in the query string (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`)
//! instead of an `Authorization` header.

use crate::auth_header::{parse_credential, split_signed_headers};
use crate::canonical::Request;
use crate::signing::{ALGORITHM, SigningKey};
use crate::uri::{decode_query_component, query_pairs};
use crate::verify::{
    bad_date_format, check_scope_date, check_signature, host_not_signed, is_signed,
};
use crate::{Authorization, Error, MAX_SKEW_SECS, time};

/// The longest validity a presigned request may ask for: one week, as in AWS.
pub const MAX_PRESIGN_EXPIRES_SECS: u32 = 604_800;

const MISSING_PARAMS: &str = "AWS query-string parameters must include 'X-Amz-Algorithm', \
     'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and \
     'X-Amz-Expires'. Re-examine the query-string parameters.";

/// The signing parameters of a presigned request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// Credential, signed headers and signature, as for a header-signed request.
    pub auth: Authorization,
    /// `X-Amz-Date`, ISO-8601 basic (validated by [`parse_presigned`]).
    pub amz_date: String,
    /// `X-Amz-Expires`, in seconds (at most [`MAX_PRESIGN_EXPIRES_SECS`]).
    pub expires_secs: u32,
}

#[derive(Default)]
struct Params {
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    signed_headers: Option<String>,
    signature: Option<String>,
}

/// Reads the presigning parameters from a raw query string.
///
/// `Ok(None)` means the query carries no signature at all (no `X-Amz-Algorithm`,
/// `X-Amz-Credential` or `X-Amz-Signature`), so the request is not presigned. Malformed or
/// partial parameters are [`Error::Incomplete`] (or [`Error::ScopeMismatch`] for a bad
/// credential terminator).
pub fn parse_presigned(query: &str) -> Result<Option<Presigned>, Error> {
    let mut params = Params::default();
    for (raw_key, raw_value) in query_pairs(query) {
        let slot = match decode_query_component(raw_key).as_ref() {
            "X-Amz-Algorithm" => &mut params.algorithm,
            "X-Amz-Credential" => &mut params.credential,
            "X-Amz-Date" => &mut params.date,
            "X-Amz-Expires" => &mut params.expires,
            "X-Amz-SignedHeaders" => &mut params.signed_headers,
            "X-Amz-Signature" => &mut params.signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(decode_query_component(raw_value).into_owned());
        }
    }
    if params.algorithm.is_none() && params.credential.is_none() && params.signature.is_none() {
        return Ok(None);
    }
    if let Some(algorithm) = params.algorithm.as_deref()
        && algorithm != ALGORITHM
    {
        return Err(Error::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'"
        )));
    }
    let (
        Some(_),
        Some(credential),
        Some(date),
        Some(expires),
        Some(signed_headers),
        Some(signature),
    ) = (
        params.algorithm,
        params.credential,
        params.date,
        params.expires,
        params.signed_headers,
        params.signature,
    )
    else {
        return Err(Error::Incomplete(MISSING_PARAMS.to_owned()));
    };

    for (name, value) in [
        ("X-Amz-Credential", &credential),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Signature", &signature),
    ] {
        if !header_expressible(value) {
            return Err(Error::Incomplete(format!(
                "{name} must hold only visible ASCII characters other than ','. Re-examine the \
                 query-string parameters."
            )));
        }
    }
    let [access_key_id, scope_date, region, service] = parse_credential(&credential)?;
    if time::parse_amz_date(&date).is_none() {
        return Err(bad_date_format(&date));
    }
    let expires_secs = parse_expires(&expires)?;
    Ok(Some(Presigned {
        auth: Authorization {
            access_key_id: access_key_id.to_owned(),
            date: scope_date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            signed_headers: split_signed_headers(&signed_headers),
            signature: signature.clone(),
        },
        amz_date: date,
        expires_secs,
    }))
}

/// Whether the `Authorization` header form could carry `value` in a parameter: visible ASCII
/// but the comma. Query parameters are percent-decoded, so without this check a presigned
/// request could name a signed header with a CR or a space in it, or a signature with bytes
/// lost to lossy UTF-8 decoding, that no header form can express (found by fuzzing).
fn header_expressible(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

fn parse_expires(value: &str) -> Result<u32, Error> {
    let incomplete = |m: &str| Err(Error::Incomplete(m.to_owned()));
    match value.parse::<i64>() {
        Err(_) => incomplete("X-Amz-Expires should be a number"),
        Ok(n) if n < 0 => incomplete("X-Amz-Expires must be non-negative"),
        Ok(n) => match u32::try_from(n) {
            Ok(n) if n <= MAX_PRESIGN_EXPIRES_SECS => Ok(n),
            _ => incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800"),
        },
    }
}

/// Verifies a presigned request.
///
/// `key` must be derived for `presigned.auth`'s date, region and service. Checks that the scope
/// date matches `X-Amz-Date`, that `host` is signed, that the request is not dated more than 15
/// minutes in the future ([`Error::Expired`]) and not used after `X-Amz-Date + X-Amz-Expires`
/// ([`Error::PresignExpired`]), then compares the signature over the canonical request (whose
/// query leaves out `X-Amz-Signature`) in constant time.
pub fn verify_presigned(
    presigned: &Presigned,
    req: &Request<'_>,
    key: &SigningKey,
    now_unix: i64,
) -> Result<(), Error> {
    let auth = &presigned.auth;
    let amz_date = presigned.amz_date.as_str();
    let Some(signed_at) = time::parse_amz_date(amz_date) else {
        return Err(bad_date_format(amz_date));
    };
    check_scope_date(&auth.date, amz_date)?;
    if !is_signed(&auth.signed_headers, "host") {
        return Err(host_not_signed());
    }
    if signed_at - now_unix > MAX_SKEW_SECS {
        return Err(Error::Expired {
            request_time: amz_date.to_owned(),
            now: time::format_amz_date(now_unix).as_str().to_owned(),
        });
    }
    let expires_at = signed_at + i64::from(presigned.expires_secs);
    if now_unix > expires_at {
        return Err(Error::PresignExpired {
            expires_at: time::format_amz_date(expires_at).as_str().to_owned(),
            now: time::format_amz_date(now_unix).as_str().to_owned(),
        });
    }
    check_signature(auth, req, key, amz_date, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d";

    #[test]
    fn parses_presigned_parameters() {
        let p = parse_presigned(QUERY).unwrap().unwrap();
        assert_eq!(p.auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(p.auth.scope(), "20150830/us-east-1/service/aws4_request");
        assert_eq!(p.auth.signed_headers, ["host"]);
        assert_eq!(p.amz_date, "20150830T123600Z");
        assert_eq!(p.expires_secs, 3600);
    }

    #[test]
    fn fields_the_header_form_cannot_carry_are_refused() {
        for (from, to) in [
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%0D"),
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host+x"),
            ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=host%2Cx"),
            ("X-Amz-Signature=e9", "X-Amz-Signature=%FFe9"),
            ("AKIDEXAMPLE", "AKID%20EXAMPLE"),
        ] {
            let q = QUERY.replace(from, to);
            let e = parse_presigned(&q).unwrap_err();
            assert!(
                e.message().contains("must hold only visible ASCII"),
                "{q}: {e:?}"
            );
        }
        // A bad escape stays literal, as in the header form.
        let q = QUERY.replace("AKIDEXAMPLE", "AKID%zz");
        assert_eq!(
            parse_presigned(&q).unwrap().unwrap().auth.access_key_id,
            "AKID%zz"
        );
    }

    #[test]
    fn unsigned_query_is_not_presigned() {
        assert_eq!(parse_presigned(""), Ok(None));
        assert_eq!(
            parse_presigned("Action=GetCallerIdentity&X-Amz-Date=x"),
            Ok(None)
        );
    }

    #[test]
    fn partial_or_bad_parameters_are_incomplete() {
        let partial = QUERY.replace("&X-Amz-Expires=3600", "");
        assert_eq!(
            parse_presigned(&partial),
            Err(Error::Incomplete(MISSING_PARAMS.to_owned()))
        );
        let sha1 = QUERY.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1");
        assert_eq!(
            parse_presigned(&sha1).unwrap_err().message(),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'"
        );
        for (expires, message) in [
            ("abc", "X-Amz-Expires should be a number"),
            ("-1", "X-Amz-Expires must be non-negative"),
            (
                "604801",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ),
        ] {
            let q = QUERY.replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={expires}"));
            assert_eq!(parse_presigned(&q).unwrap_err().message(), message);
        }
    }
}
