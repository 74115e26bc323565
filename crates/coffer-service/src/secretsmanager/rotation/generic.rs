//! `CofferRandomPasswordRotation`: the rotator for secrets with no system behind them. It makes
//! a new random password and makes it current; nothing else has to learn it.
//!
//! createSecret: AWSCURRENT is copied with a new `password` when it is a JSON object that has
//! one (`{"username": "...", "password": "..."}`), otherwise the whole value becomes the new
//! password. setSecret: nothing to set. testSecret: the AWSPENDING version can be read.
//! finishSecret: AWSCURRENT moves to it.

use super::{Invocation, RotationApi, RotationError, RotationFunction};
use async_trait::async_trait;
use coffer_types::SecretBytes;
use std::sync::Arc;

/// The function name that selects this rotator:
/// `arn:aws:lambda:REGION:ACCOUNT:function:CofferRandomPasswordRotation`.
pub const GENERIC_ROTATOR: &str = "CofferRandomPasswordRotation";

pub(super) fn builtin(name: &str) -> Option<Arc<dyn RotationFunction>> {
    (name == GENERIC_ROTATOR).then(|| Arc::new(RandomPassword) as Arc<dyn RotationFunction>)
}

struct RandomPassword;

/// `current` with its `password` member replaced, when it is a JSON object with one.
pub(crate) fn with_password(current: &SecretBytes, password: &SecretBytes) -> Option<SecretBytes> {
    let mut doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(current.expose()).ok()?;
    if !doc
        .get("password")
        .is_some_and(serde_json::Value::is_string)
    {
        return None;
    }
    let text = std::str::from_utf8(password.expose()).ok()?;
    doc.insert(
        "password".to_owned(),
        serde_json::Value::String(text.to_owned()),
    );
    serde_json::to_vec(&doc).ok().map(SecretBytes::new)
}

#[async_trait]
impl RotationFunction for RandomPassword {
    async fn invoke(&self, event: &Invocation, api: &RotationApi) -> Result<(), RotationError> {
        match event.step {
            "createSecret" => {
                let password = api.new_password()?;
                api.create_pending(event, |current| {
                    Ok(with_password(current, &password).unwrap_or_else(|| password.clone()))
                })
                .await
            }
            "setSecret" => Ok(()),
            "testSecret" => api.pending(event).await.map(|_| ()),
            "finishSecret" => api.finish(event).await,
            other => Err(RotationError::new(format!("unknown step {other}"))),
        }
    }
}
