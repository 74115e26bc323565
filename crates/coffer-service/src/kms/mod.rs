//! AWS Key Management Service: symmetric keys with real envelope encryption, RSA, ECC and HMAC
//! keys ([`asymmetric`]), and grants.
//! <https://docs.aws.amazon.com/kms/latest/APIReference/API_Operations.html>
//!
//! Symmetric key material is 256 random bits per version; an RSA or ECC key's is its PKCS#8
//! private key, an HMAC key's its key bytes. All of it is sealed by the master key with the key ARN and
//! version as associated data. Ciphertext blobs name the key ARN and material version
//! ([`coffer_crypto::blob`]), so `Decrypt` finds its key and rotated keys still decrypt old data.
//! Deletion at the end of the waiting period and scheduled rotation happen lazily, when the key is
//! next resolved, so they need no background job and behave identically on every node.
//! Multi-Region keys ([`multiregion`]): related keys share an `mrk-` id and material across
//! Regions; ReplicateKey, UpdatePrimaryRegion, cross-Region Decrypt.

mod aliases;
mod asymmetric;
mod crypto;
mod error;
pub(crate) mod grants;
mod import;
mod keys;
mod multiregion;
mod policy;
mod resolve;
mod rotation;
mod tags;

pub use error::KmsError;
pub use resolve::{MANAGED_ALIASES, key_arn};

use crate::model::Service;
use coffer_crypto::MasterKey;
use coffer_store::Store;
use coffer_types::SecretBytes;
use std::sync::Arc;
use std::time::Duration;

/// How long an unwrapped envelope data key stays in memory after its first use.
const DATA_KEY_TTL: Duration = Duration::from_secs(300);

/// The KMS service.
#[derive(Clone)]
pub struct Kms {
    store: Store,
    master: Arc<MasterKey>,
    /// Unsealed key material by (key ARN, version). Material never changes once written (an
    /// imported key's is the same material when imported again; deleting it empties this entry,
    /// and the key's PendingImport state, read from the store on every request, refuses its use
    /// on every node), so entries cannot go stale.
    materials: moka::sync::Cache<(String, u32), Arc<SecretBytes>>,
    /// Unwrapped envelope data keys (Secrets Manager versions, SecureString parameters) by
    /// [`crypto::DataKeyId`]: the key that opened them, the wrapped blob and its encryption
    /// context. Consulted only after every check of the call (key state, policies, grants), so
    /// it saves the unwrap, never a decision; a blob's plaintext under its key never changes.
    /// Each entry lives at most [`DATA_KEY_TTL`]; dropped entries are zeroized (`SecretBytes`).
    data_keys: moka::sync::Cache<crypto::DataKeyId, Arc<SecretBytes>>,
    /// One authoriser (and parsed-policy cache) for every request, shared by the services
    /// that use this KMS.
    authz: crate::authz::Authz,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("cached_materials", &self.materials.entry_count())
            .field("cached_data_keys", &self.data_keys.entry_count())
            .finish()
    }
}

impl Kms {
    pub fn new(store: Store, master: Arc<MasterKey>) -> Self {
        let materials = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_idle(Duration::from_secs(300))
            .build();
        let data_keys = moka::sync::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(DATA_KEY_TTL)
            .build();
        Self {
            authz: crate::authz::Authz::new(store.clone()),
            store,
            master,
            materials,
            data_keys,
        }
    }

    /// The authoriser KMS decides with; Secrets Manager and Parameter Store use it too.
    pub(crate) fn authz(&self) -> &crate::authz::Authz {
        &self.authz
    }
}

operations!(Kms, KmsError, Service::Kms;
    CreateKey => keys::create_key,
    DescribeKey => keys::describe_key,
    ListKeys => keys::list_keys,
    EnableKey => keys::enable_key,
    DisableKey => keys::disable_key,
    UpdateKeyDescription => keys::update_key_description,
    ScheduleKeyDeletion => keys::schedule_key_deletion,
    CancelKeyDeletion => keys::cancel_key_deletion,
    EnableKeyRotation => rotation::enable_key_rotation,
    DisableKeyRotation => rotation::disable_key_rotation,
    GetKeyRotationStatus => rotation::get_key_rotation_status,
    RotateKeyOnDemand => rotation::rotate_key_on_demand,
    ListKeyRotations => rotation::list_key_rotations,
    CreateAlias => aliases::create_alias,
    UpdateAlias => aliases::update_alias,
    DeleteAlias => aliases::delete_alias,
    ListAliases => aliases::list_aliases,
    Encrypt => crypto::encrypt,
    Decrypt => crypto::decrypt,
    ReEncrypt => crypto::re_encrypt,
    GenerateDataKey => crypto::generate_data_key,
    GenerateDataKeyWithoutPlaintext => crypto::generate_data_key_without_plaintext,
    GenerateRandom => crypto::generate_random,
    TagResource => tags::tag_resource,
    UntagResource => tags::untag_resource,
    ListResourceTags => tags::list_resource_tags,
    GetKeyPolicy => policy::get_key_policy,
    PutKeyPolicy => policy::put_key_policy,
    ListKeyPolicies => policy::list_key_policies,
    CreateGrant => grants::create_grant,
    ListGrants => grants::list_grants,
    ListRetirableGrants => grants::list_retirable_grants,
    RetireGrant => grants::retire_grant,
    RevokeGrant => grants::revoke_grant,
    Sign => asymmetric::sign,
    Verify => asymmetric::verify,
    GetPublicKey => asymmetric::get_public_key,
    GenerateMac => asymmetric::generate_mac,
    VerifyMac => asymmetric::verify_mac,
    DeriveSharedSecret => asymmetric::derive_shared_secret,
    GenerateDataKeyPair => asymmetric::generate_data_key_pair,
    GenerateDataKeyPairWithoutPlaintext => asymmetric::generate_data_key_pair_without_plaintext,
    GetParametersForImport => import::get_parameters_for_import,
    ImportKeyMaterial => import::import_key_material,
    DeleteImportedKeyMaterial => import::delete_imported_key_material,
    ReplicateKey => multiregion::replicate_key,
    UpdatePrimaryRegion => multiregion::update_primary_region,
);

/// Pagination markers are opaque to clients: base64url of the store's cursor.
pub(crate) mod marker {
    use super::KmsError;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(cursor: Option<String>) -> Option<String> {
        cursor.map(|c| URL_SAFE_NO_PAD.encode(c))
    }

    pub fn decode(marker: Option<&str>) -> Result<Option<String>, KmsError> {
        let Some(m) = marker else { return Ok(None) };
        URL_SAFE_NO_PAD
            .decode(m)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| KmsError::InvalidMarker("Invalid marker".to_owned()))
    }

    /// One page of a listing held in memory, already in cursor order and past the marker: at
    /// most `limit` items, and the cursor of the last one if more remain.
    pub fn page<T>(
        items: impl IntoIterator<Item = T>,
        limit: usize,
        cursor: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let mut rest = items.into_iter().peekable();
        let page: Vec<T> = rest.by_ref().take(limit).collect();
        let next = if rest.peek().is_some() {
            page.last().map(cursor)
        } else {
            None
        };
        (page, next)
    }

    /// `Limit` with the operation's default, as a page size.
    pub fn limit(limit: Option<i32>, default: usize) -> usize {
        limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|&l| l > 0)
            .unwrap_or(default)
    }
}
