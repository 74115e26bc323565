//! What `coffer bench` puts in the store before measuring, and takes out afterwards: the measured
//! items (one secret or `--secrets N`, ten parameters, a KMS key) and `--fill N` items the
//! measured requests never touch. Large counts go through [`for_each`]: `--concurrency` tasks
//! and a progress bar.

use super::{Operation, value};
use anyhow::Context as _;
use coffer_client::{AwsClient, Service};
use serde_json::json;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Values of fill secrets and parameters, in bytes: the point is their number, not their size.
const FILL_VALUE_SIZE: usize = 32;

/// AWS's quotas per account and Region, which coffer enforces: 10,000 Standard-tier parameters
/// (the ten measured ones among them), 100,000 Advanced-tier ones. Fill parameters take the
/// default tier (Standard) up to this many, and are all Advanced beyond.
const STANDARD_FILL_MAX: u64 = 9_990;

/// What to seed.
#[derive(Debug, Clone, Copy)]
pub(super) struct SeedPlan {
    pub op: Operation,
    pub value_size: usize,
    pub secrets: u64,
    pub fill: u64,
    pub workers: usize,
    /// Draw progress bars and print one summary line per large step (on stderr).
    pub show: bool,
}

/// What the run seeded, to build requests from and to remove afterwards.
#[derive(Debug)]
pub(super) struct Seeded {
    pub prefix: String,
    /// The measured secrets (`--secrets`), or none.
    pub secrets: Vec<String>,
    pub parameter_path: String,
    pub parameters: Vec<String>,
    pub key_id: Option<String>,
    pub ciphertext: Option<String>,
    /// Fill items: their kind and how many names were handed out (an upper bound of what exists).
    pub fill: Option<(Fill, u64)>,
    /// How many items were created (all of the above when seeding succeeded).
    created: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fill {
    Secrets,
    Parameters,
}

impl Fill {
    pub fn for_operation(op: Operation) -> Self {
        match op {
            Operation::GetParameter | Operation::GetParametersByPath => Self::Parameters,
            Operation::GetSecretValue
            | Operation::PutSecretValue
            | Operation::KmsDecrypt
            | Operation::Mixed => Self::Secrets,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Secrets => "secrets",
            Self::Parameters => "parameters",
        }
    }
}

/// The name of fill item `i`: `{prefix}/fill/s0000042` or `/{prefix}/fill/p0000042`, apart from
/// the measured secret (`{prefix}/secret`) and parameters (`/{prefix}/params/...`).
fn fill_name(prefix: &str, kind: Fill, i: u64) -> String {
    match kind {
        Fill::Secrets => format!("{prefix}/fill/s{i:07}"),
        Fill::Parameters => format!("/{prefix}/fill/p{i:07}"),
    }
}

impl Seeded {
    /// Where the data lives, for messages.
    pub fn location(&self) -> String {
        format!(
            "secrets named {p}/..., parameters under /{p}/",
            p = self.prefix
        )
    }
}

/// Whether `op` reads or writes the measured secrets.
pub(super) fn uses_secrets(op: Operation) -> bool {
    matches!(
        op,
        Operation::GetSecretValue | Operation::PutSecretValue | Operation::Mixed
    )
}

/// Seed everything `plan` asks for. On failure, whatever was created is removed again (unless
/// `keep`), and the error says what failed.
pub(super) async fn seed(client: &AwsClient, plan: SeedPlan, keep: bool) -> anyhow::Result<Seeded> {
    let mut tag = [0u8; 4];
    super::random_fill(&mut tag)?;
    let prefix = format!("coffer-bench-{}", hex::encode(tag));
    let mut seeded = Seeded {
        parameter_path: format!("/{prefix}/params"),
        prefix,
        secrets: Vec::new(),
        parameters: Vec::new(),
        key_id: None,
        ciphertext: None,
        fill: None,
        created: 0,
    };
    match seed_into(client, plan, &mut seeded).await {
        Ok(()) => Ok(seeded),
        Err(e) if seeded.created == 0 => Err(e),
        Err(e) if keep => Err(e.context(format!(
            "--keep: what was seeded is left in place ({})",
            seeded.location()
        ))),
        Err(e) => {
            cleanup(client, &seeded, plan.workers, plan.show).await;
            Err(e)
        }
    }
}

async fn seed_into(client: &AwsClient, plan: SeedPlan, seeded: &mut Seeded) -> anyhow::Result<()> {
    let op = plan.op;
    let wants = |o: Operation| op == o || op == Operation::Mixed;
    if uses_secrets(op) {
        seeded.secrets = if plan.secrets == 1 {
            vec![format!("{}/secret", seeded.prefix)]
        } else {
            (0..plan.secrets)
                .map(|i| format!("{}/secret-{i}", seeded.prefix))
                .collect()
        };
        let names = Arc::new(seeded.secrets.clone());
        let (client2, body) = (client.clone(), value(plan.value_size));
        let started = Instant::now();
        let show = plan.show && plan.secrets > 1;
        let ran = for_each(plan.secrets, plan.workers, "seeding", show, move |i| {
            let (client, names, body) = (client2.clone(), names.clone(), body.clone());
            async move {
                let name = &names[usize::try_from(i)?];
                create_secret(&client, name, &body).await
            }
        })
        .await;
        seeded.created += ran.done;
        ran.result.context("seeding the measured secrets")?;
        if show {
            summary("seeded", plan.secrets, "secrets to measure", started);
        }
    }
    if wants(Operation::GetParameter) || op == Operation::GetParametersByPath {
        seeded.parameters = (0..10)
            .map(|i| format!("{}/p{i}", seeded.parameter_path))
            .collect();
        let names = Arc::new(seeded.parameters.clone());
        let (client2, size) = (client.clone(), plan.value_size.min(4096));
        let ran = for_each(10, plan.workers, "seeding", false, move |i| {
            let (client, names) = (client2.clone(), names.clone());
            async move {
                let name = &names[usize::try_from(i)?];
                put_parameter(&client, name, &value(size), None).await
            }
        })
        .await;
        seeded.created += ran.done;
        ran.result.context("seeding parameters")?;
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
        seeded.created += 1;
        let plaintext = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(value(plan.value_size.min(4096)))
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
    if plan.fill > 0 {
        let kind = Fill::for_operation(op);
        let prefix = seeded.prefix.clone();
        let client2 = client.clone();
        let started = Instant::now();
        let tier = (plan.fill > STANDARD_FILL_MAX).then_some("Advanced");
        let ran = for_each(plan.fill, plan.workers, "seeding", plan.show, move |i| {
            let (client, prefix) = (client2.clone(), prefix.clone());
            async move {
                let (name, v) = (fill_name(&prefix, kind, i), value(FILL_VALUE_SIZE));
                match kind {
                    Fill::Secrets => create_secret(&client, &name, &v).await,
                    Fill::Parameters => put_parameter(&client, &name, &v, tier).await,
                }
            }
        })
        .await;
        seeded.fill = Some((kind, ran.claimed));
        seeded.created += ran.done;
        ran.result.with_context(|| {
            let quota = if kind == Fill::Parameters {
                "; AWS allows 100,000 Advanced-tier parameters per account and Region"
            } else {
                ""
            };
            format!(
                "seeding {} fill {} (failed after {}{quota})",
                plan.fill,
                kind.noun(),
                ran.done
            )
        })?;
        if plan.show {
            summary(
                "seeded",
                plan.fill,
                &format!("fill {}", kind.noun()),
                started,
            );
        }
    }
    Ok(())
}

async fn create_secret(client: &AwsClient, name: &str, value: &str) -> anyhow::Result<()> {
    let token = uuid::Uuid::new_v4().to_string();
    let input = json!({"Name": name, "SecretString": value, "ClientRequestToken": token});
    let result = client
        .call(Service::SecretsManager, "CreateSecret", &input)
        .await;
    created(result, "ResourceExistsException").with_context(|| format!("CreateSecret {name}"))
}

async fn put_parameter(
    client: &AwsClient,
    name: &str,
    value: &str,
    tier: Option<&str>,
) -> anyhow::Result<()> {
    let mut input = json!({"Name": name, "Value": value, "Type": "SecureString"});
    if let Some(tier) = tier {
        input["Tier"] = tier.into();
    }
    let result = client.call(Service::Ssm, "PutParameter", &input).await;
    created(result, "ParameterAlreadyExists").with_context(|| format!("PutParameter {name}"))
}

/// A create's outcome. "Already exists" counts as created: the names carry this run's random
/// prefix, so it is a retried call whose first attempt went through.
fn created(result: Result<bytes::Bytes, coffer_client::Error>, exists: &str) -> anyhow::Result<()> {
    match result {
        Err(e) if e.service().is_some_and(|s| s.code == exists) => Ok(()),
        other => other.map(drop).map_err(anyhow::Error::from),
    }
}

/// Deletions the server refused, counted by the cleanup tasks (which keep going after one).
#[derive(Debug, Default)]
struct Refused {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Refused {
    fn record(&self, what: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first.lock() {
            first.get_or_insert(what);
        }
    }
}

/// The outcome of one deletion: refusals are counted and cleanup goes on; an unreachable server
/// stops it (an error).
fn deleted(
    result: Result<bytes::Bytes, coffer_client::Error>,
    what: &str,
    refused: &Refused,
) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) => match e.service() {
            Some(s) if s.code == "ResourceNotFoundException" => Ok(()),
            Some(_) => {
                refused.record(format!("{what}: {e}"));
                Ok(())
            }
            None => Err(anyhow::Error::from(e).context(what.to_owned())),
        },
    }
}

