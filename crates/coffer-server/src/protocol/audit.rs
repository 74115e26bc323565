//! The server's half of auditing: what it learns about a call as the call proceeds (who, from
//! where, what was asked, what was answered), handed to [`coffer_service::audit::Auditor`] before
//! the response is sent.

use super::HttpRequest;
use crate::AppState;
use crate::wire_error::WireError;
use axum::extract::ConnectInfo;
use coffer_service::RequestContext;
use coffer_service::audit::Call;
use coffer_service::model::Service;
use std::net::SocketAddr;

/// A call being recorded.
#[derive(Debug)]
pub struct Draft {
    call: Call,
}

/// The access key a request names in its Authorization header or presigned query, verified or not.
fn claimed_access_key(req: &HttpRequest<'_>) -> Option<String> {
    let from_header = req
        .parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1));
    let from_query = req.parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("X-Amz-Credential="))
    });
    let credential = from_header.or(from_query)?;
    let id = credential.split(['/', '%', ',']).next()?;
    (!id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| id.to_owned())
}

impl Draft {
    pub fn new(req: &HttpRequest<'_>, service: Service, operation: &str, request_id: &str) -> Self {
        let source_ip = req
            .parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default();
        let user_agent = req
            .parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(1024).collect());
        let mut call = Call::new(
            service,
            &operation.chars().take(128).collect::<String>(),
            request_id,
            coffer_service::now_millis(),
        );
        call.source_ip = source_ip;
        call.user_agent = user_agent;
        call.access_key_id = claimed_access_key(req);
        Self { call }
    }

    pub fn authenticated(&mut self, ctx: &RequestContext) {
        self.call.principal = Some(ctx.principal.clone());
        self.call.region = ctx.region().to_owned();
        self.call.time = ctx.now;
    }

    /// The request document, kept only in redacted form.
    pub fn input(&mut self, input: &serde_json::Value) {
        self.call.set_input(input);
    }

    /// The response document (redacted; none for reads).
    pub fn output(&mut self, output: &serde_json::Value) {
        self.call.set_output(output);
    }

    /// Make the record durable. `Err` (an internal failure for the client) if it cannot be.
    pub async fn finish(
        mut self,
        state: &AppState,
        outcome: Result<(), &WireError>,
    ) -> Result<(), WireError> {
        if let Err(e) = outcome {
            self.call.set_error(e.code, &e.message);
        }
        state.services.audit.record(&self.call).await.map_err(|e| {
            tracing::error!(request_id = %self.call.request_id, error = %e, "refusing to answer unaudited");
            if e.transient {
                WireError::unavailable()
            } else {
                WireError::internal()
            }
        })
    }
}
