//! Checking one `Authorization`-header-signed request.

use subtle::ConstantTimeEq;

use crate::canonical::{self, HashSink, Request};
use crate::signing::{self, Scope, SigningKey};
use crate::time::{self, AmzDate};
use crate::{Authorization, Error, MAX_SKEW_SECS};

const HOST_NOT_SIGNED: &str =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";
const DATE_NOT_SIGNED: &str = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.";

/// Where the request time came from. AWS prefers `X-Amz-Date` and falls back to `Date`.
pub(crate) struct RequestDate<'a> {
    pub(crate) unix: i64,
    /// ISO-8601 basic form, as it goes into the string to sign.
    pub(crate) amz: AmzDateText<'a>,
    pub(crate) from_x_amz_date: bool,
}

/// The basic-format timestamp: borrowed from `X-Amz-Date`, or formatted from a `Date` header.
pub(crate) enum AmzDateText<'a> {
    Borrowed(&'a str),
    Formatted(AmzDate),
}

impl AmzDateText<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            AmzDateText::Borrowed(s) => s,
            AmzDateText::Formatted(d) => d.as_str(),
        }
    }
}

pub(crate) fn bad_date_format(value: &str) -> Error {
    Error::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Finds and parses the request time. `None` when the request has neither header.
fn find_date<'a>(req: &Request<'a>) -> Option<Result<RequestDate<'a>, Error>> {
    if let Some(value) = req.header("x-amz-date") {
        let value = value.trim();
        return Some(match time::parse_amz_date(value) {
            Some(unix) => Ok(RequestDate {
                unix,
                amz: AmzDateText::Borrowed(value),
                from_x_amz_date: true,
            }),
            None => Err(bad_date_format(value)),
        });
    }
    let value = req.header("date")?.trim();
    // Some clients put the basic form in `Date`; accept it as well as the HTTP form.
    Some(
        match time::parse_http_date(value).or_else(|| time::parse_amz_date(value)) {
            Some(unix) => Ok(RequestDate {
                unix,
                amz: AmzDateText::Formatted(time::format_amz_date(unix)),
                from_x_amz_date: false,
            }),
            None => Err(bad_date_format(value)),
        },
    )
}

/// The request time from `X-Amz-Date` (or, failing that, `Date`), as Unix seconds, for callers
/// that want to check skew or key caches before doing anything else.
pub fn request_time(req: &Request<'_>) -> Result<i64, Error> {
    match find_date(req) {
        Some(date) => date.map(|d| d.unix),
        None => Err(Error::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .to_owned(),
        )),
    }
}

pub(crate) fn check_scope_date(scope_date: &str, amz_date: &str) -> Result<(), Error> {
    if amz_date.get(..8) == Some(scope_date) {
        return Ok(());
    }
    let http_date = amz_date.get(..8).unwrap_or(amz_date);
    Err(Error::ScopeMismatch(format!(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '{scope_date}' != '{http_date}', from '{amz_date}'."
    )))
}

pub(crate) fn is_signed(signed_headers: &[String], name: &str) -> bool {
    signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Rejects a request time more than [`MAX_SKEW_SECS`] away from `now_unix`, either way.
pub(crate) fn check_skew(request_unix: i64, amz_date: &str, now_unix: i64) -> Result<(), Error> {
    if (request_unix - now_unix).abs() <= MAX_SKEW_SECS {
        return Ok(());
    }
    Err(Error::Expired {
        request_time: amz_date.to_owned(),
        now: time::format_amz_date(now_unix).as_str().to_owned(),
    })
}

/// Hashes the canonical request, signs it and compares with `signature` in constant time.
pub(crate) fn check_signature(
    auth: &Authorization,
    req: &Request<'_>,
    key: &SigningKey,
    amz_date: &str,
    presigned: bool,
) -> Result<(), Error> {
    let mut sink = HashSink::new();
    canonical::write_canonical(&mut sink, req, &auth.signed_headers, presigned)?;
    let scope = Scope {
        date: &auth.date,
        region: &auth.region,
        service: &auth.service,
    };
    let expected = signing::signature_hex(key, amz_date, &scope, &sink.finish());
    // The length is public (always 64 for a well-formed signature); only the content is compared
    // in constant time.
    if bool::from(expected[..].ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(Error::Mismatch)
    }
}

/// Verifies one request signed with an `Authorization` header.
///
/// `key` must be derived (see [`crate::derive_signing_key`]) from the secret of
/// `auth.access_key_id` for `auth.date`, `auth.region` and `auth.service`; `now_unix` is the
/// server's clock. In order, this checks that:
/// 1. the request has `X-Amz-Date` (or else `Date`) in ISO-8601 basic (or HTTP) form;
/// 2. the credential scope date is that timestamp's date;
/// 3. `host` is signed, and so is `x-amz-date` if that is where the time came from;
/// 4. the time is within 15 minutes of `now_unix`;
/// 5. the signature matches, compared in constant time.
pub fn verify(
    auth: &Authorization,
    req: &Request<'_>,
    key: &SigningKey,
    now_unix: i64,
) -> Result<(), Error> {
    let date = match find_date(req) {
        Some(date) => date?,
        None => {
            return Err(Error::Incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
                 header. Authorization={auth}"
            )));
        }
    };
    let amz_date = date.amz.as_str();
    check_scope_date(&auth.date, amz_date)?;
    if !is_signed(&auth.signed_headers, "host") {
        return Err(host_not_signed());
    }
    if date.from_x_amz_date && !is_signed(&auth.signed_headers, "x-amz-date") {
        return Err(Error::Incomplete(DATE_NOT_SIGNED.to_owned()));
    }
    check_skew(date.unix, amz_date, now_unix)?;
    check_signature(auth, req, key, amz_date, false)
}

pub(crate) fn host_not_signed() -> Error {
    Error::Incomplete(HOST_NOT_SIGNED.to_owned())
}

/// Checks the credential scope's region and service against the ones this endpoint serves, with
/// AWS's messages ("Credential should be scoped to a valid region, not 'eu-west-1'. ", "Credential
/// should be scoped to correct service: 'secretsmanager'. ").
pub fn check_scope(auth: &Authorization, region: &str, service: &str) -> Result<(), Error> {
    if auth.region != region {
        return Err(Error::ScopeMismatch(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            auth.region
        )));
    }
    if auth.service != service {
        return Err(Error::ScopeMismatch(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    Ok(())
}
