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

const SESSION_TOKEN_PURPOSE: &str = "sts-session-token";
const SESSION_TOKEN_AAD: &[u8] = b"coffer-sts-session-v1";

/// What a session token carries (sealed; never shown to anyone).
#[derive(serde::Serialize, serde::Deserialize)]
struct SessionClaims {
    v: u8,
    akid: String,
    secret: String,
    account: String,
    user_id: String,
    role_arn: String,
    role_name: String,
    session_name: String,
    policies: Vec<String>,
    tags: Vec<(String, String)>,
    source_identity: Option<String>,
    /// Unix seconds.
    exp: i64,
    /// Break-glass incident; absent in tokens of ordinary sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    incident: Option<String>,
}

impl Drop for SessionClaims {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// Why a session token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRefusal {
    /// Not issued here, altered, or for another key id.
    Invalid,
    Expired,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "the master key does not match the store (it was initialised with, or rotated to, another key): start with the deployment's current master key (DATA_DIR/master.key or COFFER_MASTER_KEY; every node sharing a PostgreSQL store needs the same one). After `coffer admin rotate-master-key` that is the new key; the old one is refused"
    )]
    WrongMasterKey,
    #[error(
        "access key {0} already exists with a different secret; unset COFFER_ROOT_ACCESS_KEY_ID/COFFER_ROOT_SECRET_ACCESS_KEY or use the original values"
    )]
    RootKeyMismatch(String),
    #[error("invalid root access key id {0:?}: use 16-128 characters of A-Z and 0-9")]
    BadAccessKeyId(String),
    #[error("account {0} already exists")]
    AccountExists(String),
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
        session: None,
        tags: Vec::new(),
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
        match self.master.check_match(&stored) {
            coffer_crypto::master::CheckMatch::Current => {}
            coffer_crypto::master::CheckMatch::Previous => tracing::warn!(
                key_id = %self.master.key_id(),
                "master-key rotation under way: values sealed by the previous key still open; once every node runs with both keys, run `coffer admin rotate-master-key`"
            ),
            coffer_crypto::master::CheckMatch::Neither => {
                return Err(IdentityError::WrongMasterKey);
            }
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

    /// Create account `account` with an administrator access key (`coffer admin create-account`).
    pub async fn create_account(
        &self,
        account: &AccountId,
        now: i64,
    ) -> Result<NewAccessKey, IdentityError> {
        if !self.store.ensure_account(account.as_str(), now).await? {
            return Err(IdentityError::AccountExists(account.to_string()));
        }
        self.create_admin_key(account, now).await
    }

    /// Every account, in id order.
    pub async fn list_accounts(&self) -> Result<Vec<coffer_store::AccountRecord>, IdentityError> {
        Ok(self.store.list_accounts().await?)
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

    /// A new access key for the IAM user `user_arn` (`AIDA...` id `user_id`).
    pub async fn create_user_key(
        &self,
        account: &AccountId,
        user_arn: &str,
        user_id: &str,
        now: i64,
    ) -> Result<NewAccessKey, IdentityError> {
        let id = new_access_key_id()?;
        let secret = new_secret_access_key()?;
        let record = AccessKeyRecord {
            access_key_id: id.clone(),
            account_id: account.to_string(),
            principal_arn: user_arn.to_owned(),
            principal_id: user_id.to_owned(),
            wrapped_secret: self.master.wrap(secret.expose(), &wrap_purpose(&id))?,
            status: AccessKeyStatus::Active,
            created_at: now,
        };
        self.store.insert_access_key(&record).await?;
        self.cache.invalidate(&id);
        Ok(NewAccessKey {
            access_key_id: id,
            secret_access_key: secret,
        })
    }

    /// Drop a cached credential after its key changed here (other nodes notice within
    /// [`CREDENTIAL_CACHE_TTL`]).
    pub fn forget(&self, access_key_id: &str) {
        self.cache.invalidate(access_key_id);
    }

    /// Issue temporary credentials for `session` in `account`: an `ASIA...` key id, a secret,
    /// and a session token that carries both, sealed (AES-256-GCM) under a key derived from the
    /// master key — so any node can verify it and nothing is stored. Altering a byte of the
    /// token makes it fail to open.
    pub fn issue_session(
        &self,
        account: &AccountId,
        user_id: &str,
        session: &crate::authz::Session,
    ) -> Result<(NewAccessKey, String), IdentityError> {
        use base64::Engine as _;
        let id = format!("ASIA{}", &new_access_key_id()?[4..]);
        let secret = new_secret_access_key()?;
        let claims = SessionClaims {
            v: 1,
            akid: id.clone(),
            secret: String::from_utf8_lossy(secret.expose()).into_owned(),
            account: account.to_string(),
            user_id: user_id.to_owned(),
            role_arn: session.role_arn.clone(),
            role_name: session.role_name.clone(),
            session_name: session.session_name.clone(),
            policies: session.session_policies.clone(),
            tags: session.tags.clone(),
            source_identity: session.source_identity.clone(),
            exp: session.expires_at,
            incident: session.incident.clone(),
        };
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&claims).map_err(|e| StoreError::Backend(e.to_string()))?,
        );
        let key = self.master.derive(SESSION_TOKEN_PURPOSE);
        let sealed = coffer_crypto::seal(key.expose(), &json, SESSION_TOKEN_AAD)?;
        let mut token = vec![1u8];
        token.extend_from_slice(&sealed);
        Ok((
            NewAccessKey {
                access_key_id: id,
                secret_access_key: secret,
            },
            base64::engine::general_purpose::STANDARD.encode(token),
        ))
    }

    /// The credential a session token stands for, if it was issued by this deployment for
    /// `access_key_id` and has not expired (`now` in unix seconds).
    pub fn session_credential(
        &self,
        access_key_id: &str,
        token: &str,
        now: i64,
    ) -> Result<Credential, SessionRefusal> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .map_err(|_| SessionRefusal::Invalid)?;
        let (1, sealed) = raw
            .split_first()
            .map(|(v, r)| (*v, r))
            .ok_or(SessionRefusal::Invalid)?
        else {
            return Err(SessionRefusal::Invalid);
        };
        // During a master-key rotation, tokens issued under the previous key stay valid.
        let open = |m: &MasterKey| {
            let key = m.derive(SESSION_TOKEN_PURPOSE);
            coffer_crypto::open(key.expose(), sealed, SESSION_TOKEN_AAD)
        };
        let json = open(&self.master)
            .or_else(|e| self.master.previous().map_or(Err(e), open))
            .map_err(|_| SessionRefusal::Invalid)?;
        let c: SessionClaims =
            serde_json::from_slice(json.expose()).map_err(|_| SessionRefusal::Invalid)?;
        if c.akid != access_key_id {
            return Err(SessionRefusal::Invalid);
        }
        if c.exp <= now {
            return Err(SessionRefusal::Expired);
        }
        let account = AccountId::parse(&c.account).map_err(|_| SessionRefusal::Invalid)?;
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            c.account, c.role_name, c.session_name
        );
        Ok(Credential {
            principal: Principal {
                account_id: account,
                arn,
                user_id: c.user_id.clone(),
                access_key_id: c.akid.clone(),
                session: Some(Arc::new(crate::authz::Session {
                    role_arn: c.role_arn.clone(),
                    role_name: c.role_name.clone(),
                    session_name: c.session_name.clone(),
                    session_policies: c.policies.clone(),
                    tags: c.tags.clone(),
                    source_identity: c.source_identity.clone(),
                    expires_at: c.exp,
                    incident: c.incident.clone(),
                })),
                tags: Vec::new(),
            },
            secret_access_key: SecretBytes::new(c.secret.as_bytes().to_vec()),
            active: true,
        })
    }

    /// Is the break-glass incident `id` still open at `now_ms` (approved, not revoked, window
    /// not over)? Read from the store on every request of a break-glass session, so a
    /// revocation is in force at once on every node.
    pub async fn incident_open(&self, id: &str, now_ms: i64) -> Result<bool, IdentityError> {
        Ok(self.store.get_breakglass(id).await?.is_some_and(|r| {
            r.state == "Approved" && r.session_expires_at.is_some_and(|e| now_ms < e)
        }))
    }

    /// The credential for `access_key_id`, or `None` if no such key exists.
    pub async fn lookup(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<Credential>>, IdentityError> {
        let hit = self.cache.get(access_key_id);
        crate::metrics::global().cache_lookup("credential", hit.is_some());
        if let Some(hit) = hit {
            return Ok(hit);
        }
        let found = match self.store.get_access_key(access_key_id).await? {
            None => None,
            Some(rec) => {
                // An IAM user's tags travel with its credential (aws:PrincipalTag/*), as fresh
                // as the credential cache.
                let mut user_tags = match rec.principal_arn.split_once(":user/") {
                    Some((_, path_name)) => self
                        .store
                        .get_entity(
                            &rec.account_id,
                            coffer_store::IamKind::User,
                            path_name.rsplit('/').next().unwrap_or_default(),
                        )
                        .await?
                        .map(|u| u.tags.into_iter().map(|t| (t.key, t.value)).collect()),
                    None => None,
                };
                let account = AccountId::parse(&rec.account_id).map_err(|_| {
                    StoreError::Backend(format!("bad account id for {access_key_id}"))
                })?;
                Some(Arc::new(Credential {
                    principal: Principal {
                        account_id: account,
                        arn: rec.principal_arn,
                        user_id: rec.principal_id,
                        access_key_id: rec.access_key_id,
                        session: None,
                        tags: Vec::new(),
                    },
                    secret_access_key: self
                        .master
                        .unwrap(&rec.wrapped_secret, &wrap_purpose(access_key_id))?,
                    active: rec.status == AccessKeyStatus::Active,
                }))
                .map(|mut c| {
                    if let Some(tags) = user_tags.take() {
                        Arc::make_mut(&mut c).principal.tags = tags;
                    }
                    c
                })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn identity(master: Arc<MasterKey>) -> (tempfile::TempDir, Identity) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let store = coffer_store::open(&url).await.unwrap();
        (dir, Identity::new(store, master))
    }

    fn session(expires_at: i64) -> crate::authz::Session {
        crate::authz::Session {
            role_arn: "arn:aws:iam::111111111111:role/R".into(),
            role_name: "R".into(),
            session_name: "s".into(),
            session_policies: vec![],
            tags: vec![("team".into(), "payments".into())],
            source_identity: Some("alice".into()),
            expires_at,
            incident: None,
        }
    }

    #[tokio::test]
    async fn session_tokens_verify_only_unaltered_unexpired_and_for_their_key() {
        let master = Arc::new(MasterKey::generate().unwrap());
        let (_d, id) = identity(master.clone()).await;
        let account = AccountId::parse("111111111111").unwrap();
        let (key, token) = id
            .issue_session(&account, "AROAX:s", &session(1_000))
            .unwrap();
        assert!(key.access_key_id.starts_with("ASIA"));

        let c = id
            .session_credential(&key.access_key_id, &token, 999)
            .unwrap();
        assert_eq!(
            c.principal.arn,
            "arn:aws:sts::111111111111:assumed-role/R/s"
        );
        assert_eq!(c.principal.user_id, "AROAX:s");
        assert_eq!(c.secret_access_key, key.secret_access_key);
        assert_eq!(c.principal.session.as_ref().unwrap().tags, session(0).tags);

        assert_eq!(
            id.session_credential(&key.access_key_id, &token, 1_000)
                .unwrap_err(),
            SessionRefusal::Expired
        );
        assert_eq!(
            id.session_credential("ASIAOTHER", &token, 999).unwrap_err(),
            SessionRefusal::Invalid
        );
        // Every single-character change of the token is refused.
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        for i in [0, 1, raw.len() / 2, raw.len() - 1] {
            let mut bad = raw.clone();
            bad[i] ^= 1;
            let bad = base64::engine::general_purpose::STANDARD.encode(bad);
            assert_eq!(
                id.session_credential(&key.access_key_id, &bad, 999)
                    .unwrap_err(),
                SessionRefusal::Invalid
            );
        }
        assert_eq!(
            id.session_credential(&key.access_key_id, "not base64!", 999)
                .unwrap_err(),
            SessionRefusal::Invalid
        );
        // Another deployment's master key cannot open it.
        let (_d2, other) = identity(Arc::new(MasterKey::generate().unwrap())).await;
        assert_eq!(
            other
                .session_credential(&key.access_key_id, &token, 999)
                .unwrap_err(),
            SessionRefusal::Invalid
        );
    }
}
