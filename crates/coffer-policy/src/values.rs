//! Typed readings of condition values: numbers, dates, IP ranges, booleans, binary.
//! Policy values are read once when the policy is parsed (a value that does not read is a
//! parse error, as IAM refuses such a policy); request values are read at evaluation, and one
//! that does not read simply does not match.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>

use base64::Engine;
use std::net::IpAddr;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// A decimal or integer (`Numeric*`).
pub(crate) fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `true`/`false`, case-insensitive (`Bool`).
pub(crate) fn boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Base64 (`BinaryEquals`): the policy holds the base64 form of the bytes, so does the request.
pub(crate) fn binary(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

/// A date as nanoseconds since the Unix epoch (`Date*`). Accepted: the W3C profile of ISO 8601
/// (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.s]]TZD` with `Z` or `±hh:mm`; a
/// missing zone is UTC) or epoch seconds (any run of digits other than four, optionally with a
/// fraction). <http://www.w3.org/TR/NOTE-datetime>
pub(crate) fn date(s: &str) -> Option<i128> {
    let s = s.trim();
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if s.len() != 4 {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if digits(int) && (frac.is_empty() || digits(frac)) {
            let secs: i128 = int.parse().ok()?;
            return Some(secs * 1_000_000_000 + fraction_nanos(frac)?);
        }
    }
    let (day_part, time_part) = match s.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut fields = day_part.split('-');
    let year = fields
        .next()
        .filter(|y| y.len() == 4 && digits(y))?
        .parse()
        .ok()?;
    let month = match fields.next() {
        Some(m) if m.len() == 2 && digits(m) => m.parse::<u8>().ok()?,
        Some(_) => return None,
        None => 1,
    };
    let day = match fields.next() {
        Some(d) if d.len() == 2 && digits(d) => d.parse::<u8>().ok()?,
        Some(_) => return None,
        None => 1,
    };
    if fields.next().is_some() || (time_part.is_some() && day_part.len() != 10) {
        return None;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let (time, offset) = match time_part {
        None => (Time::MIDNIGHT, UtcOffset::UTC),
        Some(t) => clock(t)?,
    };
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .unix_timestamp_nanos(),
    )
}

fn fraction_nanos(frac: &str) -> Option<i128> {
    if frac.is_empty() {
        return Some(0);
    }
    let mut padded: String = frac.chars().take(9).collect();
    while padded.len() < 9 {
        padded.push('0');
    }
    padded.parse().ok()
}

/// `hh:mm[:ss[.s]]` followed by a zone designator.
fn clock(t: &str) -> Option<(Time, UtcOffset)> {
    let (clock, offset) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
        (c, UtcOffset::UTC)
    } else if let Some(i) = t.rfind(['+', '-']) {
        let (c, zone) = t.split_at(i);
        let sign: i8 = if zone.starts_with('-') { -1 } else { 1 };
        let digits = &zone[1..];
        let (h, m) = match digits.split_once(':') {
            Some(hm) => hm,
            // `±hhmm` and `±hh`.
            None if digits.len() == 4 && digits.is_char_boundary(2) => digits.split_at(2),
            None => (digits, "00"),
        };
        let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
        (c, UtcOffset::from_hms(sign * h, sign * m, 0).ok()?)
    } else {
        (t, UtcOffset::UTC)
    };
    let mut parts = clock.split(':');
    let h: u8 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let (s, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            (
                whole.parse().ok()?,
                u32::try_from(fraction_nanos(frac)?).ok()?,
            )
        }
    };
    if parts.next().is_some() {
        return None;
    }
    Some((Time::from_hms_nano(h, m, s, nanos).ok()?, offset))
}

/// An address range in CIDR form; a bare address is `/32` (IPv4) or `/128` (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { net: addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 caller seen through an IPv6 socket (`::ffff:a.b.c.d`) is still IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let day = date("2020-01-01").unwrap();
        assert_eq!(day, date("2020-01-01T00:00:00Z").unwrap());
        assert_eq!(day, date("1577836800").unwrap());
        assert_eq!(day, date("2020").unwrap());
        assert_eq!(day, date("2020-01").unwrap());
        assert_eq!(day, date("2020-01-01T01:00+01:00").unwrap());
        assert_eq!(day, date("2020-01-01T05:30:00+0530").unwrap());
        assert_eq!(day, date("2019-12-31T22:00:00-02").unwrap());
        assert_eq!(day + 500_000_000, date("2020-01-01T00:00:00.5Z").unwrap());
        assert_eq!(day + 500_000_000, date("1577836800.5").unwrap());
        assert!(date("2020-13-01").is_none());
        assert!(date("yesterday").is_none());
        assert!(date("2020-01-01T25:00:00Z").is_none());
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains("203.0.113.255".parse().unwrap()));
        assert!(!c.contains("203.0.114.0".parse().unwrap()));
        assert!(c.contains("::ffff:203.0.113.7".parse().unwrap()));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678:ffff::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:1234:5679::1".parse().unwrap()));
        assert!(
            Cidr::parse("10.0.0.1")
                .unwrap()
                .contains("10.0.0.1".parse().unwrap())
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
    }
}
