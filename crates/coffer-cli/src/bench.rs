//! `coffer bench`: a load generator for any AWS-compatible endpoint (coffer, AWS, emulators), in
//! the spirit of `redis-benchmark`: it seeds its own data, signs every request with SigV4, runs
//! N concurrent workers for a duration or a request count, shows progress, reports requests/s,
//! errors by code and latency percentiles (a table, or JSON with `--json`), and cleans up.
//! `--secrets N` spreads secret reads and writes over N secrets; `--fill N` first grows the store
//! by N items the measured requests never touch (how store size affects cost); `--keep` leaves
//! the data in place so a grown store can be measured again (see [`seed`]).

mod seed;

use crate::client::ConnectionArgs;
use anyhow::Context as _;
use bytes::Bytes;
use coffer_client::{AwsClient, Env, Service};
use seed::{SeedPlan, Seeded};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    GetSecretValue,
    GetParameter,
    GetParametersByPath,
    PutSecretValue,
    KmsDecrypt,
    /// 60% GetSecretValue, 25% GetParameter, 10% KMS Decrypt, 5% PutSecretValue.
    Mixed,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// What to measure.
    #[arg(long, value_enum, default_value = "get-secret-value")]
    operation: Operation,
    /// Concurrent connections (workers).
    #[arg(long, short = 'c', default_value_t = 32)]
    concurrency: usize,
    /// How long to run, e.g. 10s, 1m.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after this many requests instead of after --duration.
    #[arg(long, short = 'n')]
    requests: Option<u64>,
    /// Size of the secret and parameter values, in bytes (parameters at most 4096).
    #[arg(long, default_value_t = 1024)]
    value_size: usize,
    /// Spread GetSecretValue and PutSecretValue (also in the mixed profile) over this many
    /// seeded secrets: worker w's i-th request goes to secret (w + i) % N.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    secrets: u64,
    /// Before measuring, seed this many extra items the measured requests never touch, to see
    /// how store size affects cost: parameters under /PREFIX/fill/ for get-parameter and
    /// get-parameters-by-path (Advanced-tier when more than 9,990, as AWS allows only 10,000
    /// Standard ones), (small) secrets PREFIX/fill/... for the other operations.
    #[arg(long, default_value_t = 0)]
    fill: u64,
    /// Leave the seeded data in place (its prefix is printed) instead of deleting it.
    #[arg(long)]
    keep: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n.parse().map_err(|_| format!("{s:?}: use e.g. 10s, 2m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("{s:?}: use e.g. 10s, 2m")),
    }
}

/// One kind of request the workers send, pre-serialized: one body per target (one per measured
/// secret), or a single body.
#[derive(Debug)]
struct Call {
    service: Service,
    operation: &'static str,
    bodies: Vec<Bytes>,
    /// Writes carry a fresh ClientRequestToken each (AWS requires one from raw clients, and
    /// a replayed token would only answer the version it already wrote).
    fresh_token: bool,
}

/// `body` (a JSON object) with a new `ClientRequestToken` member.
fn with_fresh_token(body: &Bytes) -> Bytes {
    let open = body.strip_suffix(b"}").unwrap_or(body);
    let token = uuid::Uuid::new_v4();
    let mut out = Vec::with_capacity(body.len() + 60);
    out.extend_from_slice(open);
    out.extend_from_slice(format!(",\"ClientRequestToken\":\"{token}\"}}").as_bytes());
    Bytes::from(out)
}

/// What the workers send: `order` indexes `calls`; worker w's i-th request is
/// `calls[order[(w + i) % order.len()]]`, and its k-th request of that kind uses body
/// `(w + k) % bodies.len()` (so the mixed profile's writes spread over the secrets too).
#[derive(Debug)]
struct Workload {
    calls: Vec<Call>,
    order: Vec<usize>,
}

fn value(size: usize) -> String {
    let mut raw = vec![0u8; size];
    let _ = random_fill(&mut raw);
    raw.iter()
        .map(|b| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[usize::from(*b) % 36]))
        .collect()
}

fn random_fill(buf: &mut [u8]) -> anyhow::Result<()> {
    coffer_crypto::random::fill(buf).map_err(|e| anyhow::anyhow!("{e}"))
}

