//! awsJson 1.1: `POST /` with `X-Amz-Target: Prefix.Operation` and a JSON body.
//! <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>
//!
//! The prefix picks the service from [`coffer_service::dispatch`]'s table; everything about the
//! service (signing name, auditing, pre-dispatch hooks) comes from its line there.

use super::HttpRequest;
use super::audit::Draft;
use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use coffer_service::dispatch;
use coffer_service::metrics::OperationLabels;

pub async fn handle(
    state: &AppState,
    req: &HttpRequest<'_>,
    target: &str,
    request_id: &str,
    served: &mut Option<OperationLabels>,
) -> Response<Body> {
    let mut draft = None;
    let result = run(state, req, target, request_id, &mut draft, served).await;
    // Fail closed: no answer leaves before its audit record is durable.
    let result = match draft {
        Some(d) => d
            .finish(state, result.as_ref().map(|_| ()))
            .await
            .and(result),
        None => result,
    };
    match result {
        Ok(body) => {
            let mut resp = Response::new(Body::from(body));
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            if let Ok(v) = HeaderValue::from_str(request_id) {
                h.insert("x-amzn-requestid", v);
            }
            resp
        }
        Err(e) => e.render(Protocol::Json, request_id),
    }
}

/// A target no service of the table has: a service coffer does not serve, if the request was
/// signed for one, else an unknown operation.
fn unknown_target(req: &HttpRequest<'_>, target: &str) -> WireError {
    match super::scope_service(req.parts) {
        Some(service) if !dispatch::serves_signing_name(&service) => {
            WireError::unsupported_service(&service, Protocol::Json)
        }
        _ => WireError::unknown_operation(target),
    }
}

async fn run(
    state: &AppState,
    req: &HttpRequest<'_>,
    target: &str,
    request_id: &str,
    draft: &mut Option<Draft>,
    served: &mut Option<OperationLabels>,
) -> Result<Vec<u8>, WireError> {
    let (prefix, op) = target
        .rsplit_once('.')
        .ok_or_else(|| unknown_target(req, target))?;
    let service = dispatch::by_target(prefix, op).ok_or_else(|| unknown_target(req, target))?;
    let d = draft.insert(Draft::new(req, service.audit_as, op, request_id));
    let ctx = req
        .authenticate(state, service.signing_name, request_id, Protocol::Json)
        .await?;
    d.authenticated(&ctx);
    if !service.has_operation(op) {
        return Err(WireError::unknown_operation(target));
    }
    *served = Some(OperationLabels {
        service: service.signing_name,
        operation: op.to_owned(),
    });
    state.throttle(&ctx, service.signing_name, op, Protocol::Json)?;
    let input: serde_json::Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(req.body).map_err(|_| WireError::not_json())?
    };
    if service.audit_documents {
        d.input(&input);
    }
    let output = state
        .services
        .dispatch(service.id, &ctx, op, input)
        .await
        .map_err(|e| WireError::from_service(&*e, request_id))?;
    if service.audit_documents {
        d.output(&output);
    }
    serde_json::to_vec(&output).map_err(|e| {
        tracing::error!(request_id, error = %e, "encoding response");
        WireError::internal()
    })
}
