//! The audit trail page: CloudTrail LookupEvents with one lookup attribute and a time range, a
//! timeline of the events shown (an inline SVG histogram: no script), and each record.

use super::call::{self, CLOUDTRAIL};
use super::html::{Html, Section, date, show};
use super::{query_pairs, signed_in};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// LookupEvents' attribute keys.
const ATTRIBUTES: &[&str] = &[
    "EventName",
    "Username",
    "ResourceName",
    "ResourceType",
    "EventSource",
    "AccessKeyId",
    "ReadOnly",
    "EventId",
];

/// Buckets of the timeline.
const BUCKETS: usize = 48;

/// `YYYY-MM-DDTHH:MM[:SS]` (a `datetime-local` field, read as UTC) as unix seconds.
pub fn parse_local(s: &str) -> Option<i64> {
    let s = s.trim();
    let (d, t) = s.split_once(['T', ' '])?;
    let mut dp = d.split('-').map(str::parse::<i32>);
    let (y, m, day) = (dp.next()?.ok()?, dp.next()?.ok()?, dp.next()?.ok()?);
    let mut tp = t.trim_end_matches('Z').split(':').map(str::parse::<u8>);
    let (hh, mm) = (tp.next()?.ok()?, tp.next()?.ok()?);
    let ss = tp.next().and_then(Result::ok).unwrap_or(0);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(y, month, u8::try_from(day).ok()?).ok()?;
    let time = time::Time::from_hms(hh, mm, ss).ok()?;
    Some(date.with_time(time).assume_utc().unix_timestamp())
}

