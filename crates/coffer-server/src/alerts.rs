//! Alert delivery to a webhook: JSON POSTs signed with HMAC-SHA256 (`X-Coffer-Signature:
//! sha256=HEX` over the body, keyed by the configured secret), retried with backoff, never
//! blocking a request (a bounded queue; alerts beyond it are logged and dropped).

use coffer_service::audit::alerts::{Alert, AlertSink};
use coffer_types::SecretBytes;
use std::time::Duration;
use tokio::sync::mpsc;

const QUEUE: usize = 1_024;
const ATTEMPTS: u32 = 4;

/// Where alerts are delivered.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<SecretBytes>,
}

#[derive(Debug)]
pub struct WebhookSink {
    tx: mpsc::Sender<Alert>,
}

impl WebhookSink {
    /// Start the delivery task.
    pub fn start(hook: Webhook) -> anyhow::Result<Self> {
        // https with the system roots and AWS_CA_BUNDLE.
        let client = coffer_service::outbound::client(Duration::from_secs(10))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(deliver(client, hook, rx));
        Ok(Self { tx })
    }
}

impl AlertSink for WebhookSink {
    fn deliver(&self, alert: Alert) {
        if self.tx.try_send(alert).is_err() {
            tracing::error!("alert webhook queue full; alert dropped (it is in the log)");
        }
    }
}

fn signature(secret: &[u8], body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    format!(
        "sha256={}",
        hex::encode(aws_lc_rs::hmac::sign(&key, body).as_ref())
    )
}

async fn deliver(client: reqwest::Client, hook: Webhook, mut rx: mpsc::Receiver<Alert>) {
    while let Some(alert) = rx.recv().await {
        let Ok(body) = serde_json::to_vec(&alert) else {
            continue;
        };
        let mut delay = Duration::from_millis(500);
        for attempt in 1..=ATTEMPTS {
            let mut req = client
                .post(&hook.url)
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(secret) = &hook.secret {
                req = req.header("x-coffer-signature", signature(secret.expose(), &body));
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => break,
                outcome => {
                    let why = match outcome {
                        Ok(r) => format!("status {}", r.status()),
                        Err(e) => e.to_string(),
                    };
                    if attempt == ATTEMPTS {
                        tracing::error!(rule = %alert.rule, error = %why, "alert webhook failed; giving up");
                    } else {
                        tracing::warn!(rule = %alert.rule, error = %why, attempt, "alert webhook failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                    }
                }
            }
        }
    }
}
