//! AWS Systems Manager Parameter Store.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html>
//!
//! - [`access`]: authorisation, called by every handler first (`ssm:<Op>` on the parameters it
//!   names; another account's shared parameter also by its resource policies).
//! - [`names`]: parameter names, ARNs, `name:version` / `name:label` selectors, paths, labels.
//! - [`seal`]: SecureString values — a fresh 256-bit data key per version, wrapped by KMS with the
//!   encryption context `{"PARAMETER_ARN": arn}`, the value sealed under it with the ARN and
//!   version as associated data.
//! - [`put`]: PutParameter (types, tiers, versions, AllowedPattern, DataType).
//! - [`read`]: GetParameter, GetParameters, GetParameterHistory.
//! - [`list`]: GetParametersByPath, DescribeParameters (filters, bounded pages).
//! - [`delete`], [`labels`], [`tags`], [`settings`], [`sharing`]: the other operation groups.
//! - [`policies`]: parameter policies (Expiration, ExpirationNotification, NoChangeNotification),
//!   their events and [`Ssm::housekeeping`].
//! - [`reference`]: `/aws/reference/secretsmanager/...` names, answered from Secrets Manager.
//!
//! String and StringList values are stored unencrypted at the application level, as AWS stores
//! them (they are not secrets by AWS's definition); SecureString values never reach the store in
//! the clear.

mod access;
mod delete;
mod error;
mod labels;
mod list;
mod names;
mod policies;
mod put;
mod read;
mod reference;
mod seal;
mod settings;
mod sharing;
mod tags;
#[cfg(test)]
mod tests;

pub use error::SsmError;
pub use policies::{ParameterEvent, ParameterEventKind, ParameterEvents, TracingEvents};

use crate::kms::Kms;
use crate::model::Service;
use crate::secretsmanager::SecretsManager;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coffer_store::Store;
use coffer_types::SecretBytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// Quotas AWS applies per account and Region.
/// <https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm>
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Standard-tier parameters per account and Region.
    pub standard_parameters: u64,
    /// Advanced-tier parameters per account and Region.
    pub advanced_parameters: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            standard_parameters: 10_000,
            advanced_parameters: 100_000,
        }
    }
}

/// The Parameter Store service.
#[derive(Clone)]
pub struct Ssm {
    store: Store,
    kms: Kms,
    secretsmanager: SecretsManager,
    events: Arc<dyn ParameterEvents>,
    limits: Limits,
}

impl std::fmt::Debug for Ssm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ssm")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Ssm {
    pub fn new(store: Store, kms: Kms, secretsmanager: SecretsManager) -> Self {
        Self {
            store,
            kms,
            secretsmanager,
            events: Arc::new(TracingEvents),
            limits: Limits::default(),
        }
    }

    /// Send parameter policy events (expirations, notifications) somewhere other than the log.
    pub fn with_events(mut self, events: Arc<dyn ParameterEvents>) -> Self {
        self.events = events;
        self
    }

    /// Other quotas than AWS's (tests; deployments that want less).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

operations!(Ssm, SsmError, Service::Ssm;
    PutParameter => put::put_parameter,
    GetParameter => read::get_parameter,
    GetParameters => read::get_parameters,
    GetParameterHistory => read::get_parameter_history,
    GetParametersByPath => list::get_parameters_by_path,
    DescribeParameters => list::describe_parameters,
    DeleteParameter => delete::delete_parameter,
    DeleteParameters => delete::delete_parameters,
    LabelParameterVersion => labels::label_parameter_version,
    UnlabelParameterVersion => labels::unlabel_parameter_version,
    AddTagsToResource => tags::add_tags_to_resource,
    RemoveTagsFromResource => tags::remove_tags_from_resource,
    ListTagsForResource => tags::list_tags_for_resource,
    GetServiceSetting => settings::get_service_setting,
    UpdateServiceSetting => settings::update_service_setting,
    ResetServiceSetting => settings::reset_service_setting,
    PutResourcePolicy => sharing::put_resource_policy,
    GetResourcePolicies => sharing::get_resource_policies,
    DeleteResourcePolicy => sharing::delete_resource_policy,
);

/// An output with no members.
#[derive(Debug, Serialize)]
pub struct Empty {}

/// A parameter value as it arrives: zeroized when dropped, never printed.
#[derive(Debug)]
pub struct ValueIn(pub SecretBytes);

impl<'de> Deserialize<'de> for ValueIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = zeroize::Zeroizing::new(String::deserialize(d)?);
        Ok(Self(SecretBytes::from(s.as_bytes())))
    }
}

/// A value on its way out: a plain String/StringList value, or plaintext that must not be
/// printed (decrypted SecureString values, Secrets Manager's answers).
#[derive(Clone)]
pub enum ValueOut {
    Plain(String),
    Secret(SecretBytes),
}

impl std::fmt::Debug for ValueOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain(v) => write!(f, "Plain(<{} bytes>)", v.len()),
            Self::Secret(v) => write!(f, "Secret({v:?})"),
        }
    }
}

impl Serialize for ValueOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Plain(v) => s.serialize_str(v),
            // Values arrive as JSON strings, so they are UTF-8; lossy only guards the impossible.
            Self::Secret(v) => s.serialize_str(&String::from_utf8_lossy(v.expose())),
        }
    }
}

/// Pagination tokens are opaque to clients: base64url of the operation's cursor, tagged with the
/// operation so one operation's token is refused by another.
pub(crate) mod token {
    use super::*;

    pub fn encode(op: &str, cursor: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{op}\n{cursor}"))
    }

    /// The cursor in `token`, which must have been made by `op`.
    pub fn decode(op: &str, token: Option<&str>) -> Result<Option<String>, SsmError> {
        let Some(t) = token else { return Ok(None) };
        URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once('\n')
                    .filter(|(o, _)| *o == op)
                    .map(|(_, c)| c.to_owned())
            })
            .map(Some)
            .ok_or_else(|| {
                SsmError::InvalidNextToken("The specified token isn't valid.".to_owned())
            })
    }
}

/// Retries of a read-modify-write that lost a compare-and-set race, before giving up with
/// AWS's `TooManyUpdates`.
pub(crate) const RETRIES: usize = 16;

pub(crate) fn too_many_updates() -> SsmError {
    SsmError::TooManyUpdates(
        "There are concurrent updates for a resource that supports one update at a time."
            .to_owned(),
    )
}
