//! `RunBreakGlassDrill` (`coffer breakglass drill`): the quarterly test of the break-glass
//! workflow, run by an account's root against a drill role and a drill secret of its own
//! (`coffer-breakglass-drill`), never production ones. Every step goes through the same code a
//! real incident does — IAM and Secrets Manager handlers, STS, the request/approve/credentials/
//! revoke operations, the session-token check the server's authenticator makes, the read
//! recording and the after-window rotation — and the answer says which steps worked.
//!
//! The second person is the drill approver, an IAM user `coffer-breakglass-drill-approver`
//! allowed `coffer:ApproveBreakGlass` on the drill role only, with no access key: the drill
//! acts as it from inside the server.

use super::AdminError;
use super::breakglass::{BreakGlass, IdInput, RequestInput};
use crate::error::ServiceError;
use crate::{Principal, RequestContext};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const ROLE: &str = "coffer-breakglass-drill";
const APPROVER: &str = "coffer-breakglass-drill-approver";
const SECRET: &str = "coffer-breakglass-drill";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillInput {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DrillOutput {
    passed: bool,
    request_id: Option<String>,
    steps: Vec<Step>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Step {
    step: &'static str,
    passed: bool,
    detail: String,
}

/// The steps so far; `check` records one and says whether it passed.
#[derive(Default)]
struct Steps(Vec<Step>);

impl Steps {
    fn check<T, E: std::fmt::Debug>(&mut self, step: &'static str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => {
                self.0.push(Step {
                    step,
                    passed: true,
                    detail: String::new(),
                });
                Some(v)
            }
            Err(e) => {
                self.0.push(Step {
                    step,
                    passed: false,
                    detail: format!("{e:?}"),
                });
                None
            }
        }
    }

    fn expect(&mut self, step: &'static str, ok: bool, detail: String) -> bool {
        self.0.push(Step {
            step,
            passed: ok,
            detail: if ok { String::new() } else { detail },
        });
        ok
    }
}

/// Ignore "already exists": the drill's fixtures persist between drills.
fn created<E: ServiceError>(r: Result<Value, E>) -> Result<(), String> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.code(), "EntityAlreadyExists" | "ResourceExistsException") => Ok(()),
        Err(e) => Err(format!("{}: {}", e.code(), e.message())),
    }
}

