//! Rotation schedules: `RotationRules` (AutomaticallyAfterDays, or a `rate()`/`cron()`
//! ScheduleExpression, and a Duration window), validated as AWS does, and the windows they give.
//!
//! Windows are in UTC. `rate(N days)` and AutomaticallyAfterDays: a window on the day N days
//! after the last rotation, from midnight to the end of the day (or for Duration). `rate(N hours)`:
//! windows start at midnight and every N hours after it, an hour long by default. `cron()`: a
//! window starts at each time the expression fires; it lasts an hour for schedules in hours and to
//! the end of the day for daily ones, unless Duration says otherwise. No window crosses midnight
//! UTC or runs into the next one. coffer rotates at the start of a window (AWS picks a moment
//! inside it); NextRotationDate is the last second of the next window, the time by which the
//! rotation will have happened.

use super::cron::Cron;
use crate::secretsmanager::SecretsManagerError as E;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// AWS rotates at most every four hours.
const MIN_INTERVAL_HOURS: i64 = 4;

/// `RotationRules` on the wire, and as stored on the secret (JSON).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationRules {
    pub automatically_after_days: Option<i64>,
    pub duration: Option<String>,
    pub schedule_expression: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Every {
    Days(i64),
    Hours(i64),
    Cron(Box<Cron>),
}

/// A validated schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    every: Every,
    /// Duration in hours, when given.
    duration_hours: Option<i64>,
    rules: RotationRules,
}

fn invalid(m: impl Into<String>) -> E {
    E::InvalidParameter(m.into())
}

fn midnight(t: i64) -> i64 {
    t - t.rem_euclid(DAY_MS)
}

fn parse_rate(inner: &str) -> Result<Every, E> {
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(format!("Invalid rate expression: rate({inner})")));
    };
    let n: i64 = n
        .parse()
        .map_err(|_| invalid(format!("Invalid rate expression: rate({inner})")))?;
    let every = match (unit, n) {
        ("day", 1) | ("days", 2..) => Every::Days(n),
        ("hour", 1) | ("hours", 2..) => Every::Hours(n),
        _ => return Err(invalid(format!("Invalid rate expression: rate({inner})"))),
    };
    match every {
        Every::Days(d) if d > 1000 => Err(invalid(
            "The rotation interval can't be longer than 1000 days.",
        )),
        Every::Hours(h) if h < MIN_INTERVAL_HOURS => {
            Err(invalid("The rotation interval must be at least 4 hours."))
        }
        Every::Hours(h) if h > 24 * 1000 => Err(invalid(
            "The rotation interval can't be longer than 1000 days.",
        )),
        // A rate in whole days is a rate in days.
        Every::Hours(h) if h % 24 == 0 => Ok(Every::Days(h / 24)),
        e => Ok(e),
    }
}

