//! The client-side commands: `coffer agent`, `coffer sync`, `coffer resolve`, `coffer run`.
//! Flags are parsed here; the work is in `coffer-client`, which talks HTTP to coffer or AWS.

use crate::server::{init_logging, shutdown_signal};
use anyhow::Context as _;
use coffer_client::agent::{self, AgentConfig, FileConfig};
use coffer_client::{AwsClient, ClientOptions, Env, fsutil, objects, resolve, run, sync};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where and as whom to connect. Region, credentials and endpoints otherwise come from the
/// standard AWS environment variables and shared files.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// coffer's (or AWS's) endpoint [default: AWS_ENDPOINT_URL_SECRETS_MANAGER /
    /// AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS].
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region].
    #[arg(long)]
    region: Option<String>,
    /// Profile of the shared AWS config/credentials files [default: AWS_PROFILE, else default].
    #[arg(long)]
    profile: Option<String>,
}

impl ConnectionArgs {
    pub(crate) fn options(&self) -> ClientOptions {
        ClientOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

// ------------------------------------------------------------------------------------ agent --

#[derive(Debug, clap::Args)]
pub struct AgentArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// Address to listen on [default: 127.0.0.1:2773, or the config's http_port].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Seconds a cached value is served before it is revalidated; 0 disables caching [default: 300].
    #[arg(long, value_name = "SECONDS")]
    ttl: Option<u64>,
    /// Most values cached; the least recently used goes first [default: 1000].
    #[arg(long, value_name = "N")]
    cache_size: Option<u64>,
    /// Agent config (TOML): the AWS Secrets Manager Agent's keys (http_port, ttl_seconds,
    /// cache_size, ssrf_headers, ssrf_env_variables, path_prefix, max_conn, region, log_level)
    /// plus listen, endpoint_url, token_file, allow_non_loopback.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// File holding the SSRF token [default: AWS_TOKEN, AWS_SESSION_TOKEN or
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN; a value file:///path names a file].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Most requests served at once; more get 429 [default: 800].
    #[arg(long, value_name = "N")]
    max_conn: Option<usize>,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Log format: text or json [default: text].
    #[arg(long)]
    log_format: Option<String>,
    /// Serve EKS Pod Identity credentials (GET /v1/credentials, for
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI) instead of secrets: each pod's token is exchanged
    /// through STS for the role its service account is associated with.
    #[arg(long, requires = "pod_identity_associations")]
    pod_identity: bool,
    /// JSON object of "NAMESPACE/SERVICEACCOUNT" to role ARN (the Pod Identity associations).
    #[arg(long, value_name = "FILE")]
    pod_identity_associations: Option<PathBuf>,
}

/// `coffer agent --pod-identity`: the credentials endpoint only (no secrets, no SSRF token:
/// the pod's own token is the credential).
fn pod_identity_main(args: &AgentArgs) -> anyhow::Result<u8> {
    init_logging(args.log_format.as_deref(), None)?;
    let env = Env::process();
    let config = coffer_client::config::resolve(&args.conn.options(), &env)?;
    let path = args
        .pod_identity_associations
        .as_deref()
        .context("--pod-identity needs --pod-identity-associations FILE")?;
    let pod = agent::pod_identity::PodIdentityConfig {
        listen: args
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], agent::DEFAULT_PORT))),
        allow_non_loopback: args.allow_non_loopback,
        associations: agent::pod_identity::load_associations(path)?,
        sts_endpoint: config.endpoint(coffer_client::Service::Sts).to_owned(),
    };
    let http = coffer_client::http::HttpClient::new(&env, "coffer-agent-pod-identity")?;
    runtime()?.block_on(agent::pod_identity::serve(pod, http, shutdown_signal()))?;
    Ok(0)
}

fn agent_log_level(level: Option<&str>) -> Option<&'static str> {
    match level.map(str::to_ascii_uppercase).as_deref() {
        Some("DEBUG") => Some("debug"),
        Some("INFO") => Some("info"),
        Some("WARN") => Some("warn"),
        Some("ERROR") => Some("error"),
        Some("NONE") => Some("off"),
        _ => None,
    }
}