fn doc(statement: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

pub(super) async fn run(
    bg: &BreakGlass,
    ctx: &RequestContext,
    _input: DrillInput,
) -> Result<DrillOutput, AdminError> {
    let account = ctx.account().to_owned();
    if ctx.principal.arn != format!("arn:aws:iam::{account}:root") {
        return Err(AdminError::AccessDenied(format!(
            "User: {} is not authorized to run the break-glass drill: only the account's administrator (root) may",
            ctx.principal.arn
        )));
    }
    let role_arn = format!("arn:aws:iam::{account}:role/{ROLE}");
    let mut steps = Steps::default();
    let fixtures = fixtures(bg, ctx, &role_arn).await;
    let Some(approver) = steps.check("create the drill role, approver and secret", fixtures) else {
        return Ok(done(steps, None));
    };

    let assumed = bg
        .sts
        .dispatch(
            ctx,
            "AssumeRole",
            json!({"RoleArn": role_arn, "RoleSessionName": "drill"}),
        )
        .await;
    steps.expect(
        "AssumeRole on the break-glass role is refused",
        assumed.is_err(),
        "AssumeRole succeeded".to_owned(),
    );

    let requested = super::breakglass::request(
        bg,
        ctx,
        RequestInput::new(
            &role_arn,
            "quarterly break-glass drill",
            bg.config().min_duration_seconds.max(900),
        ),
    )
    .await;
    let Some(req) = steps.check("request break-glass access", requested) else {
        return Ok(done(steps, None));
    };
    let id = req.request_id().to_owned();
    let self_approval = super::breakglass::approve(bg, ctx, IdInput::new(&id)).await;
    steps.expect(
        "the requester cannot approve its own request",
        matches!(self_approval, Err(AdminError::AccessDenied(_))),
        format!("{self_approval:?}"),
    );
    let approver_ctx = RequestContext {
        principal: approver,
        ..ctx.clone()
    };
    let approved = super::breakglass::approve(bg, &approver_ctx, IdInput::new(&id)).await;
    if steps.check("a second person approves", approved).is_none() {
        return Ok(done(steps, Some(id)));
    }
    let creds = super::breakglass::credentials(bg, ctx, IdInput::new(&id))
        .await
        .and_then(|c| serde_json::to_value(c).map_err(|e| AdminError::Internal(e.to_string())));
    let Some(creds) = steps.check("the requester receives credentials", creds) else {
        return Ok(done(steps, Some(id)));
    };
    let session = used(bg, ctx, &creds).await;
    let Some(session_ctx) = steps.check(
        "the credentials authenticate and read the drill secret",
        session,
    ) else {
        return Ok(done(steps, Some(id)));
    };
    let revoked = super::breakglass::revoke(bg, ctx, IdInput::new(&id)).await;
    steps.check("revoke", revoked);
    let open = bg
        .identity
        .incident_open(&id, session_ctx.now)
        .await
        .unwrap_or(true);
    steps.expect(
        "revoked credentials stop working",
        !open,
        "the incident is still open".to_owned(),
    );
    let rotated = rotated_after(bg, ctx, &id).await;
    steps.check("the secret read is rotated after the window", rotated);
    Ok(done(steps, Some(id)))
}

fn done(steps: Steps, request_id: Option<String>) -> DrillOutput {
    DrillOutput {
        passed: steps.0.iter().all(|s| s.passed),
        request_id,
        steps: steps.0,
    }
}

/// The drill role (tagged, allowed to read the drill secret), the approver (allowed to approve
/// for the drill role only) and the drill secret (rotated by coffer's random-password rotator).
/// Returns the approver as a principal.
async fn fixtures(
    bg: &BreakGlass,
    ctx: &RequestContext,
    role_arn: &str,
) -> Result<Principal, String> {
    let account = ctx.account();
    let trust = doc(
        json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"}),
    );
    created(
        bg.iam
            .dispatch(
                ctx,
                "CreateRole",
                json!({"RoleName": ROLE, "AssumeRolePolicyDocument": trust,
                "Tags": [{"Key": crate::sts::BREAK_GLASS_TAG, "Value": "true"}]}),
            )
            .await,
    )?;
    let read = doc(
        json!({"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*"}),
    );
    created(
        bg.iam
            .dispatch(
                ctx,
                "PutRolePolicy",
                json!({"RoleName": ROLE, "PolicyName": "drill-read", "PolicyDocument": read}),
            )
            .await,
    )?;
    created(
        bg.iam
            .dispatch(ctx, "CreateUser", json!({"UserName": APPROVER}))
            .await,
    )?;
    let approve =
        doc(json!({"Effect": "Allow", "Action": "coffer:ApproveBreakGlass", "Resource": role_arn}));
    created(
        bg.iam
            .dispatch(ctx, "PutUserPolicy", json!({"UserName": APPROVER, "PolicyName": "drill-approve", "PolicyDocument": approve}))
            .await,
    )?;
    let user = bg
        .iam
        .dispatch(ctx, "GetUser", json!({"UserName": APPROVER}))
        .await
        .map_err(|e| e.message())?;
    let value =
        json!({"username": "drill", "password": uuid::Uuid::new_v4().to_string()}).to_string();
    created(
        bg.sm
            .dispatch(
                ctx,
                "CreateSecret",
                json!({"Name": SECRET, "SecretString": value,
                "ClientRequestToken": uuid::Uuid::new_v4().to_string(),
                "Description": "break-glass drill: no production value"}),
            )
            .await,
    )?;
    let lambda = format!(
        "arn:aws:lambda:{}:{account}:function:{}",
        ctx.region(),
        crate::secretsmanager::rotation::GENERIC_ROTATOR
    );
    let described = bg
        .sm
        .dispatch(ctx, "DescribeSecret", json!({"SecretId": SECRET}))
        .await
        .map_err(|e| e.message())?;
    if described.get("RotationLambdaARN").and_then(Value::as_str) != Some(lambda.as_str()) {
        bg.sm
            .dispatch(
                ctx,
                "RotateSecret",
                json!({"SecretId": SECRET, "RotationLambdaARN": lambda,
                "RotationRules": {"AutomaticallyAfterDays": 90}, "RotateImmediately": false,
                "ClientRequestToken": uuid::Uuid::new_v4().to_string()}),
            )
            .await
            .map_err(|e| e.message())?;
    }
    let user_id = user["User"]["UserId"]
        .as_str()
        .unwrap_or(APPROVER)
        .to_owned();
    Ok(Principal {
        account_id: ctx.principal.account_id.clone(),
        arn: format!("arn:aws:iam::{account}:user/{APPROVER}"),
        user_id,
        access_key_id: String::new(),
        session: None,
        tags: Vec::new(),
    })
}

/// Authenticate the credentials as the server does and read the drill secret with them.
async fn used(
    bg: &BreakGlass,
    ctx: &RequestContext,
    creds: &Value,
) -> Result<RequestContext, String> {
    let c = &creds["Credentials"];
    let (Some(akid), Some(token)) = (c["AccessKeyId"].as_str(), c["SessionToken"].as_str()) else {
        return Err("no credentials in the answer".to_owned());
    };
    let credential = bg
        .identity
        .session_credential(akid, token, ctx.now / 1000)
        .map_err(|e| format!("the session token does not verify: {e:?}"))?;
    let incident = credential
        .principal
        .session
        .as_ref()
        .and_then(|s| s.incident.clone())
        .ok_or("the session names no incident")?;
    if !bg
        .identity
        .incident_open(&incident, ctx.now)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("the incident is not open".to_owned());
    }
    let session_ctx = RequestContext {
        principal: credential.principal.clone(),
        ..ctx.clone()
    };
    let input = json!({"SecretId": SECRET});
    let out = bg
        .sm
        .dispatch(&session_ctx, "GetSecretValue", input.clone())
        .await
        .map_err(|e| format!("{}: {}", e.code(), e.message()))?;
    bg.observe(&session_ctx, "GetSecretValue", &input, &out)
        .await;
    Ok(session_ctx)
}

