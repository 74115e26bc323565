//! `coffer backup` (online, through a running server) and `coffer restore` (offline, into an
//! empty store).
//!
//! Backup: `coffer.admin.CreateBackup` makes the server write a consistent, encrypted snapshot
//! into its data directory; this command follows it with `DescribeBackup`, downloads it with
//! `GetBackupChunk` (1 MiB at a time, straight to `OUT.partial`, renamed when whole) and deletes
//! it on the server. With `COFFER_BACKUP_PASSPHRASE` the file key is PBKDF2 of the passphrase,
//! derived here: the server gets the key, never the passphrase.
//!
//! Restore: decrypt and authenticate the file chunk by chunk (a wrong key, a changed byte or a
//! truncated file is refused and nothing is committed), check the backup was made under this
//! master key, write every table in one transaction ([`coffer_store::snapshot::Target`]), compare
//! every table's row count with the backup's manifest, then verify the audit trail.

use crate::admin;
use anyhow::Context as _;
use base64::Engine as _;
use coffer_client::{AwsClient, ClientOptions, Env};
use coffer_crypto::backup::{FileKey, Header, Kdf, Opener};
use coffer_crypto::master::CheckMatch;
use coffer_store::snapshot::{Item, Target, Value};
use serde_json::json;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

const PASSPHRASE_ENV: &str = "COFFER_BACKUP_PASSPHRASE";
const MIN_PASSPHRASE: usize = 16;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The coffer server (one node, not a load balancer: the backup is made on the node asked)
    /// [default: $AWS_ENDPOINT_URL_COFFER, $AWS_ENDPOINT_URL, the profile's, or
    /// http://127.0.0.1:4566].
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Region [default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region or us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Profile in the shared credentials file (the default account's root key).
    #[arg(long)]
    profile: Option<String>,
    /// Where to write the backup (refused if it exists).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file `coffer backup` wrote.
    #[arg(long)]
    from: PathBuf,
    /// The data directory to restore into: its coffer.db (created) unless --store is given, and
    /// its master.key (copy the deployment's there, or set COFFER_MASTER_KEY).
    #[arg(long, env = "COFFER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Restore into this store instead: postgres://... (an empty database or schema) or
    /// sqlite://PATH.
    #[arg(long = "store")]
    store_url: Option<String>,
}

fn passphrase() -> anyhow::Result<Option<coffer_types::SecretBytes>> {
    let Some(p) = crate::server::env_secret(PASSPHRASE_ENV) else {
        return Ok(None);
    };
    anyhow::ensure!(
        p.len() >= MIN_PASSPHRASE,
        "{PASSPHRASE_ENV} must be at least {MIN_PASSPHRASE} bytes"
    );
    Ok(Some(p))
}

fn bar(len: u64, unit: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit} {{msg}}"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

pub fn backup_main(args: BackupArgs) -> anyhow::Result<u8> {
    crate::server::restrict_umask();
    anyhow::ensure!(
        !args.out.exists(),
        "{} exists: choose a new file for the backup",
        args.out.display()
    );
    let env = Env::process();
    let options = ClientOptions {
        endpoint_url: args.endpoint_url.clone(),
        region: Some(admin::region(
            args.region.as_deref(),
            args.profile.as_deref(),
            &env,
        )?),
        profile: args.profile.clone(),
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let client = AwsClient::new(&options, &env, "coffer-backup")?;
            backup(&client, &args.out).await
        })
}