pub fn agent_main(args: AgentArgs) -> anyhow::Result<u8> {
    if args.pod_identity {
        return pod_identity_main(&args);
    }
    let file = match &args.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    if let Some(level) = &file.log_level
        && agent_log_level(Some(level)).is_none()
    {
        anyhow::bail!("log_level {level:?} must be DEBUG, INFO, WARN, ERROR or NONE");
    }
    init_logging(
        args.log_format.as_deref(),
        agent_log_level(file.log_level.as_deref()),
    )?;
    let env = Env::process();
    let mut options = args.conn.options();
    options.endpoint_url = options.endpoint_url.or(file.endpoint_url.clone());
    options.region = options.region.or(file.region.clone());
    let ttl = args
        .ttl
        .or(file.ttl_seconds)
        .unwrap_or(agent::DEFAULT_TTL.as_secs());
    anyhow::ensure!(ttl <= 86_400, "--ttl {ttl}: at most 86400 seconds");
    let cache_size = args
        .cache_size
        .or(file.cache_size)
        .unwrap_or(agent::DEFAULT_CACHE_SIZE);
    anyhow::ensure!(cache_size >= 1, "--cache-size must be at least 1");
    let max_conn = args
        .max_conn
        .or(file.max_conn)
        .unwrap_or(agent::DEFAULT_MAX_CONN);
    anyhow::ensure!(max_conn >= 1, "--max-conn must be at least 1");
    let listen = args.listen.or(file.listen).unwrap_or_else(|| {
        SocketAddr::from((
            [127, 0, 0, 1],
            file.http_port.unwrap_or(agent::DEFAULT_PORT),
        ))
    });
    let env_names: Vec<String> = file.ssrf_env_variables.clone().unwrap_or_else(|| {
        agent::DEFAULT_SSRF_ENV
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    let token = agent::load_token(
        args.token_file.as_deref().or(file.token_file.as_deref()),
        &env_names,
        &env,
    )?;
    let ssrf_headers = file.ssrf_headers.clone().unwrap_or_else(|| {
        agent::DEFAULT_SSRF_HEADERS
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    });
    anyhow::ensure!(
        !ssrf_headers.is_empty(),
        "ssrf_headers must name at least one header"
    );
    let config = AgentConfig {
        listen,
        allow_non_loopback: args.allow_non_loopback || file.allow_non_loopback.unwrap_or(false),
        ttl: Duration::from_secs(ttl),
        cache_size,
        max_conn,
        ssrf_headers,
        token,
        path_prefix: file
            .path_prefix
            .clone()
            .unwrap_or_else(|| "/v1/".to_owned()),
        serve_stale_on_transient_errors: file.ignore_transient_errors.unwrap_or(true),
    };
    let client = AwsClient::new(&options, &env, "coffer-agent")?;
    runtime()?.block_on(async move {
        client
            .check_credentials()
            .await
            .context("the agent needs credentials to call the endpoint")?;
        agent::serve(client, config, shutdown_signal()).await?;
        Ok(0)
    })
}

// ------------------------------------------------------------------------------------- sync --

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// The `objects` of a Secrets Store CSI SecretProviderClass (the list, the parameters
    /// block, or the whole manifest).
    #[arg(long, value_name = "FILE")]
    objects: PathBuf,
    /// Directory to write the files to (created 0700 if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Time between rounds: 30s, 5m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    interval: String,
    /// Sync once and exit (init containers); all or nothing.
    #[arg(long)]
    once: bool,
    /// Mode of the files written, octal.
    #[arg(long, default_value = "0600")]
    mode: String,
    /// Shell command run after a round that changed files (COFFER_SYNC_DIR and
    /// COFFER_CHANGED_FILES are set), e.g. "kill -HUP $(cat /run/app.pid)".
    #[arg(long, value_name = "CMD")]
    on_change: Option<String>,
    /// How `/` in an object name becomes a file name: one character, or False to keep
    /// subdirectories [default: the file's pathTranslation, else _].
    #[arg(long, value_name = "C")]
    path_translation: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long)]
    log_format: Option<String>,
}

fn read_objects(path: &PathBuf, translation: Option<&str>) -> anyhow::Result<objects::Objects> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the objects file {}", path.display()))?;
    objects::parse(&text, translation)
        .with_context(|| format!("in the objects file {}", path.display()))
}

/// A one-line counter on a terminal, nothing otherwise.
fn progress_printer(total: usize) -> Option<Arc<sync::ProgressFn>> {
    if total < 2 || !std::io::stderr().is_terminal() {
        return None;
    }
    Some(Arc::new(move |done: usize, total: usize| {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rfetching objects: {done}/{total}");
        if done == total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }))
}

