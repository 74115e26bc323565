//! The query protocol (STS, IAM): form-encoded `Action=...&Version=...` parameters, XML responses.
//! <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html>

use super::HttpRequest;
use super::audit::Draft;
use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use coffer_service::Services;
use coffer_service::dispatch::{self, Descriptor, Wire};
use coffer_service::metrics::OperationLabels;
use std::fmt::Write as _;

/// Where a request without `X-Amz-Target` goes: the query service of its credential scope, or
/// STS when it names none (unsigned calls); `Err` with the service's name when the scope names
/// one coffer does not serve at all. A scope naming an awsJson service goes to STS as before, and
/// fails its signature check there.
fn route(parts: &axum::http::request::Parts) -> Result<&'static Descriptor, String> {
    match super::scope_service(parts) {
        Some(s) => match dispatch::by_query_signing_name(&s) {
            Some(d) => Ok(d),
            None if !dispatch::serves_signing_name(&s) => Err(s),
            None => Ok(dispatch::default_query()),
        },
        None => Ok(dispatch::default_query()),
    }
}

fn xmlns(d: &Descriptor) -> &'static str {
    match d.wire {
        Wire::Query { xmlns, .. } => xmlns,
        Wire::Json { .. } => "",
    }
}

/// The XML namespace of errors, before we know more than the headers.
pub fn namespace_for(parts: &axum::http::request::Parts) -> &'static str {
    xmlns(route(parts).unwrap_or_else(|_| dispatch::default_query()))
}

pub async fn handle(
    state: &AppState,
    req: &HttpRequest<'_>,
    request_id: &str,
    served: &mut Option<OperationLabels>,
) -> Response<Body> {
    let service = match route(req.parts) {
        Ok(d) => d,
        Err(unserved) => return unsupported(req, &unserved, request_id),
    };
    let xmlns = xmlns(service);
    let protocol = Protocol::Query { xmlns };
    let mut draft = None;
    let result = run(
        state, req, service, request_id, protocol, &mut draft, served,
    )
    .await;
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

/// Services whose clients read XML errors although their requests are not query-shaped
/// (REST-XML): S3 and its kin.
const REST_XML_SERVICES: &[&str] = &[
    "s3",
    "s3-object-lambda",
    "s3express",
    "cloudfront",
    "route53",
];

/// A request signed for a service coffer does not serve (Lambda, S3, SQS, ...), in the envelope
/// its client reads: query-shaped requests (an `Action`, a form body) and REST-XML services get
/// an `<ErrorResponse>`, the others (REST-JSON) a JSON body.
fn unsupported(req: &HttpRequest<'_>, service: &str, request_id: &str) -> Response<Body> {
    let form = req
        .parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let xml = form || action_of(req).is_some() || REST_XML_SERVICES.contains(&service);
    let protocol = if xml {
        Protocol::Query {
            xmlns: xmlns(dispatch::default_query()),
        }
    } else {
        Protocol::Json
    };
    WireError::unsupported_service(service, protocol).render(protocol, request_id)
}

async fn run(
    state: &AppState,
    req: &HttpRequest<'_>,
    service: &'static Descriptor,
    request_id: &str,
    protocol: Protocol,
    draft: &mut Option<Draft>,
    served: &mut Option<OperationLabels>,
) -> Result<(String, serde_json::Value), WireError> {
    let action = action_of(req);
    let d = draft.insert(Draft::new(
        req,
        service.audit_as,
        action.as_deref().unwrap_or(""),
        request_id,
    ));
    let ctx = if action.as_deref().is_some_and(|a| service.is_unsigned(a)) {
        req.anonymous(state, request_id)
    } else {
        req.authenticate(state, service.signing_name, request_id, protocol)
            .await?
    };
    d.authenticated(&ctx);
    let mut params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.parts.uri.query().unwrap_or("")).unwrap_or_default();
    params.retain(|(k, _)| !k.starts_with("X-Amz-"));
    if !req.body.is_empty() {
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(req.body).map_err(|_| WireError::not_form_encoded())?;
        params.extend(form);
    }
    let Some(op) = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
    else {
        return Err(WireError::missing_action());
    };
    if !service.has_operation(&op) {
        let version = match service.wire {
            Wire::Query { version, .. } => version,
            Wire::Json { .. } => "",
        };
        return Err(WireError::invalid_action(&op, version));
    }
    *served = Some(OperationLabels {
        service: service.signing_name,
        operation: op.clone(),
    });
    state.throttle(&ctx, service.signing_name, &op, protocol)?;
    let failed = |e: dispatch::Failure| WireError::from_service(&*e, request_id);
    let input = Services::query_input(service.id, &op, &params).map_err(failed)?;
    if service.audit_documents {
        d.input(&input);
    }
    let output = state
        .services
        .dispatch(service.id, &ctx, &op, input)
        .await
        .map_err(failed)?;
    if service.audit_documents {
        d.output(&output);
    }
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