/// Remove everything `s` holds: secrets without recovery, parameters ten per DeleteParameters,
/// the KMS key scheduled for deletion. What could not be removed is reported on stderr with
/// where the leftovers are; it does not fail the run.
#[allow(clippy::print_stderr)] // a warning: the measurement itself succeeded
pub(super) async fn cleanup(client: &AwsClient, s: &Seeded, workers: usize, show: bool) {
    let refused = Arc::new(Refused::default());
    let started = Instant::now();
    let mut secrets = s.secrets.clone();
    let mut parameters = s.parameters.clone();
    if let Some((kind, n)) = s.fill {
        let names = (0..n).map(|i| fill_name(&s.prefix, kind, i));
        match kind {
            Fill::Secrets => secrets.extend(names),
            Fill::Parameters => parameters.extend(names),
        }
    }
    let total = (secrets.len() + parameters.len()) as u64;
    let show = show && total > 11; // not for the few items of a run without --secrets or --fill
    let secrets = Arc::new(secrets);
    let (client2, r) = (client.clone(), refused.clone());
    let mut ran = for_each(secrets.len() as u64, workers, "cleanup", show, move |i| {
        let (client, secrets, r) = (client2.clone(), secrets.clone(), r.clone());
        async move {
            let name = &secrets[usize::try_from(i)?];
            let input = json!({"SecretId": name, "ForceDeleteWithoutRecovery": true});
            let result = client
                .call(Service::SecretsManager, "DeleteSecret", &input)
                .await;
            deleted(result, &format!("DeleteSecret {name}"), &r)
        }
    })
    .await;
    if ran.result.is_ok() {
        let chunks = parameters.chunks(10).map(<[_]>::to_vec).collect::<Vec<_>>();
        let (client2, r, chunks) = (client.clone(), refused.clone(), Arc::new(chunks));
        ran = for_each(chunks.len() as u64, workers, "cleanup", show, move |i| {
            let (client, chunks, r) = (client2.clone(), chunks.clone(), r.clone());
            async move {
                let chunk = &chunks[usize::try_from(i)?];
                let input = json!({"Names": chunk});
                let result = client.call(Service::Ssm, "DeleteParameters", &input).await;
                deleted(result, &format!("DeleteParameters {}...", chunk[0]), &r)
            }
        })
        .await;
    }
    if let (Some(k), Ok(())) = (&s.key_id, &ran.result) {
        let input = json!({"KeyId": k, "PendingWindowInDays": 7});
        let result = client
            .call(Service::Kms, "ScheduleKeyDeletion", &input)
            .await;
        ran.result = deleted(result, &format!("ScheduleKeyDeletion {k}"), &refused);
    }
    let failed = refused.count.load(Ordering::Relaxed);
    if let Err(e) = ran.result {
        eprintln!(
            "coffer bench: cleanup stopped: {e:#}; leftovers: {}",
            s.location()
        );
    } else if failed > 0 {
        let first = refused.first.lock().ok().and_then(|f| f.clone());
        eprintln!(
            "coffer bench: cleanup: {failed} deletions refused (first: {}); leftovers: {}",
            first.unwrap_or_default(),
            s.location()
        );
    } else if show {
        summary("removed", total, "seeded items", started);
    }
}

