//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and what a
//! grant allows when no policy does.
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>
//!
//! A grant lets its grantee use one key for the operations it lists, optionally only with an
//! encryption context that contains (`EncryptionContextSubset`) or equals
//! (`EncryptionContextEquals`) the grant's. Authorisation consults grants only when the policies
//! leave a request implicitly denied: an explicit deny in any policy still wins
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html>). coffer's
//! store is strongly consistent, so a grant is in force as soon as CreateGrant answers; grant
//! tokens are accepted, checked for form, and needed for nothing.

mod ops;

pub use ops::{create_grant, list_grants, list_retirable_grants, retire_grant, revoke_grant};

use super::resolve::arn_of;
use super::{Kms, KmsError};
use crate::RequestContext;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coffer_crypto::EncryptionContext;
use coffer_store::{GrantRecord, KeyRecord};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// Operations every key's grants may list.
const COMMON_OPERATIONS: &[&str] = &["CreateGrant", "RetireGrant", "DescribeKey"];

/// Operations that take an encryption context, the only ones a constrained grant may list
/// besides [`COMMON_OPERATIONS`].
/// <https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-constraints>
const CONTEXT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
];

/// The grant operations a key of this usage and spec supports.
/// <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations>
fn operations_for(key: &KeyRecord) -> &'static [&'static str] {
    match (key.key_usage.as_str(), key.key_spec.as_str()) {
        ("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT") => CONTEXT_OPERATIONS,
        ("ENCRYPT_DECRYPT", _) => &[
            "Decrypt",
            "Encrypt",
            "ReEncryptFrom",
            "ReEncryptTo",
            "GetPublicKey",
        ],
        ("SIGN_VERIFY", _) => &["Sign", "Verify", "GetPublicKey"],
        ("GENERATE_VERIFY_MAC", _) => &["GenerateMac", "VerifyMac"],
        ("KEY_AGREEMENT", _) => &["DeriveSharedSecret", "GetPublicKey"],
        _ => &[],
    }
}

/// AWS's `GrantConstraints`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    encryption_context_subset: Option<EncryptionContext>,
    encryption_context_equals: Option<EncryptionContext>,
}

impl GrantConstraints {
    fn is_empty(&self) -> bool {
        self.encryption_context_subset.is_none() && self.encryption_context_equals.is_none()
    }

    /// Does a request's encryption context satisfy the constraints?
    fn admit(&self, context: &EncryptionContext) -> bool {
        let subset = self
            .encryption_context_subset
            .as_ref()
            .is_none_or(|s| s.iter().all(|(k, v)| context.get(k) == Some(v)));
        let equals = self
            .encryption_context_equals
            .as_ref()
            .is_none_or(|e| e == context);
        subset && equals
    }

    /// Is every context these constraints admit also admitted by `parent`? (A grantee who creates
    /// a grant through its own grant can only pass on what it has.)
    fn within(&self, parent: &GrantConstraints) -> bool {
        if let Some(eq) = &self.encryption_context_equals {
            return parent.admit(eq);
        }
        let mine = self.encryption_context_subset.clone().unwrap_or_default();
        let subset_ok = parent
            .encryption_context_subset
            .as_ref()
            .is_none_or(|p| p.iter().all(|(k, v)| mine.get(k) == Some(v)));
        subset_ok && parent.encryption_context_equals.is_none()
    }

    fn from_record(g: &GrantRecord) -> Self {
        g.constraints
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default()
    }

    /// The `kms:GrantConstraintType` values of a CreateGrant request.
    fn types(&self) -> Vec<String> {
        let mut t = Vec::new();
        if self.encryption_context_equals.is_some() {
            t.push("EncryptionContextEquals".to_owned());
        }
        if self.encryption_context_subset.is_some() {
            t.push("EncryptionContextSubset".to_owned());
        }
        t
    }
}

