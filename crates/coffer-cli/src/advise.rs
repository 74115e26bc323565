//! `coffer advise`: the seeds' decision framework applied to a live inventory and its audit
//! trail, through the API (so it works against coffer or AWS, with the caller's permissions).
//!
//! Per secret: does it need Secrets Manager (rotation, replication, cross-account access, a
//! managing service) or would a Parameter Store Standard SecureString parameter do? What the
//! inventory and the observed call volume would cost on AWS each month (the seeds' prices), and
//! what the caching agent would save. Pitfalls found in the data. Text, JSON or Markdown.

use crate::client::ConnectionArgs;
use anyhow::Context as _;
use coffer_client::{AwsClient, Env, Service};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// AWS list prices the seeds quote (us-east-1), in USD.
mod price {
    pub const SECRET_MONTH: f64 = 0.40;
    pub const SECRETS_MANAGER_PER_10K_CALLS: f64 = 0.05;
    pub const ADVANCED_PARAMETER_MONTH: f64 = 0.05;
    pub const KMS_KEY_MONTH: f64 = 1.00;
    pub const KMS_PER_10K_CALLS: f64 = 0.03;
}

/// The caching agent's default TTL: one read per secret and caller every 300 s at most.
const AGENT_READS_PER_DAY: f64 = 86_400.0 / 300.0;
/// Most audit events read (LookupEvents pages of 50).
const MAX_EVENTS: usize = 200_000;

#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    /// text, json or markdown.
    #[arg(long, default_value = "text")]
    output: String,
    /// Days of audit trail to read for call volumes (scaled to a 30-day month).
    #[arg(long, default_value_t = 7)]
    window_days: u32,
    /// A secret not read for this many days is reported.
    #[arg(long, default_value_t = 90)]
    idle_days: u32,
    /// One principal reading one secret more often than this per day is reported.
    #[arg(long, default_value_t = 1_000)]
    hot_reads_per_day: u64,
}

#[derive(Debug, Serialize)]
struct SecretAdvice {
    name: String,
    arn: String,
    recommendation: &'static str,
    reasons: Vec<String>,
    replicas: usize,
    calls_per_month: f64,
    monthly_cost_usd: f64,
}

#[derive(Debug, Serialize)]
struct ParameterAdvice {
    name: String,
    r#type: String,
    tier: String,
    recommendation: &'static str,
    reasons: Vec<String>,
    monthly_cost_usd: f64,
}

#[derive(Debug, Serialize)]
struct Pitfall {
    kind: &'static str,
    resource: String,
    detail: String,
}

#[derive(Debug, Default, Serialize)]
struct Costs {
    secrets_usd: f64,
    replicas_usd: f64,
    secrets_manager_calls_usd: f64,
    advanced_parameters_usd: f64,
    kms_keys_usd: f64,
    kms_calls_usd: f64,
    agent_savings_usd: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    region: String,
    window_days: u32,
    events_read: usize,
    secrets: Vec<SecretAdvice>,
    parameters: Vec<ParameterAdvice>,
    pitfalls: Vec<Pitfall>,
    costs: Costs,
    estimated_monthly_aws_cost_usd: f64,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every page of an awsJson listing: `items` from each answer, `token` the paging member.
async fn all_pages(
    client: &AwsClient,
    service: Service,
    op: &'static str,
    mut input: Value,
    items: &str,
    limit: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    loop {
        let raw = client
            .call(service, op, &input)
            .await
            .with_context(|| format!("{op} failed"))?;
        let page: Value = serde_json::from_slice(&raw).with_context(|| format!("{op} answer"))?;
        if let Some(list) = page[items].as_array() {
            out.extend(list.iter().cloned());
        }
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() && out.len() < limit => input["NextToken"] = json!(t),
            _ => return Ok(out),
        }
    }
}

async fn call(
    client: &AwsClient,
    service: Service,
    op: &'static str,
    input: Value,
) -> Option<Value> {
    let raw = client.call(service, op, &input).await.ok()?;
    serde_json::from_slice(&raw).ok()
}

