//! AWS `cron()` expressions, as EventBridge and Secrets Manager rotation read them: six fields,
//! `Minutes Hours Day-of-month Month Day-of-week Year`, in UTC; `*`, lists, ranges and `/` steps
//! everywhere; names for months (`JAN`) and weekdays (`SUN` = 1 ... `SAT` = 7); `L` and `W` in
//! day-of-month (`L`, `LW`, `15W`); `L` and `#` in day-of-week (`6L`, `2#1`); exactly one of the
//! two day fields is `?`.
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html>

use time::{Date, OffsetDateTime};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// How far ahead a next occurrence is looked for.
const HORIZON_DAYS: i64 = 366 * 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    dom: DayOfMonth,
    months: Vec<u32>,
    dow: DayOfWeek,
    years: Option<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    Any,
    Days(Vec<u32>),
    Last,
    LastWeekday,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// 1 = Sunday ... 7 = Saturday.
    Days(Vec<u32>),
    Last(u32),
    Nth(u32, u32),
}

fn bad(what: &str) -> String {
    format!("Invalid cron expression: {what}")
}

fn name_value(s: &str, names: &[&str], base: u32) -> Option<u32> {
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .and_then(|i| u32::try_from(i).ok())
        .map(|i| i + base)
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(s: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u32, String> {
    let v = match s.parse::<u32>() {
        Ok(v) => v,
        Err(_) => name_value(s, names, lo).ok_or_else(|| bad(s))?,
    };
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(bad(&format!("{s} is out of range {lo}-{hi}")))
    }
}

/// A list of `*`, `a`, `a-b`, with optional `/step`.
fn set(field: &str, lo: u32, hi: u32, names: &[&str]) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad(item))?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(bad(item));
        }
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, lo, hi, names)?, value(b, lo, hi, names)?)
        } else {
            let a = value(range, lo, hi, names)?;
            (a, if item.contains('/') { hi } else { a })
        };
        if a > b {
            return Err(bad(item));
        }
        out.extend((a..=b).step_by(usize::try_from(step).unwrap_or(1)));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Cron {
    /// Parse the inside of `cron(...)`.
    pub(crate) fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = fields[..] else {
            return Err(bad("it must have six fields"));
        };
        let dom = match dom {
            "?" => DayOfMonth::Any,
            "*" => DayOfMonth::Days((1..=31).collect()),
            "L" => DayOfMonth::Last,
            "LW" => DayOfMonth::LastWeekday,
            d if d.ends_with('W') => {
                DayOfMonth::NearestWeekday(value(&d[..d.len() - 1], 1, 31, &[])?)
            }
            d => DayOfMonth::Days(set(d, 1, 31, &[])?),
        };
        let dow = match dow {
            "?" => DayOfWeek::Any,
            d if d.contains('#') => {
                let (w, n) = d.split_once('#').unwrap_or((d, ""));
                let n = n.parse::<u32>().map_err(|_| bad(d))?;
                if !(1..=5).contains(&n) {
                    return Err(bad(d));
                }
                DayOfWeek::Nth(value(w, 1, 7, &WEEKDAYS)?, n)
            }
            d if d.len() > 1 && d.ends_with('L') => {
                DayOfWeek::Last(value(&d[..d.len() - 1], 1, 7, &WEEKDAYS)?)
            }
            "L" => DayOfWeek::Days(vec![7]),
            d => DayOfWeek::Days(set(d, 1, 7, &WEEKDAYS)?),
        };
        let dom_any = matches!(dom, DayOfMonth::Any);
        let dow_any = matches!(dow, DayOfWeek::Any);
        if dom_any == dow_any {
            return Err(bad(
                "exactly one of Day-of-month and Day-of-week must be '?'",
            ));
        }
        Ok(Self {
            minutes: set(min, 0, 59, &[])?,
            hours: set(hour, 0, 23, &[])?,
            dom,
            months: set(month, 1, 12, &MONTHS)?,
            dow,
            years: if year == "*" {
                None
            } else {
                Some(set(year, 1970, 2199, &[])?)
            },
        })
    }

    /// True when the schedule fires at most once a day (its window then runs to the end of
    /// the day), false for schedules in hours.
    pub(crate) fn daily(&self) -> bool {
        self.hours.len() == 1
    }

    /// The first hour it fires at on a day.
    pub(crate) fn first_hour(&self) -> u32 {
        self.hours.first().copied().unwrap_or(0)
    }

    fn day_matches(&self, d: Date) -> bool {
        let year = u32::try_from(d.year()).unwrap_or(0);
        if self.years.as_ref().is_some_and(|ys| !ys.contains(&year)) {
            return false;
        }
        if !self.months.contains(&u32::from(u8::from(d.month()))) {
            return false;
        }
        let day = u32::from(d.day());
        let last = u32::from(d.month().length(d.year()));
        // 1 = Sunday.
        let weekday = u32::from(d.weekday().number_from_sunday());
        let is_weekday = (2..=6).contains(&weekday);
        match &self.dom {
            DayOfMonth::Any => {}
            DayOfMonth::Days(ds) => return ds.contains(&day),
            DayOfMonth::Last => return day == last,
            DayOfMonth::LastWeekday => {
                return is_weekday && (day..=last).skip(1).all(|n| !weekday_of(d, n));
            }
            DayOfMonth::NearestWeekday(n) => {
                let target = (*n).min(last);
                return nearest_weekday(d, target, last) == day;
            }
        }
        match &self.dow {
            DayOfWeek::Any => true,
            DayOfWeek::Days(ws) => ws.contains(&weekday),
            DayOfWeek::Last(w) => *w == weekday && day + 7 > last,
            DayOfWeek::Nth(w, n) => *w == weekday && (day - 1) / 7 + 1 == *n,
        }
    }

    /// The first time it fires at or after `t` (unix millis), if any within eight years.
    pub(crate) fn next_at_or_after(&self, t: i64) -> Option<i64> {
        let start_day = t - t.rem_euclid(DAY_MS);
        for i in 0..HORIZON_DAYS {
            let midnight = start_day + i * DAY_MS;
            let date = OffsetDateTime::from_unix_timestamp(midnight / 1000)
                .ok()?
                .date();
            if !self.day_matches(date) {
                continue;
            }
            for h in &self.hours {
                for m in &self.minutes {
                    let at = midnight + i64::from(*h) * 60 * MINUTE_MS + i64::from(*m) * MINUTE_MS;
                    if at >= t {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

/// Whether day `n` of `d`'s month is Monday to Friday.
fn weekday_of(d: Date, n: u32) -> bool {
    u8::try_from(n)
        .ok()
        .and_then(|n| Date::from_calendar_date(d.year(), d.month(), n).ok())
        .is_some_and(|x| (2..=6).contains(&x.weekday().number_from_sunday()))
}

/// The weekday nearest to day `target` of `d`'s month, not leaving the month.
fn nearest_weekday(d: Date, target: u32, last: u32) -> u32 {
    let wd = |n: u32| {
        u8::try_from(n)
            .ok()
            .and_then(|n| Date::from_calendar_date(d.year(), d.month(), n).ok())
            .map_or(0, |x| x.weekday().number_from_sunday())
    };
    match wd(target) {
        7 if target == 1 => 3,             // Saturday the 1st: Monday the 3rd
        7 => target - 1,                   // Saturday: Friday before
        1 if target == last => target - 2, // Sunday the last: Friday before
        1 => target + 1,                   // Sunday: Monday after
        _ => target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .expect("test time");
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("millis")
    }

    #[test]
    fn parses_aws_examples() {
        for ok in [
            "0 16 1,15 * ? *",
            "0 8-19/4 * * ? *",
            "0 0 ? * MON-FRI *",
            "0 10 ? * 2#1 *",
            "0 10 ? * 6L *",
            "0 4 L * ? *",
            "0 4 15W * ? *",
            "0 0 1 JAN,JUL ? 2027-2030",
        ] {
            assert!(Cron::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "0 16 1 * *",
            "0 16 1 * 2 *",
            "0 16 ? * ? *",
            "61 0 1 * ? *",
            "0 24 1 * ? *",
            "0 0 1 * ? 1800",
            "0 0 ? * 2#6 *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_occurrences() {
        let c = Cron::parse("0 16 1,15 * ? *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2030-01-02T00:00:00Z")),
            Some(at("2030-01-15T16:00:00Z"))
        );
        assert_eq!(
            c.next_at_or_after(at("2030-01-15T16:00:00Z")),
            Some(at("2030-01-15T16:00:00Z"))
        );
        // First Monday of the month (2030-04-01 is a Monday).
        let c = Cron::parse("0 10 ? * 2#1 *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2030-03-05T00:00:00Z")),
            Some(at("2030-04-01T10:00:00Z"))
        );
        // Last Friday of March 2030 is the 29th.
        let c = Cron::parse("0 10 ? * 6L *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2030-03-01T00:00:00Z")),
            Some(at("2030-03-29T10:00:00Z"))
        );
        // Last day of February 2028 (leap year).
        let c = Cron::parse("0 4 L * ? *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2028-02-02T00:00:00Z")),
            Some(at("2028-02-29T04:00:00Z"))
        );
        // 2030-06-15 is a Saturday: the nearest weekday is Friday the 14th.
        let c = Cron::parse("0 4 15W * ? *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2030-06-01T00:00:00Z")),
            Some(at("2030-06-14T04:00:00Z"))
        );
        // Every four hours from 08:00 to 19:00.
        let c = Cron::parse("0 8-19/4 * * ? *").expect("cron");
        assert_eq!(
            c.next_at_or_after(at("2030-01-01T12:01:00Z")),
            Some(at("2030-01-01T16:00:00Z"))
        );
        assert_eq!(
            c.next_at_or_after(at("2030-01-01T16:01:00Z")),
            Some(at("2030-01-02T08:00:00Z"))
        );
        // A year in the past never fires again.
        let c = Cron::parse("0 0 1 1 ? 2020").expect("cron");
        assert_eq!(c.next_at_or_after(at("2030-01-01T00:00:00Z")), None);
    }
}
