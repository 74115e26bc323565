//! `coffer health`: ask a server's `GET /health` and exit 0 when it answers 200 — the container
//! image's HEALTHCHECK, so the image needs no HTTP client of its own.
//!
//! https is verified (system roots plus a CA bundle): `--ca-bundle`, else `AWS_CA_BUNDLE`, else
//! the self-signed CA that `coffer server --tls-self-signed` keeps in `DATA_DIR/tls/ca.pem`.

use coffer_client::env::Env;
use coffer_client::http::HttpClient;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The health endpoint to ask (http:// for a server run with --insecure-http).
    #[arg(
        long,
        env = "COFFER_HEALTH_URL",
        default_value = "https://127.0.0.1:4566/health"
    )]
    url: String,
    /// PEM CA certificate(s) to trust for https besides the system roots [default:
    /// AWS_CA_BUNDLE, else DATA_DIR/tls/ca.pem if it exists].
    #[arg(long)]
    ca_bundle: Option<PathBuf>,
    /// The server's data directory, whose self-signed CA (tls/ca.pem) is trusted when there is
    /// no other CA bundle [default: ./coffer-data].
    #[arg(long, env = "COFFER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

/// The CA bundle to trust, by the order documented on [`HealthArgs::ca_bundle`].
fn ca_bundle(args: &HealthArgs) -> Option<PathBuf> {
    if let Some(ca) = &args.ca_bundle {
        return Some(ca.clone());
    }
    if let Some(ca) = Env::process().get("AWS_CA_BUNDLE") {
        return Some(PathBuf::from(ca));
    }
    let data = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("./coffer-data"));
    Some(data.join("tls").join("ca.pem")).filter(|p| p.is_file())
}

pub fn main(args: HealthArgs) -> anyhow::Result<u8> {
    let uri: http::Uri = args
        .url
        .parse()
        .map_err(|e| anyhow::anyhow!("--url {}: {e}", args.url))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        anyhow::bail!("--url {}: not an http:// or https:// URL", args.url);
    }
    let ca = ca_bundle(&args);
    let ca_text = ca.as_ref().map(|p| p.to_string_lossy().into_owned());
    let env = Env::from_pairs(ca_text.as_deref().map(|c| ("AWS_CA_BUNDLE", c)));
    let client = HttpClient::new(&env, concat!("coffer-health/", env!("CARGO_PKG_VERSION")))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let request = http::Request::get(uri)
        .body(bytes::Bytes::new())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let answer = runtime.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(args.timeout.max(1)),
            client.send(request, "GET /health"),
        )
        .await
    });
    #[allow(clippy::print_stdout, clippy::print_stderr)] // the verdict is the command's output
    match answer {
        Ok(Ok(r)) if r.status == 200 => {
            println!("{}: healthy", args.url);
            Ok(0)
        }
        Ok(Ok(r)) => {
            eprintln!("{}: answered {}", args.url, r.status);
            Ok(1)
        }
        Ok(Err(e)) => {
            eprintln!("{}: {e}", args.url);
            Ok(1)
        }
        Err(_) => {
            eprintln!("{}: no answer within {} s", args.url, args.timeout.max(1));
            Ok(1)
        }
    }
}
