//! `coffer breakglass ...`: break-glass access with a two-person rule, as signed
//! `coffer.admin.*` calls (credentials, region and endpoint as for `coffer admin` and the aws
//! CLI). Each command prints the server's JSON answer.
//!
//! - `request --role-arn ARN --reason TEXT --duration-seconds N` → `{"RequestId", ...}`
//! - `approve --request-id ID` (a second person, with `coffer:ApproveBreakGlass`)
//! - `credentials --request-id ID` (the requester only) → `{"Credentials": {...}}`
//! - `revoke --request-id ID`, `report --request-id ID` (`--format text` for people)
//! - `drill`: the quarterly self-test; `{"Passed", "Steps"}`, exit status 1 on a failed step

use crate::admin::{call_blocking, region};
use coffer_client::{ClientOptions, Env};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct BreakGlassArgs {
    /// The coffer server [default: $AWS_ENDPOINT_URL_COFFER, $AWS_ENDPOINT_URL, the profile's
    /// endpoint_url, or http://127.0.0.1:4566].
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// Region [default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region or us-east-1].
    #[arg(long, global = true)]
    region: Option<String>,
    /// Profile in the shared credentials file [default: $AWS_PROFILE or default].
    #[arg(long, global = true)]
    profile: Option<String>,
    #[command(subcommand)]
    command: BreakGlassCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BreakGlassCommand {
    /// Ask for break-glass access to a role tagged coffer:break-glass=true. A second person
    /// must approve it.
    Request {
        #[arg(long)]
        role_arn: String,
        /// Why: it goes into the incident's report.
        #[arg(long)]
        reason: String,
        /// How long the credentials may work once approved [default: 3600].
        #[arg(long)]
        duration_seconds: Option<i64>,
    },
    /// Approve someone else's pending request.
    Approve {
        #[arg(long)]
        request_id: String,
    },
    /// The requester's temporary credentials for an approved request (JSON, like
    /// `aws sts assume-role`).
    Credentials {
        #[arg(long)]
        request_id: String,
    },
    /// End a request or its window now: its credentials stop working at once.
    Revoke {
        #[arg(long)]
        request_id: String,
    },
    /// The quarterly drill (the account's root): the whole flow against the drill role and
    /// secret `coffer-breakglass-drill`, step by step; exits 1 if a step failed.
    Drill,
    /// The incident's timeline: who requested and approved, what was read, rotations.
    Report {
        #[arg(long)]
        request_id: String,
        /// `json` (default) or `text`.
        #[arg(long, default_value = "json")]
        format: String,
    },
}

pub fn main(args: BreakGlassArgs) -> anyhow::Result<bool> {
    let env = Env::process();
    let options = ClientOptions {
        endpoint_url: args.endpoint_url.clone(),
        region: Some(region(
            args.region.as_deref(),
            args.profile.as_deref(),
            &env,
        )?),
        profile: args.profile.clone(),
    };
    let mut text = false;
    let (op, body) = match args.command {
        BreakGlassCommand::Request {
            role_arn,
            reason,
            duration_seconds,
        } => {
            let mut b = json!({"RoleArn": role_arn, "Reason": reason});
            if let Some(d) = duration_seconds {
                b["DurationSeconds"] = json!(d);
            }
            ("RequestBreakGlass", b)
        }
        BreakGlassCommand::Approve { request_id } => {
            ("ApproveBreakGlass", json!({"RequestId": request_id}))
        }
        BreakGlassCommand::Credentials { request_id } => {
            ("GetBreakGlassCredentials", json!({"RequestId": request_id}))
        }
        BreakGlassCommand::Revoke { request_id } => {
            ("RevokeBreakGlass", json!({"RequestId": request_id}))
        }
        BreakGlassCommand::Drill => ("RunBreakGlassDrill", json!({})),
        BreakGlassCommand::Report { request_id, format } => {
            text = match format.as_str() {
                "json" => false,
                "text" => true,
                other => anyhow::bail!("unknown --format {other:?}: use json or text"),
            };
            ("GetBreakGlassReport", json!({"RequestId": request_id}))
        }
    };
    let out = call_blocking(&options, &env, "coffer-breakglass", op, &body)?;
    #[allow(clippy::print_stdout)] // the command's answer
    {
        if text {
            print!("{}", report_text(&out));
        } else {
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    // A drill that failed a step fails the command.
    Ok(out.get("Passed").and_then(Value::as_bool).unwrap_or(true))
}

/// The report for a post-incident document.
fn report_text(r: &Value) -> String {
    let s = |k: &str| match &r[k] {
        Value::String(v) => v.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "-".to_owned(),
    };
    let mut out = format!(
        "Break-glass incident {}\n  state:      {}\n  role:       {}\n  reason:     {}\n  requested:  {} by {}\n  approved:   {} by {}\n  window end: {}\n  revoked:    {}\n  audit as:   {}\n  rotate by:  {}\nReads:\n",
        s("RequestId"),
        s("State"),
        s("RoleArn"),
        s("Reason"),
        s("RequestedAt"),
        s("RequestedBy"),
        s("ApprovedAt"),
        s("ApprovedBy"),
        s("SessionExpiresAt"),
        s("RevokedAt"),
        s("SessionArn"),
        s("RotationDeadline"),
    );
    for read in r["Reads"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {} ({}, {} reads): rotation {}\n",
            read["Arn"].as_str().unwrap_or("-"),
            read["Kind"].as_str().unwrap_or("-"),
            read["Reads"],
            read["Rotation"].as_str().unwrap_or("-"),
        ));
    }
    out
}
