//! Parameter Store pages: the tree by path (DescribeParameters, metadata only), a parameter's
//! history and labels (GetParameterHistory, values not shown), reveal (GetParameter with
//! decryption) and a write (PutParameter).

use super::call::{self, SSM};
use super::html::{self, Html, Section, date, joined, show};
use super::secrets::{Banner, Revealed};
use super::{SignedIn, query_pairs, redirect, signed_in, signed_in_post};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// At most this many DescribeParameters pages (50 each) make one tree.
const MAX_PAGES: usize = 40;

/// `/a/b` for `a/b`, `/a/b/`, `/a/b`; `/` for the root.
fn normalise(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}")
    }
}

/// Where `name` sits relative to `path`: a folder (its next segment) or a leaf here.
enum Place {
    Folder(String),
    Leaf,
    Elsewhere,
}

fn place(name: &str, path: &str) -> Place {
    let full = if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("/{name}")
    };
    let prefix = if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    match full.strip_prefix(&prefix) {
        None => Place::Elsewhere,
        Some(rest) => match rest.split_once('/') {
            Some((folder, _)) => Place::Folder(folder.to_owned()),
            None => Place::Leaf,
        },
    }
}

pub async fn tree(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query_pairs(&parts);
    render_tree(&state, &signed, q.get("path"), None).await
}

async fn render_tree(
    state: &AppState,
    signed: &SignedIn,
    path: &str,
    banner: Option<Banner>,
) -> Response<Body> {
    let path = normalise(path);
    let mut b = Html::new();
    let mut status = banner.as_ref().and_then(Banner::status);
    if let Some(x) = &banner {
        x.render(&mut b);
    }
    // Breadcrumbs.
    b.raw("<p class=\"crumbs\" id=\"crumbs\">")
        .link("/console/parameters", &[("path", "/")], "/");
    let mut acc = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        acc.push('/');
        acc.push_str(seg);
        b.raw(" ")
            .link("/console/parameters", &[("path", &acc)], seg)
            .raw(" /");
    }
    b.raw("</p>");
    let mut params = Vec::new();
    let mut next: Option<String> = None;
    let mut truncated = false;
    for page in 0..MAX_PAGES {
        let mut input = json!({"MaxResults": 50});
        if let Some(t) = &next {
            input["NextToken"] = json!(t);
        }
        match call::call(state, &signed.caller, SSM, "DescribeParameters", input).await {
            Err(r) => {
                status.get_or_insert(r.status);
                b.error(&r.code, &r.message);
                break;
            }
            Ok(out) => {
                params.extend(out["Parameters"].as_array().cloned().unwrap_or_default());
                next = out["NextToken"].as_str().map(str::to_owned);
                if next.is_none() {
                    break;
                }
                truncated = page + 1 == MAX_PAGES;
            }
        }
    }
    let mut folders: BTreeMap<String, usize> = BTreeMap::new();
    let mut here = Vec::new();
    for p in &params {
        let name = show(p.get("Name"));
        match place(&name, &path) {
            Place::Folder(f) => *folders.entry(f).or_default() += 1,
            Place::Leaf => here.push(p),
            Place::Elsewhere => {}
        }
    }
    b.raw("<section class=\"card\" id=\"folders\"><h2>Paths under ")
        .text(&path)
        .raw("</h2>");
    if folders.is_empty() {
        b.raw("<p>No deeper paths.</p>");
    } else {
        b.raw("<ul class=\"tree\">");
        for (f, n) in &folders {
            let child = if path == "/" {
                format!("/{f}")
            } else {
                format!("{path}/{f}")
            };
            b.raw("<li>")
                .link("/console/parameters", &[("path", &child)], &format!("{f}/"))
                .raw(" <span class=\"hint\">")
                .num(n)
                .raw(" parameter(s)</span></li>");
        }
        b.raw("</ul>");
    }
    b.raw("</section><section class=\"card\"><h2>Parameters here</h2>")
        .raw("<table class=\"data\" id=\"parameters\">")
        .head(&[
            "Name",
            "Type",
            "Version",
            "Tier",
            "Last modified",
            "By",
            "Description",
        ])
        .raw("<tbody>");
    for p in here {
        let name = show(p.get("Name"));
        b.raw("<tr><td>")
            .link("/console/parameter", &[("name", &name)], &name)
            .raw("</td>");
        for cell in [
            show(p.get("Type")),
            show(p.get("Version")),
            show(p.get("Tier")),
            date(p.get("LastModifiedDate")),
            show(p.get("LastModifiedUser")),
            show(p.get("Description")),
        ] {
            b.el("<td>", &cell, "</td>");
        }
        b.raw("</tr>");
    }
    b.raw("</tbody></table>");
    if truncated {
        b.raw("<p class=\"hint\">Only the first 2,000 parameters are shown.</p>");
    }
    b.raw("</section>");
    let prefill = if path == "/" {
        "/".to_owned()
    } else {
        format!("{path}/")
    };
    b.raw("<details class=\"card\" id=\"put-parameter\"><summary>Put a parameter</summary>")
        .post_form("/console/parameters/put", "put-parameter-form", &signed.session.csrf)
        .input("Name", "name", &prefill, "/prod/app/setting")
        .raw("<label>Type <select name=\"type\" id=\"type\"><option>String</option><option>StringList</option><option>SecureString</option></select></label> ")
        .raw("<label>Value <textarea name=\"value\" id=\"parameter-value\" rows=\"2\" autocomplete=\"off\"></textarea></label>")
        .raw("<label><input type=\"checkbox\" name=\"overwrite\" value=\"true\"> Overwrite</label> ")
        .raw("<button type=\"submit\" id=\"put-parameter-submit\">Put</button></form></details>");
    signed.answer(status, "Parameters", Section::Parameters, b)
}

