//! Accounts and the access keys that sign requests: first-start bootstrap, credential lookup for
//! SigV4 verification (cached), and `--dev` identities.

use crate::Principal;
use coffer_crypto::MasterKey;
use coffer_store::{AccessKeyRecord, AccessKeyStatus, Store, StoreError};
use coffer_types::{AccountId, SecretBytes};
use std::sync::Arc;
use std::time::Duration;

/// How long a looked-up credential is trusted before the store is asked again. Bounds how long a
/// revoked key keeps working on a node that has it cached.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(30);

/// A credential that can verify signatures.
#[derive(Debug, Clone)]
pub struct Credential {
    pub principal: Principal,
    pub secret_access_key: SecretBytes,
    pub active: bool,
}

/// An access key handed out in the clear exactly once.
#[derive(Debug)]
pub struct NewAccessKey {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "the master key does not match the store (it was initialised with another key): start with the original master key (DATA_DIR/master.key or COFFER_MASTER_KEY; every node sharing a PostgreSQL store needs the same one)"
    )]
    WrongMasterKey,
    #[error(
        "access key {0} already exists with a different secret; unset COFFER_ROOT_ACCESS_KEY_ID/COFFER_ROOT_SECRET_ACCESS_KEY or use the original values"
    )]
    RootKeyMismatch(String),
    #[error("invalid root access key id {0:?}: use 16-128 characters of A-Z and 0-9")]
    BadAccessKeyId(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Crypto(#[from] coffer_crypto::CryptoError),
}

#[derive(Clone)]
pub struct Identity {
    store: Store,
    master: Arc<MasterKey>,
    /// Looked-up credentials (and misses) by access key id. Shared, so a hit copies no secret.
    cache: moka::sync::Cache<String, Option<Arc<Credential>>>,
    /// `--dev` accounts known to exist, so each is created once.
    dev_accounts: moka::sync::Cache<AccountId, ()>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

fn root_principal(account: &AccountId, access_key_id: &str) -> Principal {
    Principal {
        account_id: account.clone(),
        arn: format!("arn:aws:iam::{account}:root"),
        user_id: account.to_string(),
        access_key_id: access_key_id.to_owned(),
    }
}

fn wrap_purpose(access_key_id: &str) -> String {
    format!("access-key|{access_key_id}")
}

/// `AKIA` and 16 base32 characters, like AWS's long-term key ids.
fn new_access_key_id() -> Result<String, coffer_crypto::CryptoError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let raw = coffer_crypto::random::secret_bytes(16)?;
    let tail: String = raw
        .expose()
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    Ok(format!("AKIA{tail}"))
}

/// 40 characters of base64's alphabet, like AWS's secret access keys.
fn new_secret_access_key() -> Result<SecretBytes, coffer_crypto::CryptoError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = coffer_crypto::random::secret_bytes(40)?;
    Ok(SecretBytes::new(
        raw.expose()
            .iter()
            .map(|b| ALPHABET[usize::from(b % 64)])
            .collect(),
    ))
}

