//! Calling coffer's services as the signed-in principal. Each call goes through what an API
//! request goes through after authentication: the account's quota, [`Services::dispatch`]
//! (pre-dispatch hook, model validation, the typed handler, which authorises against the
//! principal's IAM policies and the resource's policy), and an audit record made durable before
//! the page is answered (fail closed) — the same record an API call makes, with the console's
//! user agent. Errors come back as the AWS code and message the API would answer.
//!
//! [`Services::dispatch`]: coffer_service::Services::dispatch

use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use coffer_service::audit::Call;
use coffer_service::dispatch;
use coffer_service::{Principal, RequestContext};
use coffer_types::Region;
use serde_json::Value;

/// The caller of a console page: who, from where.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub region: Region,
    pub source_ip: Option<std::net::IpAddr>,
    pub secure_transport: bool,
    pub user_agent: String,
    pub dev: bool,
}

/// A refused or failed call, as the API would have answered it.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl From<WireError> for Refusal {
    fn from(e: WireError) -> Self {
        Self {
            status: e.status,
            code: e.code.to_owned(),
            message: e.message,
        }
    }
}

impl Caller {
    fn context(&self, request_id: &str) -> RequestContext {
        RequestContext {
            principal: self.principal.clone(),
            region: self.region.clone(),
            request_id: request_id.to_owned(),
            now: coffer_service::now_millis(),
            dev: self.dev,
            source_ip: self.source_ip,
            secure_transport: self.secure_transport,
            via_service: None,
        }
    }
}

/// Call `op` of the service reached by the awsJson target prefix `prefix` with `input`, as
/// `caller`, audited.
pub async fn call(
    state: &AppState,
    caller: &Caller,
    prefix: &str,
    op: &str,
    input: Value,
) -> Result<Value, Refusal> {
    let Some(service) = dispatch::by_target(prefix, op).filter(|s| s.has_operation(op)) else {
        return Err(WireError::unknown_operation(&format!("{prefix}.{op}")).into());
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let ctx = caller.context(&request_id);
    let mut record = Call::new(service.audit_as, op, &request_id, ctx.now);
    record.source_ip = caller
        .source_ip
        .map(|ip| ip.to_string())
        .unwrap_or_default();
    record.user_agent = Some(caller.user_agent.clone());
    record.access_key_id = Some(caller.principal.access_key_id.clone());
    record.principal = Some(caller.principal.clone());
    record.region = caller.region.as_str().to_owned();
    if service.audit_documents {
        record.set_input(&input);
    }
    let result = match state.throttle(&ctx, service.signing_name, op, Protocol::Json) {
        Err(e) => Err(e),
        Ok(()) => state
            .services
            .dispatch(service.id, &ctx, op, input)
            .await
            .map_err(|e| WireError::from_service(&*e, &request_id)),
    };
    match &result {
        Ok(output) if service.audit_documents => record.set_output(output),
        Ok(_) => {}
        Err(e) => record.set_error(e.code, &e.message),
    }
    // Fail closed: nothing is shown that was not recorded.
    if let Err(e) = state.services.audit.record(&record).await {
        tracing::error!(request_id, error = %e, "console: refusing to answer unaudited");
        return Err(if e.transient {
            WireError::unavailable()
        } else {
            WireError::internal()
        }
        .into());
    }
    result.map_err(Refusal::from)
}

/// The awsJson target prefixes of the services the console calls.
pub const SECRETS: &str = "secretsmanager";
pub const SSM: &str = "AmazonSSM";
pub const KMS: &str = "TrentService";
pub const CLOUDTRAIL: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
pub const ADMIN: &str = coffer_service::admin::TARGET_PREFIX;
