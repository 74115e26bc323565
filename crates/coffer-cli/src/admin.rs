//! `coffer admin`: deployment administration through the server's `CofferAdmin` API
//! (awsJson 1.1, SigV4-signed for `iam` with the credentials of the default account's root).
//!
//! Credentials come as for the AWS CLI: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
//! (`AWS_SESSION_TOKEN`), else the profile `AWS_PROFILE` (default `default`) of
//! `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`). Plain `http://` endpoints only.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account and print its administrator's access key as JSON.
    CreateAccount {
        #[arg(long)]
        account_id: String,
        #[command(flatten)]
        endpoint: Endpoint,
    },
    /// List the accounts as JSON.
    ListAccounts {
        #[command(flatten)]
        endpoint: Endpoint,
    },
}

#[derive(Debug, Args)]
struct Endpoint {
    /// The server (default `AWS_ENDPOINT_URL`, else http://127.0.0.1:4566).
    #[arg(long)]
    endpoint_url: Option<String>,
}

struct Creds {
    id: String,
    secret: String,
    token: Option<String>,
}

fn credentials() -> anyhow::Result<Creds> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok(Creds {
            id,
            secret,
            token: std::env::var("AWS_SESSION_TOKEN").ok(),
        });
    }
    let file = std::env::var("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|_| {
        format!(
            "{}/.aws/credentials",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("no AWS_ACCESS_KEY_ID and no credentials file {file}"))?;
    let (mut id, mut secret, mut token, mut inside) = (None, None, None, false);
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
        } else if inside && let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_owned());
            match k.trim() {
                "aws_access_key_id" => id = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Creds { id, secret, token }),
        _ => bail!("profile {profile} in {file} has no access key"),
    }
}

async fn call(
    endpoint: &Endpoint,
    op: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let url = endpoint
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_else(|| "http://127.0.0.1:4566".to_owned());
    let Some(host) = url.strip_prefix("http://") else {
        bail!("coffer admin speaks plain http:// only (got {url})");
    };
    let host = host.trim_end_matches('/').to_owned();
    let region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_owned());
    let creds = credentials()?;
    let body = body.to_string();
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
    let target = format!("CofferAdmin.{op}");
    let mut headers: Vec<(&str, &str)> = vec![
        ("content-type", "application/x-amz-json-1.1"),
        ("host", &host),
        ("x-amz-date", &amz_date),
        ("x-amz-target", &target),
    ];
    if let Some(t) = &creds.token {
        headers.push(("x-amz-security-token", t));
    }
    let payload = hex_sha256(body.as_bytes());
    let req = coffer_sigv4::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        payload_sha256_hex: &payload,
    };
    let signed: Vec<String> = headers.iter().map(|(n, _)| (*n).to_owned()).collect();
    let canonical = coffer_sigv4::canonical_request(&req, &signed)
        .map_err(|e| anyhow::anyhow!("signing: {e:?}"))?;
    let scope = format!("{date}/{region}/iam/aws4_request");
    let sts = coffer_sigv4::string_to_sign(&amz_date, &scope, &canonical);
    let key = coffer_sigv4::derive_signing_key(creds.secret.as_bytes(), date, &region, "iam");
    let signature = coffer_sigv4::sign(&key, &sts);
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        creds.id,
        signed.join(";")
    );
    let mut request = format!("POST / HTTP/1.1\r\nauthorization: {authorization}\r\n");
    for (n, v) in &headers {
        request.push_str(&format!("{n}: {v}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    // The server answers with a content length (no chunking for small JSON bodies).
    let json: serde_json::Value = serde_json::from_str(rest.trim()).unwrap_or_default();
    if status != "200" {
        bail!(
            "{}: {}",
            json["__type"].as_str().unwrap_or(status),
            json["message"].as_str().unwrap_or(rest)
        );
    }
    Ok(json)
}

fn hex_sha256(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

pub fn main(args: AdminArgs) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(async {
        match &args.command {
            AdminCommand::CreateAccount {
                account_id,
                endpoint,
            } => {
                call(
                    endpoint,
                    "CreateAccount",
                    serde_json::json!({ "AccountId": account_id }),
                )
                .await
            }
            AdminCommand::ListAccounts { endpoint } => {
                call(endpoint, "ListAccounts", serde_json::json!({})).await
            }
        }
    })?;
    #[allow(clippy::print_stdout)]
    {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(true)
}