/// How a grantee principal names the caller.
#[derive(Debug, PartialEq, Eq)]
enum Grantee {
    /// The caller itself, or the role of the caller's session.
    Caller,
    /// The caller's account: its identity policies must still allow the operation.
    Account,
    Other,
}

fn grantee_of(ctx: &RequestContext, principal: &str) -> Grantee {
    let p = &ctx.principal;
    let role = p.session.as_ref().map(|s| s.role_arn.as_str());
    if principal == p.arn || Some(principal) == role {
        Grantee::Caller
    } else if principal == root_arn(ctx.account()) {
        Grantee::Account
    } else {
        Grantee::Other
    }
}

fn root_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:root")
}

/// Does `principal` name an IAM or STS principal, or an AWS service? (The model's pattern has
/// already been checked.)
fn valid_principal(principal: &str) -> bool {
    if principal.ends_with(".amazonaws.com") && !principal.starts_with("arn:") {
        return true;
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", "aws", "iam" | "sts", "", account, resource]
        if account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !resource.is_empty())
}

/// Grant tokens name their grant: base64url of `key ARN | grant id | nonce`. They are not
/// capabilities (retiring and revoking are authorised by principal), so they need no MAC.
pub(crate) fn grant_token(key_arn: &str, grant_id: &str) -> Result<String, KmsError> {
    let mut nonce = [0u8; 16];
    coffer_crypto::random::fill(&mut nonce).map_err(crate::error::crypto::<KmsError>)?;
    Ok(URL_SAFE_NO_PAD.encode(format!(
        "coffer-grant|{key_arn}|{grant_id}|{}",
        hex::encode(nonce)
    )))
}

/// The key ARN and grant id a grant token names.
pub(crate) fn parse_token(token: &str) -> Result<(String, String), KmsError> {
    let invalid = || KmsError::InvalidGrantToken("The grant token is invalid.".to_owned());
    let text = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = text.split('|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("coffer-grant"), Some(arn), Some(id), Some(_)) if well_formed_grant_id(id) => {
            Ok((arn.to_owned(), id.to_owned()))
        }
        _ => Err(invalid()),
    }
}

/// Grant ids are 64 hex digits.
fn well_formed_grant_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_grant_id(id: &str) -> Result<(), KmsError> {
    if well_formed_grant_id(id) {
        Ok(())
    } else {
        Err(KmsError::InvalidGrantId(format!("Invalid grant ID {id}")))
    }
}

impl Kms {
    /// Does a grant on `key` let the caller perform `action` (`kms:Encrypt`) with the request's
    /// encryption `context`? Returns the grant that does. Constraints apply to operations that
    /// take a context; DescribeKey, CreateGrant and RetireGrant ignore them, as in AWS.
    pub(crate) async fn grant_allowing(
        &self,
        ctx: &RequestContext,
        key: &KeyRecord,
        action: &str,
        context: Option<&EncryptionContext>,
    ) -> Result<Option<GrantRecord>, KmsError> {
        let Some(op) = action.strip_prefix("kms:") else {
            return Ok(None);
        };
        let grants = self
            .store
            .key_grants(&key.account_id, &key.region, &key.key_id)
            .await?;
        for g in grants {
            if !g.operations.iter().any(|o| o == op) {
                continue;
            }
            if let Some(c) = context
                && !GrantConstraints::from_record(&g).admit(c)
            {
                continue;
            }
            let by = match grantee_of(ctx, &g.grantee_principal) {
                Grantee::Caller => true,
                Grantee::Account => self.identity_allows(ctx, action, &arn_of(key)).await?,
                Grantee::Other => false,
            };
            if by {
                return Ok(Some(g));
            }
        }
        Ok(None)
    }

