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
    Verify(StoreArgs),
    /// Write records as CloudTrail log files (`{"Records":[...]}`, gzip), 1,000 per file, for
    /// SIEM tools that ingest CloudTrail.
    Export(ExportArgs),
    /// Print new records as they are written (one JSON record per line).
    Tail(TailArgs),
}

#[derive(Debug, Args)]
struct ExportArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only records at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Only records before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Output format; `cloudtrail` is the one there is.
    #[arg(long, default_value = "cloudtrail", value_parser = ["cloudtrail"])]
    format: String,
    /// Directory to write the files into (created if missing).
    #[arg(long, default_value = "coffer-audit-export")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct TailArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Start this many records before the end.
    #[arg(long, default_value_t = 10)]
    lines: i64,
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// The server's data directory (holds the master key and, by default, the database).
    #[arg(long, env = "COFFER_DATA_DIR", default_value = "coffer-data")]
    data_dir: PathBuf,
    /// The store, when it is not the data directory's SQLite file (e.g. postgres://...).
    #[arg(long = "store", env = "COFFER_STORE_URL")]
    store_url: Option<String>,
}

pub fn main(args: AuditArgs) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.command {
        AuditCommand::Verify(v) => runtime.block_on(verify(v)),
        AuditCommand::Export(e) => runtime.block_on(export(e)),
        AuditCommand::Tail(t) => runtime.block_on(tail(t)),
    }
}

fn store_url(args: &StoreArgs) -> anyhow::Result<String> {
    match &args.store_url {
        Some(u) => Ok(u.clone()),
        None => {
            let db = args.data_dir.join("coffer.db");
            anyhow::ensure!(
                db.exists(),
                "{} does not exist: point --data-dir at the server's data directory",
                db.display()
            );
            Ok(format!("sqlite://{}", db.display()))
        }
    }
}

async fn open(args: &StoreArgs) -> anyhow::Result<coffer_store::Store> {
    let url = store_url(args)?;
    coffer_store::open(&url)
        .await
        .with_context(|| format!("opening {}", coffer_store::redacted_url(&url)))
}

fn parse_time(text: &str) -> anyhow::Result<i64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("{text:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
        })?;
    Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000_000)?)
}

async fn export(args: ExportArgs) -> anyhow::Result<bool> {
    use std::io::Write as _;
    let since = args.since.as_deref().map(parse_time).transpose()?;
    let until = args.until.as_deref().map(parse_time).transpose()?;
    let store = open(&args.store).await?;
    let total = store.audit_head().await?.map_or(0, |(seq, _)| seq);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(0));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut after, mut files, mut written) = (0i64, 0usize, 0usize);
    loop {
        let page = store.scan_audit(after, 1_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        bar.set_position(u64::try_from(after).unwrap_or(0));
        let records: Vec<serde_json::Value> = page
            .iter()
            .filter(|r| since.is_none_or(|s| r.event.event_time >= s))
            .filter(|r| until.is_none_or(|u| r.event.event_time < u))
            .filter_map(|r| serde_json::from_str(&r.event.event_json).ok())
            .collect();
        if records.is_empty() {
            continue;
        }
        let name = format!(
            "coffer_CloudTrail_{:020}-{:020}.json.gz",
            page[0].seq, after
        );
        let path = args.out.join(&name);
        // Written beside, then renamed: a reader never sees half a file.
        let partial = args.out.join(format!(".{name}.partial"));
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        serde_json::to_writer(&mut gz, &serde_json::json!({ "Records": records }))?;
        gz.finish()?.flush()?;
        std::fs::rename(&partial, &path)?;
        files += 1;
        written += records.len();
    }
    bar.finish_and_clear();
    #[allow(clippy::print_stdout)] // the command's output
    {
        println!(
            "exported {written} records in {files} files to {}",
            args.out.display()
        );
    }
    Ok(true)
}

async fn tail(args: TailArgs) -> anyhow::Result<bool> {
    let store = open(&args.store).await?;
    let head = store.audit_head().await?.map_or(0, |(seq, _)| seq);
    let mut after = (head - args.lines).max(0);
    loop {
        let page = store.scan_audit(after, 1_000).await?;
        for r in &page {
            #[allow(clippy::print_stdout)] // the command's output
            {
                println!("{}", r.event.event_json);
            }
            after = r.seq;
        }
        if page.is_empty() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

async fn verify(args: StoreArgs) -> anyhow::Result<bool> {
    let from_env = super::server::master_key_from_env()?;
    let master = coffer_server::datadir::existing_master_key(&args.data_dir, from_env)?;
    // During a master-key rotation digests may be signed under either key.
    let master = match super::server::previous_master_key(None)? {
        Some(previous) => master.with_previous(coffer_crypto::MasterKey::from_bytes(previous)?),
        None => master,
    };
    let store = open(&args).await?;
    let report = coffer_service::audit::verify::verify(&store, &master)
        .await
        .context("reading the audit trail")?;
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