#[allow(clippy::print_stderr)] // progress notes go to stderr, the result to stdout
fn summary(verb: &str, n: u64, what: &str, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let rate = n as f64 / secs.max(1e-9);
    eprintln!("{verb} {n} {what} in {secs:.1} s ({rate:.0}/s)");
}

/// What [`for_each`] did.
#[derive(Debug)]
pub(super) struct Ran {
    /// Indexes handed out: an upper bound of the jobs that ran.
    claimed: u64,
    /// Jobs that succeeded.
    done: u64,
    /// The first error.
    result: anyhow::Result<()>,
}

/// Run `job(i)` for every `i` in `0..n` on `workers` concurrent tasks, with a progress bar
/// labelled `label` when `show`. Stops handing out work at the first error.
pub(super) async fn for_each<F, Fut>(
    n: u64,
    workers: usize,
    label: &'static str,
    show: bool,
    job: F,
) -> Ran
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let bar = indicatif::ProgressBar::new(n);
    if show {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} {bar:40} {human_pos}/{human_len} {per_sec:0} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message(label);
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (job, next, failed) = (
        Arc::new(job),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let tasks: Vec<_> = (0..u64::try_from(workers).unwrap_or(u64::MAX).min(n))
        .map(|_| {
            let (job, next, failed, bar) = (job.clone(), next.clone(), failed.clone(), bar.clone());
            tokio::spawn(async move {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    if let Err(e) = job(i).await {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                    bar.inc(1);
                }
                Ok(())
            })
        })
        .collect();
    let mut result = Ok(());
    for task in tasks {
        let outcome = task.await.map_err(anyhow::Error::from).and_then(|r| r);
        if let (Err(e), true) = (outcome, result.is_ok()) {
            result = Err(e);
        }
    }
    let done = bar.position(); // before finishing, which moves it to the end
    bar.finish_and_clear();
    Ran {
        claimed: next.load(Ordering::Relaxed).min(n),
        done,
        result,
    }
}
