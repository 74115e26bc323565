//! `coffer audit`: offline tools over the audit trail.

use anyhow::Context as _;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the whole trail: every record's hash link, its indexed columns against its JSON,
    /// and every signed digest. Exits non-zero naming the first bad record.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The server's data directory (holds the master key and, by default, the database).
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "coffer-data")]
    data_dir: PathBuf,
    /// The store, when it is not the data directory's SQLite file (e.g. postgres://...).
    #[arg(long = "store", env = "COFFER_STORE_URL")]
    store_url: Option<String>,
}

pub fn main(args: AuditArgs) -> anyhow::Result<bool> {
    match args.command {
        AuditCommand::Verify(v) => verify(v),
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    let from_env = super::server::env_secret("COFFER_MASTER_KEY")
        .map(|b64| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b64.expose())
                .map(coffer_types::SecretBytes::new)
                .context("COFFER_MASTER_KEY must be base64 (of exactly 32 bytes)")
        })
        .transpose()?;
    let master = coffer_server::datadir::existing_master_key(&args.data_dir, from_env)?;
    let url = match args.store_url {
        Some(u) => u,
        None => {
            let db = args.data_dir.join("coffer.db");
            anyhow::ensure!(
                db.exists(),
                "{} does not exist: point --data-dir at the server's data directory",
                db.display()
            );
            format!("sqlite://{}", db.display())
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(async {
        let store = coffer_store::open(&url)
            .await
            .with_context(|| format!("opening {}", coffer_store::redacted_url(&url)))?;
        coffer_service::audit::verify::verify(&store, &master)
            .await
            .context("reading the audit trail")
    })?;
    #[allow(clippy::print_stdout)] // the command's output
    match &report.problem {
        None => {
            println!(
                "audit trail intact: {} records, {} signed digests",
                report.records, report.digests
            );
            Ok(true)
        }
        Some(p) => {
            println!(
                "audit trail BROKEN at {p} ({} records verified before it)",
                report.records
            );
            Ok(false)
        }
    }
}
