//! Secrets Manager pages: the list (ListSecrets with its filters), a secret's detail (versions
//! and labels, rotation, replication, resource policy), reveal (GetSecretValue), and two
//! writes: a new value (PutSecretValue) and a new secret (CreateSecret).

use super::call::{self, Refusal, SECRETS};
use super::html::{self, Html, Section, date, joined, show};
use super::{SignedIn, query_pairs, redirect, signed_in, signed_in_post};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The ListSecrets filter keys the list page offers, with their labels.
const FILTERS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("description", "Description"),
    ("tag-key", "Tag key"),
    ("tag-value", "Tag value"),
    ("all", "Any field"),
];

/// Something to say at the top of a page.
#[derive(Debug)]
pub enum Banner {
    Error(Refusal),
    Notice(String),
}

impl Banner {
    pub fn render(&self, h: &mut Html) {
        match self {
            Banner::Error(r) => h.error(&r.code, &r.message),
            Banner::Notice(n) => h.notice(n),
        };
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Banner::Error(r) => Some(r.status),
            Banner::Notice(_) => None,
        }
    }
}

pub async fn list(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query_pairs(&parts);
    render_list(&state, &signed, &q, None).await
}

async fn render_list(
    state: &AppState,
    signed: &SignedIn,
    q: &super::Form,
    banner: Option<Banner>,
) -> Response<Body> {
    let mut b = Html::new();
    if let Some(x) = &banner {
        x.render(&mut b);
    }
    // The filter form (GET: a search changes nothing).
    b.raw("<form method=\"get\" action=\"/console/secrets\" id=\"filters\" class=\"filters\">");
    for (key, label) in FILTERS {
        b.raw("<label>")
            .text(label)
            .raw(" <input type=\"text\" name=\"")
            .text(key)
            .raw("\" id=\"filter-")
            .text(key)
            .raw("\" value=\"")
            .text(q.get(key))
            .raw("\"></label> ");
    }
    b.raw("<button type=\"submit\" id=\"apply-filters\">Filter</button> ")
        .link("/console/secrets", &[], "Clear")
        .raw("</form>");
    let filters: Vec<Value> = FILTERS
        .iter()
        .filter_map(|(key, _)| {
            let v = q.opt(key)?;
            // As the CLI does: a value starting with `!` negates; several words are one value.
            Some(json!({"Key": key, "Values": [v]}))
        })
        .collect();
    let mut input = json!({"MaxResults": 100, "SortOrder": "asc"});
    if !filters.is_empty() {
        input["Filters"] = Value::Array(filters);
    }
    if let Some(next) = q.opt("next") {
        input["NextToken"] = json!(next);
    }
    let mut status = banner.as_ref().and_then(Banner::status);
    match call::call(state, &signed.caller, SECRETS, "ListSecrets", input).await {
        Err(r) => {
            status.get_or_insert(r.status);
            b.error(&r.code, &r.message);
        }
        Ok(out) => {
            let list = out["SecretList"].as_array().cloned().unwrap_or_default();
            b.raw("<p class=\"count\" id=\"count\">")
                .num(list.len())
                .raw(" secret(s)</p>");
            b.raw("<table id=\"secrets\" class=\"data\">").head(&[
                "Name",
                "Description",
                "Rotation",
                "Last rotated",
                "Next rotation",
                "Last changed",
                "Tags",
            ]);
            b.raw("<tbody>");
            for s in &list {
                let name = show(s.get("Name"));
                b.raw("<tr><td>")
                    .link("/console/secret", &[("id", &name)], &name)
                    .raw("</td>");
                b.el("<td>", &show(s.get("Description")), "</td>");
                let rot = if s["RotationEnabled"].as_bool() == Some(true) {
                    "enabled"
                } else {
                    "off"
                };
                b.el("<td>", rot, "</td>")
                    .el("<td>", &date(s.get("LastRotatedDate")), "</td>")
                    .el("<td>", &date(s.get("NextRotationDate")), "</td>")
                    .el("<td>", &date(s.get("LastChangedDate")), "</td>")
                    .el("<td>", &tags(s.get("Tags")), "</td></tr>");
            }
            b.raw("</tbody></table>");
            if let Some(next) = out["NextToken"].as_str() {
                let mut pairs: Vec<(&str, &str)> = FILTERS
                    .iter()
                    .filter_map(|(k, _)| q.opt(k).map(|v| (*k, v)))
                    .collect();
                pairs.push(("next", next));
                b.raw("<p>")
                    .link("/console/secrets", &pairs, "Next page →")
                    .raw("</p>");
            }
        }
    }
    // A write: a new secret (refused, with AWS's error, to a principal not allowed it).
    b.raw("<details class=\"card\" id=\"create-secret\"><summary>Create a secret</summary>")
        .post_form("/console/secrets/create", "create-form", &signed.session.csrf)
        .input("Name", "name", "", "prod/app/db")
        .input("Description", "description", "", "")
        .raw("<label>Value <textarea name=\"value\" id=\"create-value\" rows=\"3\" autocomplete=\"off\"></textarea></label>")
        .raw("<button type=\"submit\" id=\"create-submit\">Create</button></form></details>");
    signed.answer(status, "Secrets", Section::Secrets, b)
}