    /// Do the caller's own identity policies allow `action` on `resource`? (A grant to an
    /// account is delegated to its principals by their IAM policies, as a key policy naming the
    /// account is.)
    async fn identity_allows(
        &self,
        ctx: &RequestContext,
        action: &str,
        resource: &str,
    ) -> Result<bool, KmsError> {
        match self.authz.check_identity(ctx, action, resource).await {
            Ok(()) => Ok(true),
            Err(crate::authz::AuthzError::Denied(_)) => Ok(false),
            Err(crate::authz::AuthzError::Store(e)) => Err(e.into()),
        }
    }

    /// KMS's pre-dispatch hook: every grant token a request carries must be one coffer issued
    /// (`InvalidGrantTokenException` otherwise), whatever the operation.
    pub async fn grant_tokens(
        &self,
        _ctx: &RequestContext,
        _op: &str,
        input: &serde_json::Value,
    ) -> Result<(), KmsError> {
        let tokens = input
            .get("GrantTokens")
            .and_then(serde_json::Value::as_array);
        for t in tokens.into_iter().flatten() {
            if let Some(t) = t.as_str() {
                parse_token(t)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx_of(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn constraints_admit_as_aws_describes() {
        let subset = GrantConstraints {
            encryption_context_subset: Some(ctx_of(&[("app", "a")])),
            encryption_context_equals: None,
        };
        assert!(subset.admit(&ctx_of(&[("app", "a")])));
        assert!(subset.admit(&ctx_of(&[("app", "a"), ("x", "y")])));
        assert!(!subset.admit(&ctx_of(&[("app", "b")])));
        assert!(!subset.admit(&ctx_of(&[])));
        let equals = GrantConstraints {
            encryption_context_subset: None,
            encryption_context_equals: Some(ctx_of(&[("app", "a")])),
        };
        assert!(equals.admit(&ctx_of(&[("app", "a")])));
        assert!(!equals.admit(&ctx_of(&[("app", "a"), ("x", "y")])));
        assert!(GrantConstraints::default().admit(&ctx_of(&[])));
    }

    #[test]
    fn child_constraints_stay_within_the_parent() {
        let parent = GrantConstraints {
            encryption_context_subset: Some(ctx_of(&[("app", "a")])),
            encryption_context_equals: None,
        };
        let stricter = GrantConstraints {
            encryption_context_subset: Some(ctx_of(&[("app", "a"), ("env", "p")])),
            encryption_context_equals: None,
        };
        let equal_inside = GrantConstraints {
            encryption_context_subset: None,
            encryption_context_equals: Some(ctx_of(&[("app", "a")])),
        };
        assert!(stricter.within(&parent));
        assert!(equal_inside.within(&parent));
        assert!(!GrantConstraints::default().within(&parent));
        assert!(!parent.within(&equal_inside));
        assert!(GrantConstraints::default().within(&GrantConstraints::default()));
    }

    #[test]
    fn tokens_round_trip_and_refuse_strangers() {
        let id = "a".repeat(64);
        let t = grant_token("arn:aws:kms:us-east-1:000000000000:key/k", &id).unwrap();
        let (arn, gid) = parse_token(&t).unwrap();
        assert_eq!(arn, "arn:aws:kms:us-east-1:000000000000:key/k");
        assert_eq!(gid, id);
        for bad in [
            "",
            "not base64!",
            "Zm9v",
            &URL_SAFE_NO_PAD.encode("coffer-grant|a|b|c"),
        ] {
            assert!(matches!(
                parse_token(bad),
                Err(KmsError::InvalidGrantToken(_))
            ));
        }
    }

    #[test]
    fn principals() {
        assert!(valid_principal("arn:aws:iam::111122223333:role/app"));
        assert!(valid_principal("arn:aws:iam::111122223333:root"));
        assert!(valid_principal(
            "arn:aws:sts::111122223333:assumed-role/r/s"
        ));
        assert!(valid_principal("secretsmanager.amazonaws.com"));
        assert!(!valid_principal("arn:aws:iam::1111:role/app"));
        assert!(!valid_principal("arn:aws:s3:::bucket"));
        assert!(!valid_principal("bob"));
    }
}