impl Schedule {
    /// Validate RotationRules as RotateSecret receives them.
    pub(crate) fn parse(rules: &RotationRules) -> Result<Self, E> {
        let every = match (&rules.automatically_after_days, &rules.schedule_expression) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "RotationRules must specify AutomaticallyAfterDays or ScheduleExpression.",
                ));
            }
            (Some(d), None) => Every::Days(*d),
            (None, Some(expr)) => {
                let expr = expr.trim();
                if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
                    parse_rate(inner)?
                } else if let Some(inner) =
                    expr.strip_prefix("cron(").and_then(|e| e.strip_suffix(')'))
                {
                    let cron = Cron::parse(inner).map_err(invalid)?;
                    check_cron_interval(&cron)?;
                    Every::Cron(Box::new(cron))
                } else {
                    return Err(invalid(format!(
                        "Invalid ScheduleExpression: {expr}. Use a rate() or cron() expression."
                    )));
                }
            }
        };
        let duration_hours = match &rules.duration {
            None => None,
            Some(d) => {
                let h = d
                    .strip_suffix('h')
                    .and_then(|h| h.parse::<i64>().ok())
                    .filter(|h| (1..=24).contains(h))
                    .ok_or_else(|| invalid(format!("Invalid Duration: {d}. Use 1h to 24h.")))?;
                Some(h)
            }
        };
        if let Some(h) = duration_hours {
            if rules.automatically_after_days.is_some() {
                return Err(invalid(
                    "You can't specify a Duration with AutomaticallyAfterDays; use a ScheduleExpression.",
                ));
            }
            let overlaps = match &every {
                Every::Hours(n) => h > *n,
                Every::Days(_) => false,
                Every::Cron(c) => i64::from(c.first_hour()) + h > 24,
            };
            if overlaps {
                return Err(invalid(
                    "The rotation window can't extend into the next rotation window or the next UTC day.",
                ));
            }
        }
        // DescribeSecret reports AutomaticallyAfterDays for schedules in days.
        let mut described = rules.clone();
        if let Every::Days(d) = every {
            described.automatically_after_days = Some(d);
        }
        Ok(Self {
            every,
            duration_hours,
            rules: described,
        })
    }

    /// The stored form of the rules, as DescribeSecret shows them.
    pub(crate) fn rules_json(&self) -> String {
        serde_json::to_string(&self.rules).unwrap_or_default()
    }

    /// The schedule stored on a secret.
    pub(crate) fn stored(json: Option<&str>) -> Option<Self> {
        let rules: RotationRules = serde_json::from_str(json?).ok()?;
        // Rules were validated when stored; a rate in days is shown with both members.
        let mut rules = rules;
        if rules.schedule_expression.is_some() {
            rules.automatically_after_days = None;
        }
        Self::parse(&rules).ok()
    }

    /// How long the window starting at `start` lasts.
    pub(crate) fn window_len(&self, start: i64) -> i64 {
        let end_of_day = midnight(start) + DAY_MS - start;
        let len = match (self.duration_hours, &self.every) {
            (Some(h), _) => h * HOUR_MS,
            (None, Every::Hours(_)) => HOUR_MS,
            (None, Every::Days(_)) => end_of_day,
            (None, Every::Cron(c)) if c.daily() => end_of_day,
            (None, Every::Cron(_)) => HOUR_MS,
        };
        len.min(end_of_day)
    }

    /// Window starts at or after `t`.
    fn start_at_or_after(&self, t: i64) -> Option<i64> {
        match &self.every {
            Every::Days(_) => Some(if midnight(t) == t {
                t
            } else {
                midnight(t) + DAY_MS
            }),
            Every::Hours(n) => {
                let step = n * HOUR_MS;
                let day = midnight(t);
                let k = (t - day + step - 1) / step;
                let s = day + k * step;
                Some(if s >= day + DAY_MS { day + DAY_MS } else { s })
            }
            Every::Cron(c) => c.next_at_or_after(t),
        }
    }

    /// The window after a rotation at `rotated_at`.
    pub(crate) fn next_after_rotation(&self, rotated_at: i64) -> Option<i64> {
        match &self.every {
            Every::Days(n) => Some(midnight(rotated_at) + n * DAY_MS),
            _ => self.start_at_or_after(rotated_at + 1),
        }
    }

    /// The window a newly configured schedule rotates in first: the current one if `now` is
    /// inside a window, else the next. With AutomaticallyAfterDays and a rotation before, the day
    /// the interval ends (possibly past, so it rotates at once).
    pub(crate) fn first_window(&self, now: i64, last_rotated: Option<i64>) -> Option<i64> {
        if let (Every::Days(n), Some(last)) = (&self.every, last_rotated) {
            return Some(midnight(last) + n * DAY_MS);
        }
        if let Every::Days(n) = &self.every {
            return Some(midnight(now) + n * DAY_MS);
        }
        // The window containing `now`, if there is one.
        let back = self.start_at_or_after(now - DAY_MS).filter(|s| *s <= now);
        if let Some(mut s) = back {
            // Walk to the latest start not after now.
            while let Some(n) = self.start_at_or_after(s + 1).filter(|n| *n <= now) {
                s = n;
            }
            if now < s + self.window_len(s) {
                return Some(s);
            }
        }
        self.start_at_or_after(now)
    }

    /// NextRotationDate as DescribeSecret shows it: the last second of the window.
    pub(crate) fn shown_next(&self, start: i64) -> i64 {
        let end = start + self.window_len(start) - 1000;
        end - end.rem_euclid(1000)
    }
}