impl Identity {
    pub fn new(store: Store, master: Arc<MasterKey>) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(CREDENTIAL_CACHE_TTL)
            .build();
        let dev_accounts = moka::sync::Cache::new(10_000);
        Self {
            store,
            master,
            cache,
            dev_accounts,
        }
    }

    /// First-start initialisation, safe to run on every start: checks the master key against the
    /// data, creates the default account, and gives it an administrator key — `root_key` if given
    /// (from `COFFER_ROOT_ACCESS_KEY_ID`/`COFFER_ROOT_SECRET_ACCESS_KEY`), else a generated one,
    /// returned so the caller can write it down. Returns `None` when nothing was generated.
    pub async fn bootstrap(
        &self,
        account: &AccountId,
        root_key: Option<(String, SecretBytes)>,
        now: i64,
    ) -> Result<Option<NewAccessKey>, IdentityError> {
        let check = self.master.check_value()?;
        let stored = self.store.init_master_key_check(&check).await?;
        if !self.master.verify_check(&stored) {
            return Err(IdentityError::WrongMasterKey);
        }
        let created = self.store.ensure_account(account.as_str(), now).await?;
        if let Some((id, secret)) = root_key {
            if id.len() < 16
                || id.len() > 128
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                return Err(IdentityError::BadAccessKeyId(id));
            }
            let existing = match self.store.get_access_key(&id).await? {
                Some(existing) => existing,
                None => match self.insert_admin_key(account, &id, &secret, now).await {
                    Ok(()) => return Ok(None),
                    // Another node sharing the store installed it at the same moment: it must
                    // be the same key, checked below like any existing one.
                    Err(IdentityError::Store(StoreError::Conflict)) => {
                        self.store.get_access_key(&id).await?.ok_or_else(|| {
                            IdentityError::Store(StoreError::Backend(format!(
                                "access key {id} conflicted but is not stored"
                            )))
                        })?
                    }
                    Err(e) => return Err(e),
                },
            };
            let stored = self
                .master
                .unwrap(&existing.wrapped_secret, &wrap_purpose(&id))?;
            if stored != secret || existing.account_id != account.as_str() {
                return Err(IdentityError::RootKeyMismatch(id));
            }
            return Ok(None);
        }
        if !created {
            return Ok(None);
        }
        Ok(Some(self.create_admin_key(account, now).await?))
    }

    /// A new administrator access key for `account`.
    pub async fn create_admin_key(
        &self,
        account: &AccountId,
        now: i64,
    ) -> Result<NewAccessKey, IdentityError> {
        let id = new_access_key_id()?;
        let secret = new_secret_access_key()?;
        self.insert_admin_key(account, &id, &secret, now).await?;
        Ok(NewAccessKey {
            access_key_id: id,
            secret_access_key: secret,
        })
    }

    async fn insert_admin_key(
        &self,
        account: &AccountId,
        id: &str,
        secret: &SecretBytes,
        now: i64,
    ) -> Result<(), IdentityError> {
        let p = root_principal(account, id);
        let record = AccessKeyRecord {
            access_key_id: id.to_owned(),
            account_id: account.to_string(),
            principal_arn: p.arn,
            principal_id: p.user_id,
            wrapped_secret: self.master.wrap(secret.expose(), &wrap_purpose(id))?,
            status: AccessKeyStatus::Active,
            created_at: now,
        };
        self.store.insert_access_key(&record).await?;
        self.cache.invalidate(id);
        Ok(())
    }

    /// The credential for `access_key_id`, or `None` if no such key exists.
    pub async fn lookup(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<Credential>>, IdentityError> {
        if let Some(hit) = self.cache.get(access_key_id) {
            return Ok(hit);
        }
        let found = match self.store.get_access_key(access_key_id).await? {
            None => None,
            Some(rec) => {
                let account = AccountId::parse(&rec.account_id).map_err(|_| {
                    StoreError::Backend(format!("bad account id for {access_key_id}"))
                })?;
                Some(Arc::new(Credential {
                    principal: Principal {
                        account_id: account,
                        arn: rec.principal_arn,
                        user_id: rec.principal_id,
                        access_key_id: rec.access_key_id,
                    },
                    secret_access_key: self
                        .master
                        .unwrap(&rec.wrapped_secret, &wrap_purpose(access_key_id))?,
                    active: rec.status == AccessKeyStatus::Active,
                }))
            }
        };
        self.cache.insert(access_key_id.to_owned(), found.clone());
        Ok(found)
    }

    /// `--dev`: any access key is accepted; a 12-digit key id names the account (created on first
    /// use), anything else means the default account.
    pub async fn dev_principal(
        &self,
        access_key_id: &str,
        default: &AccountId,
        now: i64,
    ) -> Result<Principal, IdentityError> {
        let account = AccountId::parse(access_key_id).unwrap_or_else(|_| default.clone());
        if !self.dev_accounts.contains_key(&account) {
            self.store.ensure_account(account.as_str(), now).await?;
            self.dev_accounts.insert(account.clone(), ());
        }
        Ok(root_principal(&account, access_key_id))
    }
}