pub async fn page(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query_pairs(&parts);
    let attr = q.get("attribute");
    let value = q.get("value");
    let mut b = Html::new();
    b.raw("<form method=\"get\" action=\"/console/audit\" id=\"audit-filters\" class=\"filters\">")
        .raw("<label>Attribute <select name=\"attribute\" id=\"attribute\">");
    for a in ATTRIBUTES {
        b.raw("<option value=\"").text(a).raw("\"");
        if *a == attr {
            b.raw(" selected");
        }
        b.raw(">").text(a).raw("</option>");
    }
    b.raw("</select></label> ")
        .input("Value", "value", value, "GetSecretValue")
        .input("From (UTC)", "start", q.get("start"), "2026-01-01T00:00")
        .input("To (UTC)", "end", q.get("end"), "2026-12-31T23:59")
        .raw("<button type=\"submit\" id=\"lookup\">Look up</button> ")
        .link("/console/audit", &[], "Clear")
        .raw("</form>");
    let mut input = json!({"MaxResults": 50});
    if !value.trim().is_empty() && ATTRIBUTES.contains(&attr) {
        input["LookupAttributes"] = json!([{"AttributeKey": attr, "AttributeValue": value.trim()}]);
    }
    let mut bad_time = false;
    for (field, member) in [("start", "StartTime"), ("end", "EndTime")] {
        match q.opt(field).map(parse_local) {
            None => {}
            Some(Some(t)) => input[member] = json!(t),
            Some(None) => bad_time = true,
        }
    }
    if bad_time {
        b.error(
            "InvalidTimeRangeException",
            "Times are YYYY-MM-DDTHH:MM, in UTC.",
        );
    }
    if let Some(next) = q.opt("next") {
        input["NextToken"] = json!(next);
    }
    let mut status = None;
    match call::call(&state, &signed.caller, CLOUDTRAIL, "LookupEvents", input).await {
        Err(r) => {
            status = Some(r.status);
            b.error(&r.code, &r.message);
        }
        Ok(out) => {
            let events = out["Events"].as_array().cloned().unwrap_or_default();
            let records: Vec<Value> = events
                .iter()
                .map(|e| {
                    e["CloudTrailEvent"]
                        .as_str()
                        .and_then(|s| serde_json::from_str(s).ok())
                        .unwrap_or(Value::Null)
                })
                .collect();
            timeline(&mut b, &events, &records);
            b.raw("<table class=\"data\" id=\"events\">")
                .head(&[
                    "Time",
                    "Event",
                    "User",
                    "Source",
                    "Resources",
                    "Outcome",
                    "Record",
                ])
                .raw("<tbody>");
            for (e, r) in events.iter().zip(&records) {
                let resources = e["Resources"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| show(x.get("ResourceName")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let outcome = match r.get("errorCode").and_then(Value::as_str) {
                    Some(code) => code.to_owned(),
                    None => "ok".to_owned(),
                };
                b.raw("<tr class=\"event\">")
                    .el("<td>", &date(e.get("EventTime")), "</td>")
                    .el(
                        "<td class=\"event-name\">",
                        &show(e.get("EventName")),
                        "</td>",
                    )
                    .el("<td>", &show(e.get("Username")), "</td>")
                    .el("<td>", &show(e.get("EventSource")), "</td>")
                    .el("<td>", &resources, "</td>")
                    .el(
                        if outcome == "ok" {
                            "<td>"
                        } else {
                            "<td class=\"failed\">"
                        },
                        &outcome,
                        "</td>",
                    )
                    .raw("<td><details><summary>record</summary>")
                    .json(r)
                    .raw("</details></td></tr>");
            }
            b.raw("</tbody></table>");
            if let Some(next) = out["NextToken"].as_str() {
                b.raw("<p>")
                    .link(
                        "/console/audit",
                        &[
                            ("attribute", attr),
                            ("value", value),
                            ("start", q.get("start")),
                            ("end", q.get("end")),
                            ("next", next),
                        ],
                        "Older events →",
                    )
                    .raw("</p>");
            }
        }
    }
    signed.answer(status, "Audit trail", Section::Audit, b)
}

/// An SVG histogram of `events` over their time span: successful calls and refused or failed
/// ones stacked, per bucket.
fn timeline(b: &mut Html, events: &[Value], records: &[Value]) {
    let times: Vec<f64> = events
        .iter()
        .filter_map(|e| e["EventTime"].as_f64())
        .collect();
    let (Some(lo), Some(hi)) = (
        times.iter().copied().reduce(f64::min),
        times.iter().copied().reduce(f64::max),
    ) else {
        b.raw("<p id=\"timeline-empty\">No events.</p>");
        return;
    };
    let span = (hi - lo).max(1.0);
    let mut ok = [0u32; BUCKETS];
    let mut failed = [0u32; BUCKETS];
    for (e, r) in events.iter().zip(records) {
        let Some(t) = e["EventTime"].as_f64() else {
            continue;
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let i = (((t - lo) / span) * (BUCKETS as f64 - 1.0)).round() as usize;
        let i = i.min(BUCKETS - 1);
        if r.get("errorCode").is_some() {
            failed[i] += 1;
        } else {
            ok[i] += 1;
        }
    }
    let max = ok
        .iter()
        .zip(&failed)
        .map(|(a, f)| a + f)
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h) = (12u32, 60u32);
    b.raw("<figure class=\"timeline\" id=\"timeline\"><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Events over time\" viewBox=\"0 0 ")
        .num(u32::try_from(BUCKETS).unwrap_or(48) * w)
        .raw(" ")
        .num(h)
        .raw("\" preserveAspectRatio=\"none\">");
    for i in 0..BUCKETS {
        let x = u32::try_from(i).unwrap_or(0) * w;
        let ok_h = ok[i] * h / max;
        let failed_h = failed[i] * h / max;
        if ok_h > 0 {
            b.raw("<rect class=\"ok\" x=\"")
                .num(x + 1)
                .raw("\" y=\"")
                .num(h - ok_h)
                .raw("\" width=\"")
                .num(w - 2)
                .raw("\" height=\"")
                .num(ok_h)
                .raw("\"></rect>");
        }
        if failed_h > 0 {
            b.raw("<rect class=\"err\" x=\"")
                .num(x + 1)
                .raw("\" y=\"")
                .num(h - ok_h - failed_h)
                .raw("\" width=\"")
                .num(w - 2)
                .raw("\" height=\"")
                .num(failed_h)
                .raw("\"></rect>");
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let (from, to) = (json!(lo), json!(hi));
    b.raw("</svg><figcaption>")
        .num(events.len())
        .raw(" event(s) from ")
        .text(&date(Some(&from)))
        .raw(" to ")
        .text(&date(Some(&to)))
        .raw("; refused or failed calls in red.</figcaption></figure>");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn datetime_local_fields_parse_as_utc() {
        assert_eq!(super::parse_local("2023-11-14T22:13"), Some(1_699_999_980));
        assert_eq!(
            super::parse_local("2023-11-14T22:13:20"),
            Some(1_700_000_000)
        );
        assert_eq!(super::parse_local("yesterday"), None);
    }
}
