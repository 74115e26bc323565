//! Break-glass sessions and alerts. Incidents are found in the audit trail (their
//! RequestBreakGlass records name them) and described with coffer's GetBreakGlassReport, as
//! the signed-in principal (requesters, approvers and the account's administrator may). Alerts
//! are delivered to the log and the webhook, not stored; the page shows the audit records that
//! raise the built-in `break-glass-*` alerts and the most recent refused calls (what alert
//! rules on error codes match).

use super::call::{self, ADMIN, CLOUDTRAIL};
use super::html::{Html, Section, date, show};
use super::signed_in;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// At most this many incidents are described.
const MAX_INCIDENTS: usize = 20;

fn record(e: &Value) -> Value {
    e["CloudTrailEvent"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

pub async fn page(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut b = Html::new();
    let mut status = None;
    let lookup = |attribute: &'static str, value: &'static str| {
        let state = &state;
        let caller = &signed.caller;
        async move {
            let mut input = json!({"MaxResults": 50});
            if !value.is_empty() {
                input["LookupAttributes"] =
                    json!([{"AttributeKey": attribute, "AttributeValue": value}]);
            }
            call::call(state, caller, CLOUDTRAIL, "LookupEvents", input)
                .await
                .map(|o| o["Events"].as_array().cloned().unwrap_or_default())
        }
    };

    // Incidents.
    b.raw("<section class=\"card\" id=\"incidents\"><h2>Break-glass incidents</h2>");
    match lookup("EventName", "RequestBreakGlass").await {
        Err(r) => {
            status = Some(r.status);
            b.error(&r.code, &r.message);
        }
        Ok(events) => {
            let ids: Vec<String> = events
                .iter()
                .map(record)
                .filter(|r| r.get("errorCode").is_none())
                .filter_map(|r| {
                    r["responseElements"]["RequestId"]
                        .as_str()
                        .map(str::to_owned)
                })
                .take(MAX_INCIDENTS)
                .collect();
            if ids.is_empty() {
                b.raw("<p>No break-glass request in the trail.</p>");
            } else {
                b.raw("<table class=\"data\" id=\"incidents-table\">")
                    .head(&[
                        "Request",
                        "State",
                        "Role",
                        "Reason",
                        "Requested by",
                        "Approved by",
                        "Window ends",
                        "Reads (rotation)",
                    ])
                    .raw("<tbody>");
                for id in ids {
                    match call::call(
                        &state,
                        &signed.caller,
                        ADMIN,
                        "GetBreakGlassReport",
                        json!({"RequestId": id}),
                    )
                    .await
                    {
                        Err(r) => {
                            b.refused_row(&id, "<td colspan=\"7\">", &r);
                        }
                        Ok(rep) => {
                            let reads = rep["Reads"]
                                .as_array()
                                .map(|a| {
                                    a.iter()
                                        .map(|x| {
                                            format!(
                                                "{} ×{} ({})",
                                                show(x.get("Arn")),
                                                show(x.get("Reads")),
                                                show(x.get("Rotation"))
                                            )
                                        })
                                        .collect::<Vec<_>>()
                                        .join("; ")
                                })
                                .unwrap_or_default();
                            b.row(&[
                                &id,
                                &show(rep.get("State")),
                                &show(rep.get("RoleArn")),
                                &show(rep.get("Reason")),
                                &show(rep.get("RequestedBy")),
                                &show(rep.get("ApprovedBy")),
                                &date(rep.get("SessionExpiresAt")),
                                &reads,
                            ]);
                        }
                    }
                }
                b.raw("</tbody></table>");
            }
        }
    }
    b.raw("</section>");

    // Built-in alerts: the steps of break-glass, from the trail.
    b.raw("<section class=\"card\" id=\"alerts\"><h2>Break-glass alerts</h2>")
        .raw("<p class=\"hint\">Alerts go to the log (<code>coffer::alert</code>) and to the configured webhook; these are the audit records that raised the built-in ones.</p>");
    let mut alerts: Vec<(String, Value, Value)> = Vec::new();
    for (name, rule) in [
        ("RequestBreakGlass", "break-glass-requested"),
        ("ApproveBreakGlass", "break-glass-approved"),
        ("RevokeBreakGlass", "break-glass-revoked"),
    ] {
        if let Ok(events) = lookup("EventName", name).await {
            for e in events {
                let r = record(&e);
                if r.get("errorCode").is_none() {
                    alerts.push((rule.to_owned(), e, r));
                }
            }
        }
    }
    alerts.sort_by(|a, b| {
        b.1["EventTime"]
            .as_f64()
            .partial_cmp(&a.1["EventTime"].as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if alerts.is_empty() {
        b.raw("<p>None.</p>");
    } else {
        b.raw("<table class=\"data\">")
            .head(&["Time", "Alert", "By", "Request"])
            .raw("<tbody>");
        for (rule, e, r) in &alerts {
            let request = r["responseElements"]["RequestId"]
                .as_str()
                .or_else(|| r["requestParameters"]["RequestId"].as_str())
                .unwrap_or_default();
            b.row(&[
                &date(e.get("EventTime")),
                rule,
                &show(e.get("Username")),
                request,
            ]);
        }
        b.raw("</tbody></table>");
    }
    b.raw("</section>");

    // Refused calls.
    b.raw("<section class=\"card\" id=\"refused\"><h2>Recent refused or failed calls</h2>");
    match lookup("", "").await {
        Err(r) => {
            b.error(&r.code, &r.message);
        }
        Ok(events) => {
            let failed: Vec<(Value, Value)> = events
                .into_iter()
                .map(|e| {
                    let r = record(&e);
                    (e, r)
                })
                .filter(|(_, r)| r.get("errorCode").is_some())
                .collect();
            if failed.is_empty() {
                b.raw("<p>None among the latest 50 calls.</p>");
            } else {
                b.raw("<table class=\"data\">")
                    .head(&["Time", "Event", "User", "Error", "Message"])
                    .raw("<tbody>");
                for (e, r) in &failed {
                    b.row(&[
                        &date(e.get("EventTime")),
                        &show(e.get("EventName")),
                        &show(e.get("Username")),
                        &show(r.get("errorCode")),
                        &show(r.get("errorMessage")),
                    ]);
                }
                b.raw("</tbody></table>");
            }
        }
    }
    b.raw("</section>");
    signed.answer(status, "Break-glass & alerts", Section::BreakGlass, b)
}