/// Close the drill's incident now (as housekeeping would once its window ended) and check the
/// drill secret was rotated and reported so.
async fn rotated_after(bg: &BreakGlass, ctx: &RequestContext, id: &str) -> Result<(), String> {
    let before = current_version(bg, ctx).await?;
    bg.close(id, ctx.now).await.map_err(|e| e.to_string())?;
    let after = current_version(bg, ctx).await?;
    if before == after {
        return Err("AWSCURRENT did not move".to_owned());
    }
    let report = super::breakglass::report(bg, ctx, IdInput::new(id))
        .await
        .map_err(|e| e.message())?;
    let report = serde_json::to_value(&report).map_err(|e| e.to_string())?;
    let listed = report["Reads"].as_array().into_iter().flatten().any(|r| {
        r["Arn"].as_str().is_some_and(|a| a.contains(SECRET)) && r["Rotation"] == "rotated"
    });
    if listed {
        Ok(())
    } else {
        Err(format!("the report does not list the rotation: {report}"))
    }
}

async fn current_version(bg: &BreakGlass, ctx: &RequestContext) -> Result<String, String> {
    let d = bg
        .sm
        .dispatch(ctx, "DescribeSecret", json!({"SecretId": SECRET}))
        .await
        .map_err(|e| e.message())?;
    d["VersionIdsToStages"]
        .as_object()
        .and_then(|m| {
            m.iter()
                .find(|(_, s)| {
                    s.as_array()
                        .is_some_and(|a| a.iter().any(|x| x == "AWSCURRENT"))
                })
                .map(|(v, _)| v.clone())
        })
        .ok_or_else(|| "the drill secret has no AWSCURRENT version".to_owned())
}