fn workload(op: Operation, s: &Seeded, size: usize) -> Workload {
    let body = |v: serde_json::Value| Bytes::from(v.to_string());
    let call = |service, operation, bodies| Call {
        service,
        operation,
        bodies,
        fresh_token: operation == "PutSecretValue",
    };
    let get_secret = || {
        let bodies = s.secrets.iter();
        let bodies = bodies.map(|id| body(json!({"SecretId": id}))).collect();
        call(Service::SecretsManager, "GetSecretValue", bodies)
    };
    let get_parameter = || {
        let b = body(json!({"Name": s.parameters.first(), "WithDecryption": true}));
        call(Service::Ssm, "GetParameter", vec![b])
    };
    let decrypt = || {
        let b = body(json!({"CiphertextBlob": s.ciphertext}));
        call(Service::Kms, "Decrypt", vec![b])
    };
    // Each PutSecretValue gets a fresh ClientRequestToken when it is sent (`Call::fresh_token`).
    let put = || {
        let v = value(size);
        let bodies = s.secrets.iter();
        let bodies = bodies
            .map(|id| body(json!({"SecretId": id, "SecretString": v})))
            .collect();
        call(Service::SecretsManager, "PutSecretValue", bodies)
    };
    let (calls, order) = match op {
        Operation::GetSecretValue => (vec![get_secret()], vec![0]),
        Operation::GetParameter => (vec![get_parameter()], vec![0]),
        Operation::GetParametersByPath => {
            let b = body(
                json!({"Path": s.parameter_path, "WithDecryption": true, "Recursive": true, "MaxResults": 10}),
            );
            (
                vec![call(Service::Ssm, "GetParametersByPath", vec![b])],
                vec![0],
            )
        }
        Operation::PutSecretValue => (vec![put()], vec![0]),
        Operation::KmsDecrypt => (vec![decrypt()], vec![0]),
        Operation::Mixed => {
            let mut order = vec![0; 12];
            order.extend([1; 5]);
            order.extend([2; 2]);
            order.push(3);
            let calls = vec![get_secret(), get_parameter(), decrypt(), put()];
            (calls, order)
        }
    };
    Workload { calls, order }
}

/// Per-worker results.
#[derive(Debug, Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

pub fn main(args: BenchArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: BenchArgs) -> anyhow::Result<u8> {
    check_args(&args)?;
    let client = connect(&args).await?;
    let seeded = seed::seed(&client, seed_plan(&args), args.keep).await?;
    let plan = Arc::new(workload(args.operation, &seeded, args.value_size));
    let (mut all, elapsed) = drive(&client, plan, &args).await?;
    if !args.keep {
        seed::cleanup(&client, &seeded, args.concurrency, !args.json).await;
    }
    all.latencies_us.sort_unstable();
    let result = summary(&args, &client, &seeded, &all, elapsed);
    #[allow(clippy::print_stdout)] // the command's output
    if args.json {
        println!("{result}");
    } else {
        print_table(&args, &seeded, &result, &all);
    }
    Ok(u8::from(!all.errors.is_empty()))
}

fn check_args(args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(
        args.secrets == 1 || seed::uses_secrets(args.operation),
        "--secrets applies to get-secret-value, put-secret-value and mixed, not {:?}",
        args.operation
    );
    Ok(())
}

/// A client for the endpoint, with credentials checked before anything is seeded.
async fn connect(args: &BenchArgs) -> anyhow::Result<AwsClient> {
    let client = AwsClient::new(&args.conn.options(), &Env::process(), "coffer-bench")?;
    client.check_credentials().await.context(
        "no usable credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile",
    )?;
    Ok(client)
}

fn seed_plan(args: &BenchArgs) -> SeedPlan {
    SeedPlan {
        op: args.operation,
        value_size: args.value_size,
        secrets: args.secrets,
        fill: args.fill,
        workers: args.concurrency,
        show: !args.json,
    }
}

/// Run the workers until `--requests` are sent or `--duration` is over, with a progress bar;
/// their tallies merged, and the time it took.
async fn drive(
    client: &AwsClient,
    plan: Arc<Workload>,
    args: &BenchArgs,
) -> anyhow::Result<(Tally, Duration)> {
    let done = Arc::new(AtomicU64::new(0));
    let bar = match args.requests {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new(args.duration.as_secs().max(1)),
    };
    if args.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let stop = Stop {
        limit: args.requests,
        deadline: started + args.duration,
    };
    let workers: Vec<_> = (0..args.concurrency)
        .map(|w| tokio::spawn(worker(w, client.clone(), plan.clone(), done.clone(), stop)))
        .collect();
    let ticker = {
        let (bar, done) = (bar.clone(), done.clone());
        let by_count = args.requests.is_some();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if by_count {
                    bar.set_position(done.load(Ordering::Relaxed));
                } else {
                    bar.set_position(started.elapsed().as_secs());
                }
            }
        })
    };
    let mut all = Tally::default();
    for w in workers {
        let t = w.await?;
        all.latencies_us.extend(t.latencies_us);
        for (k, v) in t.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    let elapsed = started.elapsed();
    ticker.abort();
    bar.finish_and_clear();
    Ok((all, elapsed))
}