/// AWS refuses schedules that rotate more often than every four hours.
fn check_cron_interval(cron: &Cron) -> Result<(), E> {
    // Look at the gaps between the next occurrences from a fixed point (2030-01-01).
    let mut t = 1_893_456_000_000;
    let Some(mut prev) = cron.next_at_or_after(t) else {
        return Ok(());
    };
    for _ in 0..64 {
        t = prev + 1;
        let Some(next) = cron.next_at_or_after(t) else {
            break;
        };
        if next - prev < MIN_INTERVAL_HOURS * HOUR_MS {
            return Err(invalid(
                "The schedule expression rotates more often than every 4 hours, the shortest interval Secrets Manager supports.",
            ));
        }
        prev = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .expect("test time");
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000).expect("millis")
    }

    fn rules(days: Option<i64>, expr: Option<&str>, duration: Option<&str>) -> RotationRules {
        RotationRules {
            automatically_after_days: days,
            schedule_expression: expr.map(str::to_owned),
            duration: duration.map(str::to_owned),
        }
    }

    fn schedule(days: Option<i64>, expr: Option<&str>, duration: Option<&str>) -> Schedule {
        Schedule::parse(&rules(days, expr, duration)).expect("valid schedule")
    }

    #[test]
    fn validation() {
        for (d, e, w) in [
            (Some(30), Some("rate(30 days)"), None),
            (None, None, None),
            (None, Some("rate(3 hours)"), None),
            (None, Some("rate(1 days)"), None),
            (None, Some("rate(0 days)"), None),
            (None, Some("rate(1001 days)"), None),
            (None, Some("every(3 days)"), None),
            (None, Some("cron(0 * * * ? *)"), None),
            (None, Some("cron(0 0/2 * * ? *)"), None),
            (None, Some("rate(4 hours)"), Some("5h")),
            (None, Some("cron(0 22 * * ? *)"), Some("3h")),
            (None, Some("rate(1 day)"), Some("25h")),
            (None, Some("rate(1 day)"), Some("0h")),
            (Some(7), None, Some("2h")),
        ] {
            assert!(
                Schedule::parse(&rules(d, e, w)).is_err(),
                "{d:?} {e:?} {w:?}"
            );
        }
        for (d, e, w) in [
            (Some(30), None, None),
            (None, Some("rate(4 hours)"), Some("4h")),
            (None, Some("rate(1 day)"), None),
            (None, Some("rate(10 days)"), Some("3h")),
            (None, Some("cron(0 16 1,15 * ? *)"), Some("2h")),
            (None, Some("cron(0 8-19/4 * * ? *)"), None),
        ] {
            assert!(
                Schedule::parse(&rules(d, e, w)).is_ok(),
                "{d:?} {e:?} {w:?}"
            );
        }
    }

    #[test]
    fn described_rules() {
        let s = schedule(None, Some("rate(10 days)"), Some("3h"));
        assert_eq!(
            s.rules_json(),
            r#"{"AutomaticallyAfterDays":10,"Duration":"3h","ScheduleExpression":"rate(10 days)"}"#
        );
        assert_eq!(Schedule::stored(Some(&s.rules_json())), Some(s));
        let s = schedule(Some(30), None, None);
        assert_eq!(s.rules_json(), r#"{"AutomaticallyAfterDays":30}"#);
        let s = schedule(None, Some("rate(12 hours)"), None);
        assert_eq!(s.rules_json(), r#"{"ScheduleExpression":"rate(12 hours)"}"#);
    }

    #[test]
    fn windows_in_days() {
        let s = schedule(Some(30), None, None);
        let rotated = at("2030-01-10T13:45:00Z");
        let next = s.next_after_rotation(rotated).expect("next");
        assert_eq!(next, at("2030-02-09T00:00:00Z"));
        assert_eq!(s.shown_next(next), at("2030-02-09T23:59:59Z"));
        let s = schedule(None, Some("rate(2 days)"), Some("3h"));
        let next = s.next_after_rotation(rotated).expect("next");
        assert_eq!(next, at("2030-01-12T00:00:00Z"));
        assert_eq!(s.shown_next(next), at("2030-01-12T02:59:59Z"));
        // First window of a new schedule: from the last rotation, else from now.
        let s = schedule(Some(30), None, None);
        assert_eq!(
            s.first_window(rotated, Some(at("2029-12-01T05:00:00Z"))),
            Some(at("2029-12-31T00:00:00Z"))
        );
        assert_eq!(
            s.first_window(rotated, None),
            Some(at("2030-02-09T00:00:00Z"))
        );
    }

    #[test]
    fn windows_in_hours_and_cron() {
        let s = schedule(None, Some("rate(6 hours)"), None);
        assert_eq!(
            s.next_after_rotation(at("2030-01-10T06:00:05Z")),
            Some(at("2030-01-10T12:00:00Z"))
        );
        assert_eq!(
            s.next_after_rotation(at("2030-01-10T18:30:00Z")),
            Some(at("2030-01-11T00:00:00Z"))
        );
        assert_eq!(
            s.shown_next(at("2030-01-10T12:00:00Z")),
            at("2030-01-10T12:59:59Z")
        );
        // Inside a window: that window; between windows: the next.
        assert_eq!(
            s.first_window(at("2030-01-10T12:20:00Z"), None),
            Some(at("2030-01-10T12:00:00Z"))
        );
        assert_eq!(
            s.first_window(at("2030-01-10T13:20:00Z"), None),
            Some(at("2030-01-10T18:00:00Z"))
        );
        let s = schedule(None, Some("cron(0 16 1,15 * ? *)"), None);
        assert_eq!(
            s.next_after_rotation(at("2030-01-01T16:00:00Z")),
            Some(at("2030-01-15T16:00:00Z"))
        );
        // Daily cron windows run to the end of the day.
        assert_eq!(
            s.shown_next(at("2030-01-15T16:00:00Z")),
            at("2030-01-15T23:59:59Z")
        );
        assert_eq!(
            s.first_window(at("2030-01-15T20:00:00Z"), None),
            Some(at("2030-01-15T16:00:00Z"))
        );
        let s = schedule(None, Some("cron(0 8-19/4 * * ? *)"), Some("2h"));
        assert_eq!(
            s.shown_next(at("2030-01-15T08:00:00Z")),
            at("2030-01-15T09:59:59Z")
        );
    }
}
