//! `coffer admin ...` (accounts: `create-account`, `list-accounts`; rotation functions;
//! `rotate-master-key`):
//! coffer's own administrative operations, sent to a running server as
//! awsJson 1.1 calls with `X-Amz-Target: coffer.admin.<Operation>`, SigV4-signed for the service
//! name `coffer` with the account administrator's key (the server refuses anyone else).
//!
//! The call goes through coffer-client's `AwsClient`, so credentials, region and endpoint come
//! as for every other client command and the aws CLI: the standard credential chain
//! (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, the shared credentials and config files with
//! `--profile` or `AWS_PROFILE`, web identity); `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
//! the profile's region, else `us-east-1`; `--endpoint-url`, `AWS_ENDPOINT_URL_COFFER`,
//! `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, else `http://127.0.0.1:4566`.

use anyhow::bail;
use coffer_client::{AwsClient, ClientOptions, Env, Service};
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
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
    command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AdminCommand {
    /// Create an account (root of the default account only). Prints its administrator's access
    /// key as JSON {"AccountId", "AccessKeyId", "SecretAccessKey"}, once.
    CreateAccount {
        /// Twelve digits.
        #[arg(long)]
        account_id: String,
    },
    /// List the accounts (root of the default account only).
    ListAccounts,
    /// Register a rotation function reached over HTTP. Prints its signing key, once.
    CreateRotationFunction {
        /// The function name RotationLambdaARNs use: arn:aws:lambda:REGION:ACCOUNT:function:NAME.
        #[arg(long)]
        function_name: String,
        /// Where coffer POSTs the rotation events.
        #[arg(long)]
        url: String,
        /// How long one step may take [default: 30; at most 900].
        #[arg(long)]
        timeout_seconds: Option<i64>,
    },
    /// List the rotation functions reached over HTTP.
    ListRotationFunctions,
    /// Remove a rotation function.
    DeleteRotationFunction {
        #[arg(long)]
        function_name: String,
    },
    /// Re-wrap every access key, every KMS key's material and every rotation function's key
    /// under the server's new master key, then make it the deployment's key (root of the
    /// default account only). Start every node with COFFER_MASTER_KEY (the new key) and
    /// COFFER_PREVIOUS_MASTER_KEY (the old one) first; see docs/operations.md.
    RotateMasterKey {
        /// The new key (raw 32 bytes or base64): the call is refused unless it is the server's
        /// current key.
        #[arg(long)]
        new_master_key_file: Option<std::path::PathBuf>,
    },
    /// A secret's rotation: the one in progress (step, attempts, last error, next attempt) and
    /// the recent history.
    DescribeRotation {
        #[arg(long)]
        secret_id: String,
    },
}

/// The region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, else `us-east-1`
/// (coffer's default region, so that a bare `coffer admin` against a local server works).
pub(crate) fn region(
    region: Option<&str>,
    profile: Option<&str>,
    env: &Env,
) -> anyhow::Result<String> {
    let configured = region
        .map(str::to_owned)
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"));
    if let Some(r) = configured {
        return Ok(r);
    }
    let profile = coffer_client::profile::load(profile, env)?;
    Ok(profile
        .and_then(|p| p.get("region").map(str::to_owned))
        .unwrap_or_else(|| "us-east-1".to_owned()))
}

/// Sign and send one `coffer.admin.<op>` call, once (a retried CreateAccount or
/// CreateRotationFunction would answer that the thing exists); the answer's JSON, or the error
/// as the aws CLI words it.
pub(crate) async fn call(
    client: &AwsClient,
    op: &'static str,
    body: &Value,
) -> anyhow::Result<Value> {
    let body = bytes::Bytes::from(serde_json::to_vec(body)?);
    match client.call_once(Service::CofferAdmin, op, &body).await {
        Ok(answer) => Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null)),
        Err(coffer_client::Error::Service(e)) => bail!(
            "An error occurred ({}) when calling the {op} operation: {}",
            e.code,
            e.message
        ),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "calling {op} at {}",
            client.endpoint(Service::CofferAdmin)
        ))),
    }
}

/// [`call`] from a command's synchronous `main`, with a client made from `options`.
pub(crate) fn call_blocking(
    options: &ClientOptions,
    env: &Env,
    user_agent: &'static str,
    op: &'static str,
    body: &Value,
) -> anyhow::Result<Value> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = AwsClient::new(options, env, user_agent)?;
        call(&client, op, body).await
    })
}

pub fn main(args: AdminArgs) -> anyhow::Result<bool> {
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
    let (op, body) = match args.command {
        AdminCommand::CreateAccount { account_id } => {
            ("CreateAccount", json!({"AccountId": account_id}))
        }
        AdminCommand::ListAccounts => ("ListAccounts", json!({})),
        AdminCommand::CreateRotationFunction {
            function_name,
            url,
            timeout_seconds,
        } => {
            let mut b = json!({"FunctionName": function_name, "Url": url});
            if let Some(t) = timeout_seconds {
                b["TimeoutSeconds"] = json!(t);
            }
            ("CreateRotationFunction", b)
        }
        AdminCommand::ListRotationFunctions => ("ListRotationFunctions", json!({})),
        AdminCommand::DeleteRotationFunction { function_name } => (
            "DeleteRotationFunction",
            json!({"FunctionName": function_name}),
        ),
        AdminCommand::RotateMasterKey {
            new_master_key_file,
        } => {
            let mut b = json!({});
            if let Some(path) = new_master_key_file {
                let key =
                    coffer_crypto::MasterKey::from_bytes(crate::server::read_key_file(&path)?)?;
                b["ExpectedKeyId"] = json!(key.key_id());
            }
            ("RotateMasterKey", b)
        }
        AdminCommand::DescribeRotation { secret_id } => {
            ("DescribeRotation", json!({"SecretId": secret_id}))
        }
    };
    let out = call_blocking(&options, &env, "coffer-admin", op, &body)?;
    #[allow(clippy::print_stdout)] // the command's answer
    {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(true)
}
