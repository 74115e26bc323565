//! Rotation functions reached over HTTP: coffer POSTs each step's Lambda event
//! `{"SecretId", "ClientRequestToken", "Step"}` as JSON to the registered URL; any 2xx answer is
//! success, anything else (or no answer within the function's timeout) a failure of that step.
//! The function calls coffer's API with its own credentials, as a Lambda rotation function calls
//! AWS.
//!
//! Each request carries `X-Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>." + body` with the function's signing key (returned once by CreateRotationFunction), so
//! the function can tell coffer's calls from anyone else's and refuse replays (check `t` is
//! recent), and `X-Coffer-Function: <name>`.

use async_trait::async_trait;
use coffer_service::secretsmanager::rotation::{
    HttpFunction, Invocation, RotationApi, RotationError, RotationFunction,
};

pub const SIGNATURE_HEADER: &str = "x-coffer-signature";

#[derive(Debug)]
pub struct HttpRotation {
    client: reqwest::Client,
    function: HttpFunction,
}

/// The signature header's value for `body` sent at unix time `t`.
pub fn signature(key: &[u8], t: i64, body: &[u8]) -> String {
    use aws_lc_rs::hmac;
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{t}.").as_bytes());
    ctx.update(body);
    format!("t={t},v1={}", hex::encode(ctx.sign().as_ref()))
}

impl HttpRotation {
    pub fn new(client: reqwest::Client, function: HttpFunction) -> Self {
        Self { client, function }
    }
}

#[async_trait]
impl RotationFunction for HttpRotation {
    async fn invoke(&self, event: &Invocation, _api: &RotationApi) -> Result<(), RotationError> {
        let body = serde_json::to_vec(event)
            .map_err(|_| RotationError::new("encoding the rotation event"))?;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let sig = signature(self.function.signing_key.expose(), t, &body);
        let sent = self
            .client
            .post(&self.function.url)
            .timeout(self.function.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .header("x-coffer-function", &self.function.name)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(RotationError::new(format!(
                "rotation function {} answered HTTP {}",
                self.function.name,
                r.status().as_u16()
            ))),
            Err(e) if e.is_timeout() => Err(RotationError::new(format!(
                "rotation function {} did not answer within {} s",
                self.function.name,
                self.function.timeout.as_secs()
            ))),
            Err(e) => Err(RotationError::new(format!(
                "calling rotation function {}: {}",
                self.function.name,
                e.without_url()
            ))),
        }
    }
}