/// Principals of other accounts an `Allow` statement of `policy` names.
fn foreign_principals(policy: &str, own_account: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Vec::new();
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let aws = &s["Principal"]["AWS"];
        let names: Vec<&str> = match aws {
            Value::String(p) => vec![p.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for p in names {
            let account = p
                .strip_prefix("arn:aws:iam::")
                .map_or(p, |r| r.split(':').next().unwrap_or(r));
            if p == "*" || account != own_account {
                out.push(p.to_owned());
            }
        }
    }
    out
}

fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "password", "passwd", "secret", "token", "apikey", "api_key", "api-key", "private",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn epoch_ms(v: &Value) -> Option<i64> {
    #[allow(clippy::cast_possible_truncation)] // epoch seconds as f64, well inside i64 millis
    v.as_f64().map(|s| (s * 1000.0) as i64)
}

/// What the audit trail says: calls per event source, and GetSecretValue per (caller, secret).
#[derive(Debug, Default)]
struct Volume {
    events: usize,
    by_source: BTreeMap<String, u64>,
    by_secret: BTreeMap<String, u64>,
    reads: BTreeMap<(String, String), u64>,
}

async fn volume(client: &AwsClient, now_s: f64, days: u32) -> anyhow::Result<Volume> {
    let start = now_s - f64::from(days) * 86_400.0;
    let events = all_pages(
        client,
        Service::CloudTrail,
        "LookupEvents",
        json!({"StartTime": start, "EndTime": now_s, "MaxResults": 50}),
        "Events",
        MAX_EVENTS,
    )
    .await?;
    let mut v = Volume {
        events: events.len(),
        ..Volume::default()
    };
    for e in &events {
        let source = e["EventSource"].as_str().unwrap_or_default().to_owned();
        *v.by_source.entry(source.clone()).or_default() += 1;
        if source != "secretsmanager.amazonaws.com" {
            continue;
        }
        for r in e["Resources"].as_array().into_iter().flatten() {
            let Some(name) = r["ResourceName"].as_str() else {
                continue;
            };
            *v.by_secret.entry(name.to_owned()).or_default() += 1;
            if e["EventName"] == "GetSecretValue" {
                let who = e["Username"].as_str().unwrap_or("unknown").to_owned();
                *v.reads.entry((who, name.to_owned())).or_default() += 1;
            }
        }
    }
    Ok(v)
}

async fn build(args: &AdviseArgs, client: &AwsClient) -> anyhow::Result<Report> {
    let now_ms = coffer_service_now();
    #[allow(clippy::cast_precision_loss)]
    let now_s = now_ms as f64 / 1000.0;
    let scale = 30.0 / f64::from(args.window_days.max(1));
    let vol = volume(client, now_s, args.window_days.max(1)).await?;
    let mut pitfalls = Vec::new();
    let mut costs = Costs::default();

    let listed = all_pages(
        client,
        Service::SecretsManager,
        "ListSecrets",
        json!({"MaxResults": 100}),
        "SecretList",
        usize::MAX,
    )
    .await?;
    let mut secrets = Vec::new();
    for s in listed {
        let name = s["Name"].as_str().unwrap_or_default().to_owned();
        let arn = s["ARN"].as_str().unwrap_or_default().to_owned();
        let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
        let described = call(
            client,
            Service::SecretsManager,
            "DescribeSecret",
            json!({"SecretId": arn}),
        )
        .await
        .unwrap_or(Value::Null);
        let replicas = described["ReplicationStatus"]
            .as_array()
            .map_or(0, Vec::len);
        let policy = call(
            client,
            Service::SecretsManager,
            "GetResourcePolicy",
            json!({"SecretId": arn}),
        )
        .await
        .and_then(|p| p["ResourcePolicy"].as_str().map(str::to_owned));
        let foreign = policy
            .as_deref()
            .map(|p| foreign_principals(p, &account))
            .unwrap_or_default();
        let default_key = s["KmsKeyId"]
            .as_str()
            .is_none_or(|k| k.contains("alias/aws/secretsmanager"));
        let mut reasons = Vec::new();
        if s["RotationEnabled"] == true {
            reasons.push("rotation is enabled (Parameter Store has no rotation)".to_owned());
        }
        if replicas > 0 {
            reasons.push(format!("replicated to {replicas} Region(s)"));
        }
        if s["PrimaryRegion"].is_string() {
            reasons.push("it is a replica".to_owned());
        }
        if !foreign.is_empty() {
            reasons.push(format!(
                "shared with other accounts by its resource policy ({})",
                foreign.join(", ")
            ));
        }
        if s["OwningService"].is_string() {
            reasons.push("managed by another service".to_owned());
        }
        let recommendation = if reasons.is_empty() {
            reasons.push("no rotation, replication or cross-account access: a Standard SecureString parameter would do, at no monthly cost (values up to 4 KB)".to_owned());
            "parameter-store-standard"
        } else {
            "secrets-manager"
        };
        #[allow(clippy::cast_precision_loss)]
        let calls = vol.by_secret.get(&name).copied().unwrap_or(0) as f64 * scale;
        #[allow(clippy::cast_precision_loss)]
        let storage = price::SECRET_MONTH * (1 + replicas) as f64;
        costs.secrets_usd += price::SECRET_MONTH;
        #[allow(clippy::cast_precision_loss)]
        {
            costs.replicas_usd += price::SECRET_MONTH * replicas as f64;
        }
        // Pitfalls.
        if !foreign.is_empty() && default_key {
            pitfalls.push(Pitfall {
                kind: "cross-account-with-aws-managed-key",
                resource: name.clone(),
                detail: "the resource policy shares it with another account, but it is encrypted with the AWS managed key aws/secretsmanager, which other accounts cannot use: re-encrypt it with a customer managed key".to_owned(),
            });
        }
        if s["RotationEnabled"] == true
            && let Some(next) = epoch_ms(&s["NextRotationDate"])
            && next < now_ms
        {
            pitfalls.push(Pitfall {
                kind: "rotation-overdue",
                resource: name.clone(),
                detail: "rotation is enabled but its next rotation date has passed: the rotation is failing or not running".to_owned(),
            });
        }
        let idle_ms = i64::from(args.idle_days) * 86_400_000;
        let last_read = epoch_ms(&s["LastAccessedDate"]);
        let created = epoch_ms(&s["CreatedDate"]).unwrap_or(now_ms);
        // LastAccessedDate is a day (midnight UTC): a read today counts as within 0 days.
        let cutoff = now_ms - now_ms.rem_euclid(86_400_000) - idle_ms;
        if last_read.is_none_or(|t| t < cutoff) && created <= now_ms - idle_ms {
            pitfalls.push(Pitfall {
                kind: "never-read",
                resource: name.clone(),
                detail: format!(
                    "not read in the last {} days: delete it if nothing needs it",
                    args.idle_days
                ),
            });
        }
        secrets.push(SecretAdvice {
            name,
            arn,
            recommendation,
            reasons,
            replicas,
            calls_per_month: round2(calls),
            monthly_cost_usd: round2(
                storage + calls / 10_000.0 * price::SECRETS_MANAGER_PER_10K_CALLS,
            ),
        });
    }
    for ((who, secret), n) in &vol.reads {
        #[allow(clippy::cast_precision_loss)]
        let per_day = *n as f64 / f64::from(args.window_days.max(1));
        #[allow(clippy::cast_precision_loss)]
        if per_day > args.hot_reads_per_day as f64 {
            pitfalls.push(Pitfall {
                kind: "hot-reads",
                resource: secret.clone(),
                detail: format!("{who} reads it about {per_day:.0} times a day: cache it (coffer agent, the AWS caching libraries)"),
            });
        }
        let monthly = per_day * 30.0;
        let with_agent = monthly.min(AGENT_READS_PER_DAY * 30.0);
        costs.agent_savings_usd +=
            (monthly - with_agent) / 10_000.0 * price::SECRETS_MANAGER_PER_10K_CALLS;
    }
    #[allow(clippy::cast_precision_loss)]
    {
        let sm_calls = vol
            .by_source
            .get("secretsmanager.amazonaws.com")
            .copied()
            .unwrap_or(0) as f64
            * scale;
        costs.secrets_manager_calls_usd =
            sm_calls / 10_000.0 * price::SECRETS_MANAGER_PER_10K_CALLS;
        let kms_calls = vol.by_source.get("kms.amazonaws.com").copied().unwrap_or(0) as f64 * scale;
        costs.kms_calls_usd = kms_calls / 10_000.0 * price::KMS_PER_10K_CALLS;
    }

    let mut parameters = Vec::new();
    for p in all_pages(
        client,
        Service::Ssm,
        "DescribeParameters",
        json!({"MaxResults": 50}),
        "Parameters",
        usize::MAX,
    )
    .await?
    {
        let name = p["Name"].as_str().unwrap_or_default().to_owned();
        let kind = p["Type"].as_str().unwrap_or_default().to_owned();
        let tier = p["Tier"].as_str().unwrap_or("Standard").to_owned();
        let mut reasons = Vec::new();
        let mut recommendation = "keep";
        if kind == "String" && looks_secret(&name) {
            recommendation = "use-securestring";
            reasons.push(
                "its name says it holds a secret, but it is stored as a plain String".to_owned(),
            );
            pitfalls.push(Pitfall {
                kind: "plaintext-parameter",
                resource: name.clone(),
                detail: "a String parameter whose name says password/secret/token: make it a SecureString".to_owned(),
            });
        }
        let cost = if tier == "Advanced" {
            price::ADVANCED_PARAMETER_MONTH
        } else {
            0.0
        };
        costs.advanced_parameters_usd += cost;
        parameters.push(ParameterAdvice {
            name,
            r#type: kind,
            tier,
            recommendation,
            reasons,
            monthly_cost_usd: cost,
        });
    }

    let keys = all_pages(
        client,
        Service::Kms,
        "ListKeys",
        json!({"Limit": 1000}),
        "Keys",
        usize::MAX,
    )
    .await
    .unwrap_or_default();
    for k in keys {
        let Some(id) = k["KeyId"].as_str() else {
            continue;
        };
        if let Some(d) = call(client, Service::Kms, "DescribeKey", json!({"KeyId": id})).await
            && d["KeyMetadata"]["KeyManager"] == "CUSTOMER"
            && d["KeyMetadata"]["KeyState"] != "PendingDeletion"
        {
            costs.kms_keys_usd += price::KMS_KEY_MONTH;
        }
    }
    let total = costs.secrets_usd
        + costs.replicas_usd
        + costs.secrets_manager_calls_usd
        + costs.advanced_parameters_usd
        + costs.kms_keys_usd
        + costs.kms_calls_usd;
    let costs = Costs {
        secrets_usd: round2(costs.secrets_usd),
        replicas_usd: round2(costs.replicas_usd),
        secrets_manager_calls_usd: round2(costs.secrets_manager_calls_usd),
        advanced_parameters_usd: round2(costs.advanced_parameters_usd),
        kms_keys_usd: round2(costs.kms_keys_usd),
        kms_calls_usd: round2(costs.kms_calls_usd),
        agent_savings_usd: round2(costs.agent_savings_usd),
    };
    Ok(Report {
        region: client.region().to_owned(),
        window_days: args.window_days,
        events_read: vol.events,
        secrets,
        parameters,
        pitfalls,
        costs,
        estimated_monthly_aws_cost_usd: round2(total),
    })
}

fn coffer_service_now() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

fn render(report: &Report, markdown: bool) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let h = |o: &mut String, t: &str| {
        if markdown {
            let _ = writeln!(o, "\n## {t}\n");
        } else {
            let _ = writeln!(o, "\n{t}\n{}", "-".repeat(t.len()));
        }
    };
    let _ = writeln!(
        o,
        "{}coffer advise — {} ({} audit events over {} days)",
        if markdown { "# " } else { "" },
        report.region,
        report.events_read,
        report.window_days
    );
    h(&mut o, "Secrets");
    for s in &report.secrets {
        let _ = writeln!(
            o,
            "- {}: {} (${:.2}/month) — {}",
            s.name,
            s.recommendation,
            s.monthly_cost_usd,
            s.reasons.join("; ")
        );
    }
    h(&mut o, "Parameters");
    for p in &report.parameters {
        let _ = writeln!(
            o,
            "- {} ({}, {}): {}{}",
            p.name,
            p.r#type,
            p.tier,
            p.recommendation,
            if p.reasons.is_empty() {
                String::new()
            } else {
                format!(" — {}", p.reasons.join("; "))
            }
        );
    }
    h(&mut o, "Pitfalls");
    if report.pitfalls.is_empty() {
        let _ = writeln!(o, "none found");
    }
    for p in &report.pitfalls {
        let _ = writeln!(o, "- [{}] {}: {}", p.kind, p.resource, p.detail);
    }
    h(&mut o, "Estimated monthly cost on AWS");
    let c = &report.costs;
    for (what, usd) in [
        ("secrets", c.secrets_usd),
        ("replicas", c.replicas_usd),
        ("Secrets Manager API calls", c.secrets_manager_calls_usd),
        ("Advanced parameters", c.advanced_parameters_usd),
        ("KMS keys", c.kms_keys_usd),
        ("KMS API calls", c.kms_calls_usd),
    ] {
        let _ = writeln!(o, "- {what}: ${usd:.2}");
    }
    let _ = writeln!(o, "- total: ${:.2}", report.estimated_monthly_aws_cost_usd);
    let _ = writeln!(
        o,
        "- the caching agent would save: ${:.2}",
        c.agent_savings_usd
    );
    o
}

pub fn main(args: AdviseArgs) -> anyhow::Result<u8> {
    let markdown = match args.output.as_str() {
        "text" => false,
        "markdown" | "json" => args.output == "markdown",
        other => anyhow::bail!("--output {other:?}: use text, json or markdown"),
    };
    let env = Env::process();
    let client = AwsClient::new(&args.conn.options(), &env, "coffer-advise")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(build(&args, &client))?;
    let out = if args.output == "json" {
        serde_json::to_string_pretty(&report)?
    } else {
        render(&report, markdown)
    };
    #[allow(clippy::print_stdout)] // the report is the command's output
    {
        println!("{out}");
    }
    Ok(0)
}
