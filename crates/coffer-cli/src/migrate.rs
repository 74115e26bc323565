//! `coffer migrate`: copy a whole deployment from SQLite into PostgreSQL, then verify the copy.

use anyhow::Context as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The source store: sqlite://PATH (stop the server using it first).
    #[arg(long)]
    from: String,
    /// The target store: postgres://USER@HOST:PORT/DB (an empty database or schema).
    #[arg(long)]
    to: String,
    /// The source's data directory, for its master key (or set COFFER_MASTER_KEY): used to
    /// verify the copied audit trail's chain and signed digests.
    #[arg(long, env = "COFFER_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

pub fn main(args: MigrateArgs) -> anyhow::Result<u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: MigrateArgs) -> anyhow::Result<u8> {
    let path = args
        .from
        .strip_prefix("sqlite://")
        .context("--from must be sqlite://PATH")?;
    anyhow::ensure!(
        std::path::Path::new(path).exists(),
        "{path} does not exist: --from must name the deployment's coffer.db"
    );
    anyhow::ensure!(
        args.to.starts_with("postgres://") || args.to.starts_with("postgresql://"),
        "--to must be a postgres:// URL"
    );
    let src = coffer_store::sqlite::SqliteStore::open(std::path::Path::new(path)).await?;
    let dst = coffer_store::postgres::PostgresStore::open(&args.to)
        .await
        .with_context(|| format!("opening {}", coffer_store::redacted_url(&args.to)))?;
    let total = coffer_store::migrate::sqlite_row_count(&src).await?;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let copied = coffer_store::migrate::sqlite_to_postgres(&src, &dst, |table, n| {
        bar.set_message(table.to_owned());
        bar.set_position(n);
    })
    .await?;
    bar.finish_and_clear();
    let rows: u64 = copied.tables.values().sum();
    #[allow(clippy::print_stdout)] // the command's output
    {
        println!(
            "copied {rows} rows in {} tables; every table's row count matches",
            copied.tables.len()
        );
    }
    // The audit trail, with its chain and signed digests, checked on the copy.
    let from_env = super::server::master_key_from_env()?;
    let master = match (&args.data_dir, from_env) {
        (_, Some(k)) => Some(coffer_server::datadir::existing_master_key(
            std::path::Path::new("."),
            Some(k),
        )?),
        (Some(dir), None) => Some(coffer_server::datadir::existing_master_key(dir, None)?),
        (None, None) => None,
    };
    let Some(master) = master else {
        #[allow(clippy::print_stdout)]
        {
            println!("audit trail not verified: give --data-dir or COFFER_MASTER_KEY to check it");
        }
        return Ok(0);
    };
    let store: coffer_store::Store = std::sync::Arc::new(dst);
    let report = coffer_service::audit::verify::verify(&store, &master).await?;
    #[allow(clippy::print_stdout)]
    match report.problem {
        None => {
            println!(
                "audit trail on the target intact: {} records, {} signed digests",
                report.records, report.digests
            );
            Ok(0)
        }
        Some(p) => {
            println!("audit trail on the target BROKEN at {p}");
            Ok(1)
        }
    }
}
