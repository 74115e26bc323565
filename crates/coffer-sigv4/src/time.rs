//! The two timestamp formats SigV4 meets, converted to and from Unix seconds.
//!
//! Hand-rolled rather than pulled from a date crate: the formats are fixed-width, we need only
//! UTC, and this keeps the hot path free of allocation.

/// An ISO-8601 basic timestamp, `YYYYMMDDTHHMMSSZ`, kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct AmzDate([u8; 16]);

impl AmzDate {
    pub(crate) fn as_str(&self) -> &str {
        // Only ever filled with ASCII digits, 'T' and 'Z' by `format_amz_date`.
        std::str::from_utf8(&self.0).unwrap_or("00000000T000000Z")
    }
}

impl std::fmt::Debug for AmzDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are small and positive by construction.
    (year, month as u32, day as u32)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Validates the calendar fields and converts them to Unix seconds.
fn to_unix(year: u32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> Option<i64> {
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let secs_of_day = i64::from(hour * 3600 + min * 60 + sec);
    Some(days_from_civil(year, month, day) * 86_400 + secs_of_day)
}

/// Parses `YYYYMMDDTHHMMSSZ`, the only form AWS accepts in `X-Amz-Date`.
pub(crate) fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    to_unix(
        digits(&b[0..4])?,
        digits(&b[4..6])?,
        digits(&b[6..8])?,
        digits(&b[9..11])?,
        digits(&b[11..13])?,
        digits(&b[13..15])?,
    )
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];

/// Parses the HTTP `Date` header's IMF-fixdate form, `Sun, 06 Nov 1994 08:49:37 GMT`.
///
/// The obsolete RFC 850 and asctime forms are not accepted: no SDK sends them.
pub(crate) fn parse_http_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    if !WEEKDAYS.iter().any(|w| &b[0..3] == *w) {
        return None;
    }
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let month = MONTHS.iter().position(|m| &b[8..11] == *m)?;
    to_unix(
        digits(&b[12..16])?,
        u32::try_from(month).ok()? + 1,
        digits(&b[5..7])?,
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    )
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ`. Years outside 0..=9999 are clamped, which only
/// matters for nonsense clocks.
pub(crate) fn format_amz_date(unix: i64) -> AmzDate {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    let year = year.clamp(0, 9999);
    let fields: [(i64, usize); 6] = [
        (year, 4),
        (i64::from(month), 2),
        (i64::from(day), 2),
        (secs / 3600, 2),
        (secs / 60 % 60, 2),
        (secs % 60, 2),
    ];
    let mut out = [0u8; 16];
    let mut pos = 0;
    for (i, (value, width)) in fields.into_iter().enumerate() {
        if i == 3 {
            out[pos] = b'T';
            pos += 1;
        }
        let mut v = value;
        for slot in out[pos..pos + width].iter_mut().rev() {
            // `v % 10` is a single decimal digit.
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        pos += width;
    }
    out[15] = b'Z';
    AmzDate(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_round_trips() {
        let t = parse_amz_date("20150830T123600Z");
        assert_eq!(t, Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160).as_str(), "20150830T123600Z");
        assert_eq!(format_amz_date(0).as_str(), "19700101T000000Z");
        assert_eq!(format_amz_date(951_782_400).as_str(), "20000229T000000Z");
        for t in [
            -86_400 * 365,
            0,
            1,
            951_868_799,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(parse_amz_date(format_amz_date(t).as_str()), Some(t));
        }
    }

    #[test]
    fn amz_date_rejects_malformed() {
        for s in [
            "",
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20150830X123600Z",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "2015083aT123600Z",
            "20150830T12360+Z",
        ] {
            assert_eq!(parse_amz_date(s), None, "{s}");
        }
        assert!(parse_amz_date("20160229T000000Z").is_some());
        assert!(parse_amz_date("21000229T000000Z").is_none());
    }

    #[test]
    fn http_date() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36:00 UTC"), None);
        assert_eq!(parse_http_date("Xyz, 30 Aug 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("Sun, 31 Sep 2015 12:36:00 GMT"), None);
        assert_eq!(parse_http_date("Sunday, 30-Aug-15 12:36:00 GMT"), None);
    }
}