async fn backup(client: &AwsClient, out: &Path) -> anyhow::Result<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = match passphrase()? {
        Some(p) => {
            let key = FileKey::from_passphrase(p.expose())?;
            json!({
                "PassphraseKey": b64.encode(key.key().expose()),
                "Salt": b64.encode(key.salt()),
                "Iterations": key.iterations(),
            })
        }
        None => json!({}),
    };
    let created = admin::call(client, "CreateBackup", &body).await?;
    let id = created["BackupId"]
        .as_str()
        .context("the server's CreateBackup answer has no BackupId")?
        .to_owned();
    let rows = bar(0, "rows");
    let size = loop {
        let d = admin::call(client, "DescribeBackup", &json!({"BackupId": id})).await?;
        rows.set_length(d["RowsTotal"].as_u64().unwrap_or(0));
        rows.set_position(d["RowsDone"].as_u64().unwrap_or(0));
        match d["Status"].as_str() {
            Some("Complete") => break d["SizeBytes"].as_u64().unwrap_or(0),
            Some("Failed") => anyhow::bail!(
                "the server could not make the backup: {} (see its log)",
                d["Message"].as_str().unwrap_or("no reason given")
            ),
            _ => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    };
    let total_rows = rows.length().unwrap_or(0);
    rows.finish_and_clear();
    let partial = out.with_extension("partial");
    download(client, &id, &partial, size).await?;
    std::fs::rename(&partial, out)?;
    let _ = admin::call(client, "DeleteBackup", &json!({"BackupId": id})).await;
    #[allow(clippy::print_stdout)] // the command's output
    {
        println!(
            "backup written to {}: {total_rows} rows, {size} bytes, encrypted with a key from {}",
            out.display(),
            if body.get("Salt").is_some() {
                PASSPHRASE_ENV
            } else {
                "the master key"
            }
        );
    }
    Ok(0)
}

async fn download(client: &AwsClient, id: &str, partial: &Path, size: u64) -> anyhow::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut file = std::io::BufWriter::new(
        o.open(partial)
            .with_context(|| format!("cannot write {}", partial.display()))?,
    );
    let bytes = bar(size, "bytes");
    let mut offset = 0u64;
    while offset < size {
        let c = admin::call(
            client,
            "GetBackupChunk",
            &json!({"BackupId": id, "Offset": offset}),
        )
        .await?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(c["Data"].as_str().unwrap_or_default())
            .context("the server sent a chunk that is not base64")?;
        anyhow::ensure!(
            !data.is_empty(),
            "the server sent an empty chunk at {offset}"
        );
        file.write_all(&data)?;
        offset += data.len() as u64;
        bytes.set_position(offset);
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    bytes.finish_and_clear();
    Ok(())
}

pub fn restore_main(args: RestoreArgs) -> anyhow::Result<u8> {
    // The restored database and its WAL are private to this user, as the server's are.
    crate::server::restrict_umask();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(restore(args))
}

/// The target store's URL, the data directory's lock (SQLite), and the master key.
fn target(
    args: &RestoreArgs,
) -> anyhow::Result<(String, Option<std::fs::File>, coffer_crypto::MasterKey)> {
    let from_env = crate::server::master_key_from_env()?;
    let (url, key_dir) = match (&args.store_url, &args.data_dir) {
        (Some(url), dir) => (url.clone(), dir.clone()),
        (None, Some(dir)) => {
            coffer_server::datadir::ensure_dir(dir)?;
            (
                format!("sqlite://{}", dir.join("coffer.db").display()),
                Some(dir.clone()),
            )
        }
        (None, None) => anyhow::bail!("give --data-dir DIR (SQLite) or --store URL"),
    };
    let master = match (from_env, key_dir) {
        (Some(k), _) => coffer_server::datadir::existing_master_key(Path::new("."), Some(k))?,
        (None, Some(dir)) => coffer_server::datadir::existing_master_key(&dir, None)
            .with_context(|| {
                format!(
                    "the restore needs the deployment's master key: copy its master.key into {} or set COFFER_MASTER_KEY",
                    dir.display()
                )
            })?,
        (None, None) => anyhow::bail!(
            "the restore needs the deployment's master key: set COFFER_MASTER_KEY or give --data-dir with its master.key"
        ),
    };
    let lock = match url.strip_prefix("sqlite://") {
        Some(path) => Some(coffer_server::datadir::lock_sqlite(Path::new(path))?),
        None => None,
    };
    Ok((url, lock, master))
}

