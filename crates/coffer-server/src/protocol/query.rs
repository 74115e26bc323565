//! The query protocol (STS, IAM): form-encoded `Action=...&Version=...` parameters, XML responses.
//! <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>

use super::HttpRequest;
use super::audit::Draft;
use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response, header};
use coffer_service::error::from_validation;
use coffer_service::model::{self, Service};
use coffer_service::sts::{Sts, StsError};
use std::fmt::Write as _;

const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The signing name in the request's credential scope, read without verifying anything (the
/// verification that follows checks it).
fn scope_service(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    credential.split(['/', ',']).nth(3).map(str::to_owned)
}

/// The XML namespace of errors, before we know more than the headers.
pub fn namespace_for(headers: &HeaderMap) -> &'static str {
    match scope_service(headers).as_deref() {
        Some("iam") => IAM_XMLNS,
        _ => STS_XMLNS,
    }
}

pub async fn handle(state: &AppState, req: &HttpRequest<'_>, request_id: &str) -> Response<Body> {
    let (service, xmlns) = match scope_service(&req.parts.headers).as_deref() {
        Some("iam") => ("iam", IAM_XMLNS),
        _ => ("sts", STS_XMLNS),
    };
    let protocol = Protocol::Query { xmlns };
    let mut draft = None;
    let result = run(state, req, service, request_id, protocol, &mut draft).await;
    // Fail closed: no answer leaves before its audit record is durable.
    let result = match draft {
        Some(d) => d
            .finish(state, result.as_ref().map(|_| ()))
            .await
            .and(result),
        None => result,
    };
    match result {
        Ok((op, output)) => {
            let mut xml = String::with_capacity(512);
            let _ = write!(xml, "<{op}Response xmlns=\"{xmlns}\"><{op}Result>");
            render(&mut xml, &output);
            let _ = write!(
                xml,
                "</{op}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{op}Response>",
                xml_escape(request_id)
            );
            let mut resp = Response::new(Body::from(xml));
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            if let Ok(v) = HeaderValue::from_str(request_id) {
                h.insert("x-amzn-requestid", v);
            }
            resp
        }
        Err(e) => e.render(protocol, request_id),
    }
}

async fn run(
    state: &AppState,
    req: &HttpRequest<'_>,
    service: &str,
    request_id: &str,
    protocol: Protocol,
    draft: &mut Option<Draft>,
) -> Result<(String, serde_json::Value), WireError> {
    let action = action_of(req);
    let d = draft.insert(Draft::new(
        req,
        if service == "iam" {
            Service::Iam
        } else {
            Service::Sts
        },
        action.as_deref().unwrap_or(""),
        request_id,
    ));
    let ctx = req
        .authenticate(state, service, request_id, protocol)
        .await?;
    d.authenticated(&ctx);
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.parts.uri.query().unwrap_or("")).unwrap_or_default();
    params.retain(|(k, _)| !k.starts_with("X-Amz-"));
    if !req.body.is_empty() {
        let form: Vec<(String, String)> = serde_urlencoded::from_bytes(req.body).map_err(|_| {
            WireError::new(
                400,
                "MalformedInput",
                "The request body is not form-encoded.",
            )
        })?;
        params.extend(form);
    }
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone());
    let Some(op) = action else {
        return Err(WireError::new(400, "MissingAction", "Missing Action"));
    };
    let invalid = || {
        WireError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {op} for version"),
        )
    };
    let output = match service {
        "sts" if Sts::has_operation(&op) => {
            let input = model::model(Service::Sts)
                .query_to_json(&op, &params)
                .map_err(|e| {
                    WireError::from_service(&from_validation::<StsError>(e), request_id)
                })?;
            d.input(&input);
            let output = state
                .services
                .sts
                .dispatch(&ctx, &op, input)
                .await
                .map_err(|e| WireError::from_service(&e, request_id))?;
            d.output(&output);
            output
        }
        // IAM arrives with access control; until then no IAM action exists.
        _ => return Err(invalid()),
    };
    Ok((op, output))
}

/// The `Action` parameter, from the query string or the form body, for the audit record before
/// anything is verified.
fn action_of(req: &HttpRequest<'_>) -> Option<String> {
    let from = |text: &[u8]| {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(text)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v)
    };
    from(req.parts.uri.query().unwrap_or("").as_bytes()).or_else(|| from(req.body))
}

/// Render a JSON output document as query-protocol XML: members as elements, lists as `<member>`.
fn render(out: &mut String, v: &serde_json::Value) {
    match v {
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        serde_json::Value::String(s) => out.push_str(&xml_escape(s)),
        serde_json::Value::Array(items) => {
            for item in items {
                out.push_str("<member>");
                render(out, item);
                out.push_str("</member>");
            }
        }
        serde_json::Value::Object(members) => {
            for (k, v) in members {
                if v.is_null() {
                    continue;
                }
                let _ = write!(out, "<{k}>");
                render(out, v);
                let _ = write!(out, "</{k}>");
            }
        }
    }
}

/// Escape text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
