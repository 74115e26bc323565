//! `coffer admin ...` (accounts: `create-account`, `list-accounts`; rotation functions):
//! coffer's own administrative operations, sent to a running server as
//! awsJson 1.1 calls with `X-Amz-Target: coffer.admin.<Operation>`, SigV4-signed for the service
//! name `coffer` with the account administrator's key (the server refuses anyone else).
//!
//! Credentials, region and endpoint come as for the aws CLI: `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY`, else the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
//! default `~/.aws/credentials`, profile `AWS_PROFILE` or `default`); `--region`, `AWS_REGION`,
//! `AWS_DEFAULT_REGION`, else `us-east-1`; `--endpoint-url`, `AWS_ENDPOINT_URL`, else
//! `http://127.0.0.1:4566`.

use anyhow::{Context as _, bail};
use coffer_types::SecretBytes;
use serde_json::{Value, json};

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// The coffer server [default: $AWS_ENDPOINT_URL or http://127.0.0.1:4566].
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// Region [default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1].
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
    /// A secret's rotation: the one in progress (step, attempts, last error, next attempt) and
    /// the recent history.
    DescribeRotation {
        #[arg(long)]
        secret_id: String,
    },
}

struct Credentials {
    access_key_id: String,
    secret: SecretBytes,
}

fn credentials(profile: Option<&str>) -> anyhow::Result<Credentials> {
    if let (Ok(id), Some(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var_os("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok(Credentials {
            access_key_id: id,
            secret: SecretBytes::new(secret.into_encoded_bytes()),
        });
    }
    let path = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".aws/credentials"),
    };
    let profile = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".to_owned());
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write {}",
            path.display()
        )
    })?;
    let mut section = String::new();
    let (mut id, mut secret) = (None, None);
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
        } else if section == profile
            && let Some((k, v)) = line.split_once('=')
        {
            match k.trim() {
                "aws_access_key_id" => id = Some(v.trim().to_owned()),
                "aws_secret_access_key" => {
                    secret = Some(SecretBytes::new(v.trim().as_bytes().to_vec()));
                }
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret)) => Ok(Credentials {
            access_key_id,
            secret,
        }),
        _ => bail!("profile {profile} in {} has no access key", path.display()),
    }
}

/// Sign and send one `coffer.admin.<op>` call; the answer's JSON, or the error as text.
async fn call(
    endpoint: &str,
    region: &str,
    creds: &Credentials,
    op: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    use aws_lc_rs::digest;
    let body = serde_json::to_vec(body)?;
    let url: reqwest::Url = endpoint
        .parse()
        .with_context(|| format!("invalid endpoint URL {endpoint}"))?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => bail!("the endpoint URL {endpoint} has no host"),
    };
    let now = time::OffsetDateTime::now_utc();
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let target = format!("coffer.admin.{op}");
    let content_type = "application/x-amz-json-1.1";
    let headers = [
        ("content-type", content_type),
        ("host", host.as_str()),
        ("x-amz-date", amz_date.as_str()),
        ("x-amz-target", target.as_str()),
    ];
    let signed: Vec<String> = headers.iter().map(|(n, _)| (*n).to_owned()).collect();
    let payload = hex::encode(digest::digest(&digest::SHA256, &body).as_ref());
    let path = url.path().to_owned();
    let canonical = coffer_sigv4::canonical_request(
        &coffer_sigv4::Request {
            method: "POST",
            path: &path,
            query: "",
            headers: &headers,
            payload_sha256_hex: &payload,
        },
        &signed,
    )
    .map_err(|e| anyhow::anyhow!("signing: {}", e.message()))?;
    let scope = format!("{date}/{region}/coffer/aws4_request");
    let sts = coffer_sigv4::string_to_sign(&amz_date, &scope, &canonical);
    let key = coffer_sigv4::derive_signing_key(creds.secret.expose(), date, region, "coffer");
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={}",
        creds.access_key_id,
        signed.join(";"),
        coffer_sigv4::sign(&key, &sts)
    );
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let resp = client
        .post(url)
        .header("content-type", content_type)
        .header("x-amz-date", &amz_date)
        .header("x-amz-target", &target)
        .header("authorization", authorization)
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach coffer at {endpoint}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let code = doc["__type"].as_str().unwrap_or("error");
        let message = doc["message"].as_str().unwrap_or(&text);
        bail!("An error occurred ({code}) when calling the {op} operation: {message}");
    }
    Ok(doc)
}

pub fn main(args: AdminArgs) -> anyhow::Result<bool> {
    let endpoint = args
        .endpoint_url
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:4566".to_owned());
    let region = args
        .region
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let creds = credentials(args.profile.as_deref())?;
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
        AdminCommand::DescribeRotation { secret_id } => {
            ("DescribeRotation", json!({"SecretId": secret_id}))
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(call(&endpoint, &region, &creds, op, &body))?;
    #[allow(clippy::print_stdout)] // the command's answer
    {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(true)
}
