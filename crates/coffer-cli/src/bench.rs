//! `coffer bench`: a load generator for any AWS-compatible endpoint (coffer, AWS, emulators), in
//! the spirit of `redis-benchmark`: it seeds its own data, signs every request with SigV4, runs
//! N concurrent workers for a duration or a request count, shows progress, reports requests/s,
//! errors by code and latency percentiles (a table, or JSON with `--json`), and cleans up.

use crate::client::ConnectionArgs;
use anyhow::Context as _;
use bytes::Bytes;
use coffer_client::{AwsClient, Env, Service};
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

/// One request the workers send, pre-serialized.
#[derive(Debug, Clone)]
struct Call {
    service: Service,
    operation: &'static str,
    body: Bytes,
}

/// What the run seeded, to build requests from and to remove afterwards.
#[derive(Debug)]
struct Seeded {
    prefix: String,
    secret: String,
    parameter_path: String,
    parameters: Vec<String>,
    key_id: Option<String>,
    ciphertext: Option<String>,
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

async fn seed(client: &AwsClient, op: Operation, size: usize) -> anyhow::Result<Seeded> {
    let mut tag = [0u8; 4];
    random_fill(&mut tag)?;
    let prefix = format!("coffer-bench-{}", hex::encode(tag));
    let secret = format!("{prefix}/secret");
    let parameter_path = format!("/{prefix}/params");
    let mut seeded = Seeded {
        prefix,
        secret: secret.clone(),
        parameter_path: parameter_path.clone(),
        parameters: Vec::new(),
        key_id: None,
        ciphertext: None,
    };
    let wants = |o: Operation| op == o || op == Operation::Mixed;
    if wants(Operation::GetSecretValue) || wants(Operation::PutSecretValue) {
        client
            .call(
                Service::SecretsManager,
                "CreateSecret",
                &json!({"Name": secret, "SecretString": value(size)}),
            )
            .await
            .context("seeding the secret")?;
    }
    if wants(Operation::GetParameter) || op == Operation::GetParametersByPath {
        for i in 0..10 {
            let name = format!("{parameter_path}/p{i}");
            client
                .call(
                    Service::Ssm,
                    "PutParameter",
                    &json!({"Name": name, "Value": value(size.min(4096)), "Type": "SecureString"}),
                )
                .await
                .context("seeding parameters")?;
            seeded.parameters.push(name);
        }
    }
    if wants(Operation::KmsDecrypt) {
        let key: serde_json::Value = serde_json::from_slice(
            &client
                .call(
                    Service::Kms,
                    "CreateKey",
                    &json!({"Description": "coffer bench"}),
                )
                .await
                .context("creating a KMS key")?,
        )?;
        let key_id = key["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seeded.key_id = Some(key_id.clone());
        let plaintext = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(value(size.min(4096)))
        };
        let out: serde_json::Value = serde_json::from_slice(
            &client
                .call(
                    Service::Kms,
                    "Encrypt",
                    &json!({"KeyId": key_id, "Plaintext": plaintext}),
                )
                .await
                .context("encrypting the sample")?,
        )?;
        seeded.ciphertext = out["CiphertextBlob"].as_str().map(str::to_owned);
    }
    Ok(seeded)
}

async fn cleanup(client: &AwsClient, s: &Seeded) {
    let _ = client
        .call(
            Service::SecretsManager,
            "DeleteSecret",
            &json!({"SecretId": s.secret, "ForceDeleteWithoutRecovery": true}),
        )
        .await;
    for chunk in s.parameters.chunks(10) {
        let _ = client
            .call(Service::Ssm, "DeleteParameters", &json!({"Names": chunk}))
            .await;
    }
    if let Some(k) = &s.key_id {
        let _ = client
            .call(
                Service::Kms,
                "ScheduleKeyDeletion",
                &json!({"KeyId": k, "PendingWindowInDays": 7}),
            )
            .await;
    }
}

fn calls(op: Operation, s: &Seeded, size: usize) -> Vec<Call> {
    let body = |v: serde_json::Value| Bytes::from(v.to_string());
    let get_secret = Call {
        service: Service::SecretsManager,
        operation: "GetSecretValue",
        body: body(json!({"SecretId": s.secret})),
    };
    let get_parameter = Call {
        service: Service::Ssm,
        operation: "GetParameter",
        body: body(json!({"Name": s.parameters.first(), "WithDecryption": true})),
    };
    let decrypt = Call {
        service: Service::Kms,
        operation: "Decrypt",
        body: body(json!({"CiphertextBlob": s.ciphertext})),
    };
    // Each PutSecretValue gets a fresh ClientRequestToken, chosen by the server when omitted.
    let put = Call {
        service: Service::SecretsManager,
        operation: "PutSecretValue",
        body: body(json!({"SecretId": s.secret, "SecretString": value(size)})),
    };
    match op {
        Operation::GetSecretValue => vec![get_secret],
        Operation::GetParameter => vec![get_parameter],
        Operation::GetParametersByPath => vec![Call {
            service: Service::Ssm,
            operation: "GetParametersByPath",
            body: body(
                json!({"Path": s.parameter_path, "WithDecryption": true, "Recursive": true, "MaxResults": 10}),
            ),
        }],
        Operation::PutSecretValue => vec![put],
        Operation::KmsDecrypt => vec![decrypt],
        Operation::Mixed => {
            let mut v = vec![get_secret; 12];
            v.extend(std::iter::repeat_n(get_parameter, 5));
            v.extend(std::iter::repeat_n(decrypt, 2));
            v.push(put);
            v
        }
    }
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
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let client = AwsClient::new(&args.conn.options(), &Env::process(), "coffer-bench")?;
    client.check_credentials().await.context(
        "no usable credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile",
    )?;
    let seeded = seed(&client, args.operation, args.value_size).await?;
    let plan = Arc::new(calls(args.operation, &seeded, args.value_size));
    let done = Arc::new(AtomicU64::new(0));
    let bar = match args.requests {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new(args.duration.as_secs().max(1)),
    };
    if args.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let deadline = started + args.duration;
    let mut workers = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency {
        let (client, plan, done) = (client.clone(), plan.clone(), done.clone());
        let limit = args.requests;
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut i = w;
            loop {
                let n = done.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| n >= l) || (limit.is_none() && Instant::now() >= deadline)
                {
                    break;
                }
                let call = &plan[i % plan.len()];
                i += 1;
                let t = Instant::now();
                let result = client
                    .call_once(call.service, call.operation, &call.body)
                    .await;
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
        }));
    }
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
    cleanup(&client, &seeded).await;
    all.latencies_us.sort_unstable();
    let total = all.latencies_us.len();
    #[allow(clippy::cast_precision_loss)]
    let rps = total as f64 / elapsed.as_secs_f64();
    let result = json!({
        "endpoint": client.endpoint(Service::SecretsManager),
        "operation": format!("{:?}", args.operation),
        "concurrency": args.concurrency,
        "value_size": args.value_size,
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
    });
    #[allow(clippy::print_stdout)] // the command's output
    if args.json {
        println!("{result}");
    } else {
        let l = &result["latency_ms"];
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
        println!(
            "{:<22} {total} in {:.2} s",
            "requests",
            elapsed.as_secs_f64()
        );
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
    }
    Ok(u8::from(!all.errors.is_empty()))
}