pub fn sync_main(args: SyncArgs) -> anyhow::Result<u8> {
    init_logging(args.log_format.as_deref(), Some("info"))?;
    let objects = read_objects(&args.objects, args.path_translation.as_deref())?;
    let opts = sync::SyncOptions {
        dir: args.dir.clone(),
        mode: fsutil::parse_mode(&args.mode)?,
        interval: sync::parse_interval(&args.interval)?,
        once: args.once,
        on_change: args.on_change.clone(),
        progress: if args.once {
            progress_printer(objects.objects.len())
        } else {
            None
        },
    };
    let env = Env::process();
    let client = AwsClient::new(&args.conn.options(), &env, "coffer-sync")?;
    runtime()?.block_on(async move {
        sync::run(&client, &objects, &opts, shutdown_signal()).await?;
        Ok(0)
    })
}

// ---------------------------------------------------------------------------------- resolve --

#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// Template with {{resolve:...}} references; - or nothing reads standard input.
    template: Option<PathBuf>,
    /// Write the result to FILE (atomically, with --mode) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Mode of the --output file, octal.
    #[arg(long, default_value = "0600")]
    mode: String,
}

pub fn resolve_main(args: ResolveArgs) -> anyhow::Result<u8> {
    init_logging(None, Some("warn"))?;
    let mode = fsutil::parse_mode(&args.mode)?;
    let template = match args.template.as_deref() {
        None => read_stdin()?,
        Some(p) if p.as_os_str() == "-" => read_stdin()?,
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the template {}", p.display()))?,
    };
    // Parse before connecting: a malformed reference needs no credentials to report.
    let found = resolve::find_references(&template)?;
    if found.is_empty() {
        tracing::warn!("the template holds no {{{{resolve:...}}}} reference");
    }
    let env = Env::process();
    let client = AwsClient::new(&args.conn.options(), &env, "coffer-resolve")?;
    let out = runtime()?.block_on(resolve::resolve_template(&client, &template))?;
    match &args.output {
        Some(path) => fsutil::write_atomic(path, out.expose(), mode)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(out.expose())?;
            stdout.flush()?;
        }
    }
    Ok(0)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("cannot read the template from standard input")?;
    Ok(s)
}

// -------------------------------------------------------------------------------------- run --

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// Objects (Secrets Store CSI list) written into a private directory for the command.
    #[arg(long, value_name = "FILE")]
    objects: Option<PathBuf>,
    /// NAME=REF: set NAME in the command's environment to a resolved reference
    /// (`{{resolve:...}}` text, or a bare `ssm:...`/`ssm-secure:...`/`secretsmanager:...`).
    #[arg(long = "env", value_name = "NAME=REF")]
    env: Vec<String>,
    /// Variable that tells the command where its files are.
    #[arg(long, default_value = "COFFER_SECRETS_DIR")]
    dir_env: String,
    /// Mode of the files written, octal.
    #[arg(long, default_value = "0600")]
    mode: String,
    /// Where to create the private directory [default: /dev/shm if usable, else the temp dir].
    #[arg(long, value_name = "DIR")]
    tmpdir: Option<PathBuf>,
    /// How `/` in an object name becomes a file name (see `coffer sync`).
    #[arg(long, value_name = "C")]
    path_translation: Option<String>,
    /// The command and its arguments, after --.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true,
        value_name = "CMD"
    )]
    command: Vec<OsString>,
}

pub fn run_main(args: RunArgs) -> anyhow::Result<u8> {
    init_logging(None, Some("warn"))?;
    let mut env_refs = Vec::with_capacity(args.env.len());
    for e in &args.env {
        let (name, reference) = e
            .split_once('=')
            .with_context(|| format!("--env {e:?} must be NAME=REF"))?;
        env_refs.push((name.to_owned(), reference.to_owned()));
    }
    anyhow::ensure!(
        args.objects.is_some() || !env_refs.is_empty(),
        "nothing to inject: give --objects FILE and/or --env NAME=REF"
    );
    let objects = match &args.objects {
        Some(p) => Some(read_objects(p, args.path_translation.as_deref())?),
        None => None,
    };
    let progress = objects
        .as_ref()
        .and_then(|o| progress_printer(o.objects.len()));
    let env = Env::process();
    let client = AwsClient::new(&args.conn.options(), &env, "coffer-run")?;
    let code = runtime()?.block_on(run::run(
        &client,
        run::RunOptions {
            objects,
            env: env_refs,
            command: args.command,
            dir_env: args.dir_env,
            mode: fsutil::parse_mode(&args.mode)?,
            tmp_parent: args.tmpdir,
            progress,
        },
    ))?;
    Ok(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}