async fn restore(args: RestoreArgs) -> anyhow::Result<u8> {
    let (url, _lock, master) = target(&args)?;
    let file = std::fs::File::open(&args.from)
        .with_context(|| format!("cannot read {}", args.from.display()))?;
    let mut input = std::io::BufReader::new(file);
    let header = Header::read(&mut input)
        .with_context(|| format!("{} is not a coffer backup", args.from.display()))?;
    let (key, what) = match header.kdf {
        Kdf::Passphrase => {
            let p = passphrase()?.with_context(|| {
                format!("this backup is encrypted with a passphrase: set {PASSPHRASE_ENV}")
            })?;
            (header.key_from_passphrase(p.expose())?, "passphrase")
        }
        Kdf::MasterKey => (header.key_from_master(&master), "master key"),
    };
    let opener = Opener::new(input, &header, &key, what)?;
    let lines = std::io::BufReader::with_capacity(256 * 1024, opener).lines();
    let store = open_target(&url).await?;
    let bar = bar(0, "rows");
    let mut check = MasterCheck {
        master: &master,
        table: String::new(),
        seen: false,
    };
    let items = lines.map(|line| -> coffer_store::Result<Item> {
        let line = line.map_err(|e| coffer_store::StoreError::Backend(e.to_string()))?;
        let item: Item = serde_json::from_str(&line).map_err(|e| {
            coffer_store::StoreError::Backend(format!("a record does not parse: {e}"))
        })?;
        if let Item::Header { tables, .. } = &item {
            bar.set_length(tables.iter().map(|(_, n)| n).sum());
        }
        check.see(&item)?;
        Ok(item)
    });
    let copied = store
        .restore(items, |table, n| {
            bar.set_message(table.to_owned());
            bar.set_position(n);
        })
        .await
        .context("the restore failed and nothing was written")?;
    bar.finish_and_clear();
    let rows: u64 = copied.tables.values().sum();
    #[allow(clippy::print_stdout)] // the command's output
    {
        println!(
            "restored {rows} rows in {} tables into {}; every table's row count matches the backup",
            copied.tables.len(),
            coffer_store::redacted_url(&url)
        );
    }
    drop(store);
    verify_audit(&url, &master).await
}

async fn open_target(url: &str) -> anyhow::Result<Target> {
    let opened = if let Some(path) = url.strip_prefix("sqlite://") {
        coffer_store::sqlite::SqliteStore::open(Path::new(path))
            .await
            .map(Target::Sqlite)
    } else {
        coffer_store::postgres::PostgresStore::open(url)
            .await
            .map(|p| Target::Postgres(Box::new(p)))
    };
    opened.with_context(|| format!("opening {}", coffer_store::redacted_url(url)))
}

/// Refuses the backup's rows unless its master-key check value is this master key's.
struct MasterCheck<'a> {
    master: &'a coffer_crypto::MasterKey,
    table: String,
    seen: bool,
}

impl MasterCheck<'_> {
    fn see(&mut self, item: &Item) -> coffer_store::Result<()> {
        let refuse = |m: String| Err(coffer_store::StoreError::Backend(m));
        match item {
            Item::Table { name, .. } => self.table.clone_from(name),
            Item::Row { v } if self.table == "meta" => {
                if let [Value::Text(name), Value::Blob(check)] = &v[..]
                    && name == "master_key_check"
                {
                    self.seen = true;
                    if self.master.check_match(check) == CheckMatch::Neither {
                        return refuse(format!(
                            "the backup was made under another master key than this one ({}): restore with the deployment's master key (its master.key in --data-dir, or COFFER_MASTER_KEY)",
                            self.master.key_id()
                        ));
                    }
                }
            }
            Item::End { .. } if !self.seen => {
                return refuse("the backup holds no master-key check value".to_owned());
            }
            _ => {}
        }
        Ok(())
    }
}

async fn verify_audit(url: &str, master: &coffer_crypto::MasterKey) -> anyhow::Result<u8> {
    let store = coffer_store::open(url).await?;
    let report = coffer_service::audit::verify::verify(&store, master).await?;
    #[allow(clippy::print_stdout)] // the command's output
    match report.problem {
        None => {
            println!(
                "audit trail intact: {} records, {} signed digests",
                report.records, report.digests
            );
            Ok(0)
        }
        Some(p) => {
            println!("audit trail BROKEN at {p}");
            Ok(1)
        }
    }
}