/// When the workers stop: after `limit` requests in all, or else at `deadline`.
#[derive(Debug, Clone, Copy)]
struct Stop {
    limit: Option<u64>,
    deadline: Instant,
}

/// Worker `w`: sends its share of the workload's calls, one at a time, timing each.
async fn worker(
    w: usize,
    client: AwsClient,
    plan: Arc<Workload>,
    done: Arc<AtomicU64>,
    stop: Stop,
) -> Tally {
    let mut tally = Tally::default();
    let mut sent = vec![0; plan.calls.len()];
    let mut i = w;
    loop {
        let n = done.fetch_add(1, Ordering::Relaxed);
        if stop.limit.is_some_and(|l| n >= l)
            || (stop.limit.is_none() && Instant::now() >= stop.deadline)
        {
            break;
        }
        let kind = plan.order[i % plan.order.len()];
        let call = &plan.calls[kind];
        let body = &call.bodies[(w + sent[kind]) % call.bodies.len()];
        (i, sent[kind]) = (i + 1, sent[kind] + 1);
        let fresh;
        let body = if call.fresh_token {
            fresh = with_fresh_token(body);
            &fresh
        } else {
            body
        };
        let t = Instant::now();
        let result = client.call_once(call.service, call.operation, body).await;
        tally
            .latencies_us
            .push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        if let Err(e) = result {
            let code = e
                .service()
                .map_or_else(|| "ConnectionError".to_owned(), |s| s.code.clone());
            *tally.errors.entry(code).or_default() += 1;
        }
    }
    tally
}

/// The result document (`--json`'s output); `all.latencies_us` sorted.
fn summary(
    args: &BenchArgs,
    client: &AwsClient,
    seeded: &Seeded,
    all: &Tally,
    elapsed: Duration,
) -> serde_json::Value {
    let total = all.latencies_us.len();
    #[allow(clippy::cast_precision_loss)]
    let rps = total as f64 / elapsed.as_secs_f64();
    json!({
        "endpoint": client.endpoint(Service::SecretsManager),
        "operation": format!("{:?}", args.operation),
        "concurrency": args.concurrency,
        "value_size": args.value_size,
        "secrets": args.secrets,
        "fill": args.fill,
        "kept": args.keep,
        "seconds": elapsed.as_secs_f64(),
        "requests": total,
        "requests_per_second": rps,
        "errors": all.errors,
        "latency_ms": {
            "p50": percentile(&all.latencies_us, 0.50),
            "p90": percentile(&all.latencies_us, 0.90),
            "p99": percentile(&all.latencies_us, 0.99),
            "max": percentile(&all.latencies_us, 1.0),
        },
        "seeded_prefix": seeded.prefix,
    })
}

/// The result for a person.
#[allow(clippy::print_stdout)] // the command's output
fn print_table(args: &BenchArgs, seeded: &Seeded, result: &serde_json::Value, all: &Tally) {
    let l = &result["latency_ms"];
    let total = all.latencies_us.len();
    let seconds = result["seconds"].as_f64().unwrap_or(0.0);
    let rps = result["requests_per_second"].as_f64().unwrap_or(0.0);
    println!(
        "{:<22} {}",
        "endpoint",
        result["endpoint"].as_str().unwrap_or("")
    );
    println!("{:<22} {:?}", "operation", args.operation);
    println!(
        "{:<22} {} x {} bytes",
        "connections x value", args.concurrency, args.value_size
    );
    if args.secrets > 1 {
        println!("{:<22} {}", "secrets", args.secrets);
    }
    if args.fill > 0 {
        let kind = seed::Fill::for_operation(args.operation);
        println!("{:<22} {} {} (untouched)", "fill", args.fill, kind.noun());
    }
    println!("{:<22} {total} in {seconds:.2} s", "requests");
    println!("{:<22} {rps:.0}", "requests/s");
    println!(
        "{:<22} p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        "latency (ms)",
        l["p50"].as_f64().unwrap_or(0.0),
        l["p90"].as_f64().unwrap_or(0.0),
        l["p99"].as_f64().unwrap_or(0.0),
        l["max"].as_f64().unwrap_or(0.0)
    );
    if all.errors.is_empty() {
        println!("{:<22} none", "errors");
    } else {
        for (code, n) in &all.errors {
            println!("{:<22} {code}: {n}", "errors");
        }
    }
    if args.keep {
        println!("{:<22} {} ({})", "kept", seeded.prefix, seeded.location());
    }
}
