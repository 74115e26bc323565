//! awsJson 1.1: `POST /` with `X-Amz-Target: Prefix.Operation` and a JSON body.
//! <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html>

use super::HttpRequest;
use super::audit::Draft;
use crate::AppState;
use crate::wire_error::{Protocol, WireError};
use axum::body::Body;
use axum::http::{HeaderValue, Response, header};
use coffer_service::admin::Admin;
use coffer_service::cloudtrail::CloudTrail;
use coffer_service::kms::Kms;
use coffer_service::model::Service;
use coffer_service::secretsmanager::SecretsManager;
use coffer_service::ssm::Ssm;

/// The awsJson services and their signing names, by target prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonService {
    Kms,
    SecretsManager,
    Ssm,
    CloudTrail,
    /// coffer's own administrative operations (`coffer.admin.*`, signing name `coffer`).
    Admin,
}

impl JsonService {
    fn from_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "TrentService" => Some(Self::Kms),
            "secretsmanager" => Some(Self::SecretsManager),
            "AmazonSSM" => Some(Self::Ssm),
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101" => Some(Self::CloudTrail),
            "coffer.admin" => Some(Self::Admin),
            _ => None,
        }
    }

    fn signing_name(self) -> &'static str {
        match self {
            Self::Kms => "kms",
            Self::SecretsManager => "secretsmanager",
            Self::Ssm => "ssm",
            Self::CloudTrail => "cloudtrail",
            Self::Admin => "coffer",
        }
    }

    fn has_operation(self, op: &str) -> bool {
        match self {
            Self::Kms => Kms::has_operation(op),
            Self::SecretsManager => SecretsManager::has_operation(op),
            Self::Ssm => Ssm::has_operation(op),
            Self::CloudTrail => CloudTrail::has_operation(op),
            Self::Admin => Admin::has_operation(op),
        }
    }

    fn model(self) -> Service {
        match self {
            Self::Kms => Service::Kms,
            Self::SecretsManager => Service::SecretsManager,
            Self::Ssm => Service::Ssm,
            Self::CloudTrail => Service::CloudTrail,
            // Audited as Secrets Manager events (they administer its rotation functions); having
            // no model, their parameters are not recorded, so no signing key reaches the trail.
            Self::Admin => Service::SecretsManager,
        }
    }
}

fn unknown_operation(target: &str) -> WireError {
    WireError::new(
        400,
        "UnknownOperationException",
        format!("The operation {target} is not supported."),
    )
}

pub async fn handle(
    state: &AppState,
    req: &HttpRequest<'_>,
    target: &str,
    request_id: &str,
) -> Response<Body> {
    let mut draft = None;
    let result = run(state, req, target, request_id, &mut draft).await;
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

async fn run(
    state: &AppState,
    req: &HttpRequest<'_>,
    target: &str,
    request_id: &str,
    draft: &mut Option<Draft>,
) -> Result<Vec<u8>, WireError> {
    let (prefix, op) = target
        .rsplit_once('.')
        .ok_or_else(|| unknown_operation(target))?;
    if prefix == ADMIN_PREFIX && ACCOUNT_OPERATIONS.contains(&op) {
        return admin(state, req, op, request_id, draft).await;
    }
    let service = JsonService::from_prefix(prefix).ok_or_else(|| unknown_operation(target))?;
    let d = draft.insert(Draft::new(req, service.model(), op, request_id));
    let ctx = req
        .authenticate(state, service.signing_name(), request_id, Protocol::Json)
        .await?;
    d.authenticated(&ctx);
    if !service.has_operation(op) {
        return Err(unknown_operation(target));
    }
    let input: serde_json::Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(req.body).map_err(|_| {
            WireError::new(
                400,
                "SerializationException",
                "The request body is not valid JSON.",
            )
        })?
    };
    d.input(&input);
    let services = &state.services;
    let failed = |e: &dyn coffer_service::ServiceError| WireError::from_service(e, request_id);
    let output = match service {
        JsonService::Kms => services
            .kms
            .dispatch(&ctx, op, input)
            .await
            .map_err(|e| failed(&e)),
        JsonService::SecretsManager => services
            .secretsmanager
            .dispatch(&ctx, op, input)
            .await
            .map_err(|e| failed(&e)),
        JsonService::Ssm => services
            .ssm
            .dispatch(&ctx, op, input)
            .await
            .map_err(|e| failed(&e)),
        JsonService::CloudTrail => services
            .cloudtrail
            .dispatch(&ctx, op, input)
            .await
            .map_err(|e| failed(&e)),
        JsonService::Admin => services
            .admin
            .dispatch(&ctx, op, input)
            .await
            .map_err(|e| failed(&e)),
    }?;
    d.output(&output);
    serde_json::to_vec(&output).map_err(|e| {
        tracing::error!(request_id, error = %e, "encoding response");
        WireError::new(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        )
    })
}