pub async fn detail(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (parts, _) = req.into_parts();
    let signed = match signed_in(&state, &parts).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query_pairs(&parts);
    let banner =
        (q.get("done") == "put").then(|| Banner::Notice("The parameter was stored.".to_owned()));
    render_detail(&state, &signed, q.get("name"), banner, None).await
}

async fn render_detail(
    state: &AppState,
    signed: &SignedIn,
    name: &str,
    banner: Option<Banner>,
    revealed: Option<Revealed>,
) -> Response<Body> {
    let mut b = Html::new();
    let mut status = banner.as_ref().and_then(Banner::status);
    if let Some(x) = &banner {
        x.render(&mut b);
    }
    let parent = name.rsplit_once('/').map_or("/", |(p, _)| p);
    b.raw("<p>")
        .link("/console/parameters", &[("path", parent)], "← Parameters")
        .raw("</p>");
    if let Some(r) = revealed {
        b.raw("<section class=\"card revealed\" id=\"revealed\"><h2>Value of version ")
            .text(&r.version)
            .raw(" ")
            .text(&r.stages)
            .raw("</h2><pre id=\"revealed-value\">")
            .text(&r.value)
            .raw("</pre><p class=\"hint\">This reveal is in the audit trail as GetParameter. ")
            .link("/console/parameter", &[("name", name)], "Hide")
            .raw("</p></section>");
    }
    let history = call::call(
        state,
        &signed.caller,
        SSM,
        "GetParameterHistory",
        json!({"Name": name, "WithDecryption": false, "MaxResults": 50}),
    )
    .await;
    match history {
        Err(r) => {
            status.get_or_insert(r.status);
            b.error(&r.code, &r.message);
        }
        Ok(h) => {
            let versions = h["Parameters"].as_array().cloned().unwrap_or_default();
            if let Some(last) = versions.last() {
                b.raw("<section class=\"card\" id=\"overview\"><h2>Overview</h2><dl>");
                for (label, key) in [
                    ("Type", "Type"),
                    ("Data type", "DataType"),
                    ("Tier", "Tier"),
                    ("KMS key", "KeyId"),
                    ("Description", "Description"),
                    ("Allowed pattern", "AllowedPattern"),
                    ("Last modified by", "LastModifiedUser"),
                ] {
                    let v = show(last.get(key));
                    if !v.is_empty() {
                        b.el("<dt>", label, "</dt>").el("<dd>", &v, "</dd>");
                    }
                }
                b.raw("</dl></section>");
            }
            b.raw("<section class=\"card\" id=\"history\"><h2>History</h2>")
                .raw("<table class=\"data\" id=\"history-table\">")
                .head(&[
                    "Version", "Labels", "Type", "Modified", "By", "Policies", "Value",
                ])
                .raw("<tbody>");
            for v in versions.iter().rev() {
                let version = show(v.get("Version"));
                let labels = joined(&v["Labels"]);
                let policies = v["Policies"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|p| show(p.get("PolicyType")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                b.raw("<tr>");
                for cell in [
                    version.clone(),
                    labels,
                    show(v.get("Type")),
                    date(v.get("LastModifiedDate")),
                    show(v.get("LastModifiedUser")),
                    policies,
                ] {
                    b.el("<td>", &cell, "</td>");
                }
                b.raw("<td>")
                    .post_form(
                        "/console/parameter/reveal",
                        "reveal-form",
                        &signed.session.csrf,
                    )
                    .hidden("name", name)
                    .hidden("version", &version)
                    .raw(
                        "<button type=\"submit\" class=\"reveal\">Reveal</button></form></td></tr>",
                    );
            }
            b.raw("</tbody></table></section>");
        }
    }
    b.raw("<section class=\"card\" id=\"put-value\"><h2>Store a new version</h2>")
        .post_form("/console/parameters/put", "put-parameter-form", &signed.session.csrf)
        .hidden("name", name)
        .hidden("overwrite", "true")
        .hidden("back", "detail")
        .raw("<label>Value <textarea name=\"value\" id=\"parameter-value\" rows=\"2\" autocomplete=\"off\"></textarea></label>")
        .raw("<button type=\"submit\" id=\"put-parameter-submit\">Store</button></form></section>");
    signed.answer(status, name, Section::Parameters, b)
}

pub async fn reveal(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (signed, form) = match signed_in_post(&state, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = form.get("name").to_owned();
    let selector = match form.opt("version") {
        Some(v) => format!("{name}:{v}"),
        None => name.clone(),
    };
    let input = json!({"Name": selector, "WithDecryption": true});
    match call::call(&state, &signed.caller, SSM, "GetParameter", input).await {
        Err(r) => render_detail(&state, &signed, &name, Some(Banner::Error(r)), None).await,
        Ok(out) => {
            let p = &out["Parameter"];
            let revealed = Revealed {
                version: show(p.get("Version")),
                stages: format!("({})", show(p.get("Type"))),
                value: show(p.get("Value")),
            };
            render_detail(&state, &signed, &name, None, Some(revealed)).await
        }
    }
}

pub async fn put(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response<Body> {
    let (signed, form) = match signed_in_post(&state, req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let name = form.get("name").trim().to_owned();
    let mut input = json!({
        "Name": name,
        "Value": form.get("value"),
        "Overwrite": form.get("overwrite") == "true",
    });
    if let Some(t) = form.opt("type") {
        input["Type"] = json!(t);
    }
    match call::call(&state, &signed.caller, SSM, "PutParameter", input).await {
        Ok(_) => redirect(&format!(
            "/console/parameter?{}",
            html::query(&[("name", &name), ("done", "put")])
        )),
        Err(r) if form.get("back") == "detail" => {
            render_detail(&state, &signed, &name, Some(Banner::Error(r)), None).await
        }
        Err(r) => render_tree(&state, &signed, "/", Some(Banner::Error(r))).await,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_place_under_paths() {
        assert!(matches!(place("/a/b/c", "/"), Place::Folder(f) if f == "a"));
        assert!(matches!(place("/a/b/c", "/a"), Place::Folder(f) if f == "b"));
        assert!(matches!(place("/a/b/c", "/a/b"), Place::Leaf));
        assert!(matches!(place("plain", "/"), Place::Leaf));
        assert!(matches!(place("/ab/c", "/a"), Place::Elsewhere));
        assert_eq!(normalise("a/b/"), "/a/b");
        assert_eq!(normalise(""), "/");
    }
}