fn tags(v: Option<&Value>) -> String {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|t| format!("{}={}", show(t.get("Key")), show(t.get("Value"))))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

pub async fn create(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (signed, form) = match signed_in_post(&state, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = form.get("name").trim().to_owned();
    let mut input = json!({
        "Name": name,
        "SecretString": form.get("value"),
        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(d) = form.opt("description") {
        input["Description"] = json!(d);
    }
    match call::call(&state, &signed.caller, SECRETS, "CreateSecret", input).await {
        Ok(_) => redirect(&format!(
            "/console/secret?{}",
            html::query(&[("id", &name), ("done", "created")])
        )),
        Err(r) => {
            render_list(
                &state,
                &signed,
                &super::Form::default(),
                Some(Banner::Error(r)),
            )
            .await
        }
    }
}

pub async fn detail(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query_pairs(&parts);
    let banner = match q.get("done") {
        "put" => Some(Banner::Notice(
            "A new version was stored and labelled AWSCURRENT.".to_owned(),
        )),
        "created" => Some(Banner::Notice("The secret was created.".to_owned())),
        _ => None,
    };
    render_detail(&state, &signed, q.get("id"), banner, None).await
}

/// A value revealed on request: which version, and the value (escaped when rendered).
#[derive(Debug)]
pub struct Revealed {
    pub version: String,
    pub stages: String,
    pub value: String,
}

async fn render_detail(
    state: &AppState,
    signed: &SignedIn,
    id: &str,
    banner: Option<Banner>,
    revealed: Option<Revealed>,
) -> Response<Body> {
    let mut b = Html::new();
    let status = banner.as_ref().and_then(Banner::status);
    if let Some(x) = &banner {
        x.render(&mut b);
    }
    b.raw("<p>")
        .link("/console/secrets", &[], "← All secrets")
        .raw("</p>");
    let described = match call::call(
        state,
        &signed.caller,
        SECRETS,
        "DescribeSecret",
        json!({"SecretId": id}),
    )
    .await
    {
        Ok(d) => d,
        Err(r) => {
            b.error(&r.code, &r.message);
            return signed.answer(Some(r.status), id, Section::Secrets, b);
        }
    };
    let d = &described;
    let name = show(d.get("Name"));
    if let Some(r) = revealed {
        b.raw("<section class=\"card revealed\" id=\"revealed\"><h2>Value of version ")
            .text(&r.version)
            .raw(" ")
            .text(&r.stages)
            .raw("</h2><pre id=\"revealed-value\">")
            .text(&r.value)
            .raw("</pre><p class=\"hint\">This reveal is in the audit trail as GetSecretValue. ")
            .link("/console/secret", &[("id", &name)], "Hide")
            .raw("</p></section>");
    }
    b.raw("<section class=\"card\" id=\"overview\"><h2>Overview</h2><dl>");
    for (label, key) in [
        ("Name", "Name"),
        ("ARN", "ARN"),
        ("Description", "Description"),
        ("KMS key", "KmsKeyId"),
        ("Owning service", "OwningService"),
        ("Primary Region", "PrimaryRegion"),
    ] {
        let v = show(d.get(key));
        if !v.is_empty() || key == "Name" {
            b.el("<dt>", label, "</dt>").el("<dd>", &v, "</dd>");
        }
    }
    for (label, key) in [
        ("Created", "CreatedDate"),
        ("Last changed", "LastChangedDate"),
        ("Last accessed", "LastAccessedDate"),
        ("Deleted", "DeletedDate"),
    ] {
        let v = date(d.get(key));
        if !v.is_empty() {
            b.el("<dt>", label, "</dt>").el("<dd>", &v, "</dd>");
        }
    }
    b.el("<dt>", "Tags", "</dt>")
        .el("<dd>", &tags(d.get("Tags")), "</dd>")
        .raw("</dl></section>");

    // Rotation.
    let enabled = d["RotationEnabled"].as_bool() == Some(true);
    b.raw("<section class=\"card\" id=\"rotation\"><h2>Rotation</h2><dl>")
        .el("<dt>", "Status", "</dt>")
        .el(
            "<dd id=\"rotation-status\">",
            if enabled {
                "Rotation enabled"
            } else {
                "Rotation disabled"
            },
            "</dd>",
        )
        .el("<dt>", "Function", "</dt>")
        .el("<dd>", &show(d.get("RotationLambdaARN")), "</dd>")
        .el("<dt>", "Schedule", "</dt>")
        .el(
            "<dd id=\"rotation-schedule\">",
            &schedule(d.get("RotationRules")),
            "</dd>",
        )
        .el("<dt>", "Last rotated", "</dt>")
        .el(
            "<dd id=\"last-rotated\">",
            &date(d.get("LastRotatedDate")),
            "</dd>",
        )
        .el("<dt>", "Next rotation", "</dt>")
        .el(
            "<dd id=\"next-rotation\">",
            &date(d.get("NextRotationDate")),
            "</dd>",
        )
        .raw("</dl>");
    // The rotation history is coffer's own DescribeRotation, for account administrators.
    match call::call(
        state,
        &signed.caller,
        call::ADMIN,
        "DescribeRotation",
        json!({"SecretId": name}),
    )
    .await
    {
        Ok(r) => {
            if let Some(p) = r.get("InProgress") {
                b.raw("<p class=\"notice\">In progress: step ")
                    .text(&show(p.get("Step")))
                    .raw(", attempt ")
                    .text(&show(p.get("Attempts")))
                    .raw(", next attempt ")
                    .text(&date(p.get("NextAttemptDate")))
                    .raw(" ")
                    .text(&show(p.get("LastError")))
                    .raw("</p>");
            }
            let events = r["Events"].as_array().cloned().unwrap_or_default();
            if !events.is_empty() {
                b.raw("<h3>History</h3><table class=\"data\" id=\"rotation-history\">")
                    .head(&["When", "Token", "Step", "Outcome", "Message"])
                    .raw("<tbody>");
                for e in &events {
                    b.row(&[
                        &date(e.get("Date")),
                        &show(e.get("ClientRequestToken")),
                        &show(e.get("Step")),
                        &show(e.get("Outcome")),
                        &show(e.get("Message")),
                    ]);
                }
                b.raw("</tbody></table>");
            }
        }
        Err(r) => {
            b.raw("<p class=\"hint\">Rotation history: ")
                .text(&r.code)
                .raw(" (coffer's DescribeRotation is for the account administrator).</p>");
        }
    }
    b.raw("</section>");

    // Versions and their labels.
    b.raw("<section class=\"card\" id=\"versions\"><h2>Versions</h2>");
    match call::call(
        state,
        &signed.caller,
        SECRETS,
        "ListSecretVersionIds",
        json!({"SecretId": name, "IncludeDeprecated": true, "MaxResults": 100}),
    )
    .await
    {
        Err(r) => {
            b.error(&r.code, &r.message);
        }
        Ok(v) => {
            b.raw("<table class=\"data\" id=\"versions-table\">")
                .head(&["Version", "Labels", "Created", "Last accessed", "Value"])
                .raw("<tbody>");
            for v in v["Versions"].as_array().cloned().unwrap_or_default() {
                let vid = show(v.get("VersionId"));
                let stages = joined(&v["VersionStages"]);
                b.raw("<tr>")
                    .el("<td class=\"mono\">", &vid, "</td>")
                    .el("<td class=\"labels\">", &stages, "</td>")
                    .el("<td>", &date(v.get("CreatedDate")), "</td>")
                    .el("<td>", &date(v.get("LastAccessedDate")), "</td>")
                    .raw("<td>")
                    .post_form(
                        "/console/secret/reveal",
                        "reveal-form",
                        &signed.session.csrf,
                    )
                    .hidden("id", &name)
                    .hidden("version_id", &vid)
                    .raw(
                        "<button type=\"submit\" class=\"reveal\">Reveal</button></form></td></tr>",
                    );
            }
            b.raw("</tbody></table>");
        }
    }
    b.raw("</section>");

    // Replication.
    b.raw("<section class=\"card\" id=\"replication\"><h2>Replication</h2>");
    let replicas = d["ReplicationStatus"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if replicas.is_empty() {
        b.raw("<p>Not replicated to other Regions.</p>");
    } else {
        b.raw("<table class=\"data\">")
            .head(&["Region", "KMS key", "Status", "Message", "Last accessed"])
            .raw("<tbody>");
        for r in &replicas {
            b.row(&[
                &show(r.get("Region")),
                &show(r.get("KmsKeyId")),
                &show(r.get("Status")),
                &show(r.get("StatusMessage")),
                &date(r.get("LastAccessedDate")),
            ]);
        }
        b.raw("</tbody></table>");
    }
    b.raw("</section>");

    // Resource policy.
    b.raw("<section class=\"card\" id=\"policy\"><h2>Resource policy</h2>");
    match call::call(
        state,
        &signed.caller,
        SECRETS,
        "GetResourcePolicy",
        json!({"SecretId": name}),
    )
    .await
    {
        Err(r) => {
            b.error(&r.code, &r.message);
        }
        Ok(p) => match p["ResourcePolicy"].as_str() {
            None => {
                b.raw("<p>No resource policy.</p>");
            }
            Some(text) => {
                match serde_json::from_str::<Value>(text) {
                    Ok(v) => b.json(&v),
                    Err(_) => b.el("<pre>", text, "</pre>"),
                };
            }
        },
    }
    b.raw("</section>");

    // A write: a new value.
    b.raw("<section class=\"card\" id=\"put-value\"><h2>Store a new value</h2>")
        .post_form("/console/secret/put", "put-form", &signed.session.csrf)
        .hidden("id", &name)
        .raw("<label>New value <textarea name=\"value\" id=\"new-value\" rows=\"3\" autocomplete=\"off\"></textarea></label>")
        .raw("<button type=\"submit\" id=\"put-submit\">Store as AWSCURRENT</button></form></section>");
    signed.answer(status, &name, Section::Secrets, b)
}

/// A rotation schedule as text.
fn schedule(rules: Option<&Value>) -> String {
    let Some(r) = rules else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(e) = r.get("ScheduleExpression").and_then(Value::as_str) {
        parts.push(e.to_owned());
    }
    if let Some(d) = r.get("AutomaticallyAfterDays").and_then(Value::as_i64) {
        parts.push(format!("every {d} day(s)"));
    }
    if let Some(w) = r.get("Duration").and_then(Value::as_str) {
        parts.push(format!("window {w}"));
    }
    parts.join(" · ")
}

pub async fn reveal(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (signed, form) = match signed_in_post(&state, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = form.get("id").to_owned();
    let mut input = json!({"SecretId": id});
    match (form.opt("version_id"), form.opt("stage")) {
        (Some(v), _) => input["VersionId"] = json!(v),
        (None, Some(s)) => input["VersionStage"] = json!(s),
        (None, None) => {}
    }
    match call::call(&state, &signed.caller, SECRETS, "GetSecretValue", input).await {
        Err(r) => render_detail(&state, &signed, &id, Some(Banner::Error(r)), None).await,
        Ok(out) => {
            let value = match (out.get("SecretString"), out.get("SecretBinary")) {
                (Some(Value::String(s)), _) => s.clone(),
                (_, Some(Value::String(b))) => format!("(binary, base64) {b}"),
                _ => String::new(),
            };
            let stages = joined(&out["VersionStages"]);
            let revealed = Revealed {
                version: show(out.get("VersionId")),
                stages: format!("({stages})"),
                value,
            };
            render_detail(&state, &signed, &id, None, Some(revealed)).await
        }
    }
}

pub async fn put_value(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (signed, form) = match signed_in_post(&state, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = form.get("id").to_owned();
    let input = json!({
        "SecretId": id,
        "SecretString": form.get("value"),
        "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
    });
    match call::call(&state, &signed.caller, SECRETS, "PutSecretValue", input).await {
        Ok(_) => redirect(&format!(
            "/console/secret?{}",
            html::query(&[("id", &id), ("done", "put")])
        )),
        Err(r) => render_detail(&state, &signed, &id, Some(Banner::Error(r)), None).await,
    }
}