/// Account administration among coffer's own operations: `X-Amz-Target:
/// coffer.admin.CreateAccount` / `coffer.admin.ListAccounts`, signed for `coffer` like the other
/// `coffer.admin.*` calls, and allowed only to the root of the deployment's default account.
const ADMIN_PREFIX: &str = "coffer.admin";
const ACCOUNT_OPERATIONS: &[&str] = &["CreateAccount", "ListAccounts"];

async fn admin(
    state: &AppState,
    req: &HttpRequest<'_>,
    op: &str,
    request_id: &str,
    draft: &mut Option<Draft>,
) -> Result<Vec<u8>, WireError> {
    let d = draft.insert(Draft::new(req, Service::Iam, op, request_id));
    let ctx = req
        .authenticate(state, "coffer", request_id, Protocol::Json)
        .await?;
    d.authenticated(&ctx);
    let default = state.auth.default_account();
    if ctx.principal.account_id != *default
        || ctx.principal.arn != format!("arn:aws:iam::{default}:root")
    {
        return Err(WireError::new(
            400,
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: coffer:{op} (only the root of account {default} administers accounts)",
                ctx.principal.arn
            ),
        ));
    }
    let input: serde_json::Value = serde_json::from_slice(req.body).unwrap_or_default();
    let internal = |e: coffer_service::identity::IdentityError| {
        tracing::error!(request_id, error = %e, "admin operation");
        WireError::new(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        )
    };
    let output = match op {
        "CreateAccount" => {
            let id = input
                .get("AccountId")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let account = coffer_types::AccountId::parse(id).map_err(|_| {
                WireError::new(
                    400,
                    "ValidationException",
                    format!("Invalid account id {id:?}: use 12 digits."),
                )
            })?;
            match state
                .services
                .identity
                .create_account(&account, ctx.now)
                .await
            {
                Ok(key) => serde_json::json!({
                    "AccountId": account.to_string(),
                    "AccessKeyId": key.access_key_id,
                    "SecretAccessKey": String::from_utf8_lossy(key.secret_access_key.expose()),
                }),
                Err(coffer_service::identity::IdentityError::AccountExists(a)) => {
                    return Err(WireError::new(
                        400,
                        "EntityAlreadyExistsException",
                        format!("Account {a} already exists."),
                    ));
                }
                Err(e) => return Err(internal(e)),
            }
        }
        "ListAccounts" => {
            let accounts = state
                .services
                .identity
                .list_accounts()
                .await
                .map_err(internal)?;
            let list: Vec<_> = accounts.iter().map(|a| serde_json::json!({"AccountId": a.account_id, "CreatedAt": a.created_at / 1000})).collect();
            serde_json::json!({ "Accounts": list })
        }
        _ => return Err(unknown_operation(&format!("{ADMIN_PREFIX}.{op}"))),
    };
    // Neither input nor output is recorded in the audit trail (the output holds a secret key).
    serde_json::to_vec(&output).map_err(|_| WireError::new(500, "InternalFailure", "encoding"))
}
