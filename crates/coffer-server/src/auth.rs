//! SigV4 glue: from a request to an authenticated [`Principal`] and region.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html>

use coffer_service::Principal;
use coffer_service::identity::{CREDENTIAL_CACHE_TTL, Identity};
use coffer_sigv4 as sigv4;
use coffer_types::{AccountId, Region};

/// Why authentication failed; rendered per protocol by [`crate::wire_error`].
#[derive(Debug)]
pub enum AuthFailure {
    /// A signature problem, with AWS's wording.
    Signature(sigv4::Error),
    /// No such access key, an inactive one, or a session token that is not valid.
    UnknownKey,
    /// A session token past its expiry.
    Expired,
    /// The store failed; detail for the log only.
    Internal(String),
    /// The store is out of reach for now (disk full, database restarting); detail for the log.
    Unavailable(String),
}

impl From<coffer_service::identity::IdentityError> for AuthFailure {
    fn from(e: coffer_service::identity::IdentityError) -> Self {
        match e {
            coffer_service::identity::IdentityError::Store(
                coffer_store::StoreError::Unavailable(_),
            ) => Self::Unavailable(e.to_string()),
            e => Self::Internal(e.to_string()),
        }
    }
}

/// Verifies signatures, caching derived signing keys.
pub struct Authenticator {
    identity: Identity,
    dev: bool,
    default_account: AccountId,
    /// Signing keys by (access key id, date, region, service). They live no longer than a
    /// credential lookup does, so a revoked key stops working within the same bound.
    keys: moka::sync::Cache<(String, String, String, String), sigv4::SigningKey>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("dev", &self.dev)
            .finish_non_exhaustive()
    }
}

fn header<'a>(req: &sigv4::Request<'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

impl Authenticator {
    pub fn new(identity: Identity, dev: bool, default_account: AccountId) -> Self {
        let keys = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(CREDENTIAL_CACHE_TTL)
            .build();
        Self {
            identity,
            dev,
            default_account,
            keys,
        }
    }

    /// The deployment's default account (its root administers accounts).
    pub fn default_account(&self) -> &AccountId {
        &self.default_account
    }

    /// Whether `--dev` is on (anything is allowed).
    pub fn dev(&self) -> bool {
        self.dev
    }

    /// Authenticate `req` for `service` (the signing name: `kms`, `sts`, ...). `now` is unix seconds.
    pub async fn authenticate(
        &self,
        req: &sigv4::Request<'_>,
        service: &str,
        now: i64,
    ) -> Result<(Principal, Region), AuthFailure> {
        let authorization = header(req, "authorization");
        let presigned = match authorization {
            Some(_) => None,
            None => sigv4::parse_presigned(req.query).map_err(AuthFailure::Signature)?,
        };
        let auth = match (authorization, &presigned) {
            (Some(value), _) => {
                sigv4::parse_authorization(value).map_err(AuthFailure::Signature)?
            }
            (None, Some(p)) => p.auth.clone(),
            (None, None) => return Err(AuthFailure::Signature(sigv4::Error::Missing)),
        };
        let region = Region::parse(&auth.region).map_err(|_| {
            AuthFailure::Signature(sigv4::Error::ScopeMismatch(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            )))
        })?;
        sigv4::check_scope(&auth, region.as_str(), service).map_err(AuthFailure::Signature)?;
        if self.dev {
            let principal = self
                .identity
                .dev_principal(
                    &auth.access_key_id,
                    &self.default_account,
                    now.saturating_mul(1000),
                )
                .await
                .map_err(AuthFailure::from)?;
            return Ok((principal, region));
        }
        let token = header(req, "x-amz-security-token")
            .map(str::to_owned)
            .or_else(|| {
                req.query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("X-Amz-Security-Token=").map(percent_decode))
            });
        let credential = self
            .credential(&auth.access_key_id, token.as_deref(), now)
            .await?;
        let cache_key = (
            auth.access_key_id.clone(),
            auth.date.clone(),
            auth.region.clone(),
            auth.service.clone(),
        );
        let cached = self.keys.get(&cache_key);
        coffer_service::metrics::global().cache_lookup("signing_key", cached.is_some());
        let key = cached.unwrap_or_else(|| {
            let key = sigv4::derive_signing_key(
                credential.secret_access_key.expose(),
                &auth.date,
                &auth.region,
                &auth.service,
            );
            self.keys.insert(cache_key, key.clone());
            key
        });
        let verified = match &presigned {
            Some(p) => sigv4::verify_presigned(p, req, &key, now),
            None => sigv4::verify(&auth, req, &key, now),
        };
        verified.map_err(AuthFailure::Signature)?;
        Ok((credential.principal.clone(), region))
    }
}

impl Authenticator {
    /// The credential `access_key_id` (with its session token, for temporary credentials)
    /// stands for, as SigV4 authentication resolves it: a stored key must exist, be active and
    /// not belong to a session; a session token must open and not have expired; a break-glass
    /// session works only while its incident is open. `now` is unix seconds.
    async fn credential(
        &self,
        access_key_id: &str,
        token: Option<&str>,
        now: i64,
    ) -> Result<std::sync::Arc<coffer_service::identity::Credential>, AuthFailure> {
        let credential = match token {
            // Temporary credentials: everything is in the sealed token.
            Some(t) => std::sync::Arc::new(
                self.identity
                    .session_credential(access_key_id, t, now)
                    .map_err(|r| match r {
                        coffer_service::identity::SessionRefusal::Expired => AuthFailure::Expired,
                        coffer_service::identity::SessionRefusal::Invalid => {
                            AuthFailure::UnknownKey
                        }
                    })?,
            ),
            None => self
                .identity
                .lookup(access_key_id)
                .await
                .map_err(AuthFailure::from)?
                .filter(|c| c.active && c.principal.session.is_none())
                .ok_or(AuthFailure::UnknownKey)?,
        };
        // A break-glass session works only while its incident is open: a revocation or the end
        // of the window stops it at once, whatever the token's own expiry says.
        if let Some(incident) = credential
            .principal
            .session
            .as_ref()
            .and_then(|s| s.incident.as_deref())
        {
            let open = self
                .identity
                .incident_open(incident, now.saturating_mul(1000))
                .await
                .map_err(AuthFailure::from)?;
            if !open {
                return Err(AuthFailure::Expired);
            }
        }
        Ok(credential)
    }

    /// The principal of a key pair presented whole (the web console's sign-in, and each of its
    /// requests): resolved exactly as [`Authenticator::authenticate`] resolves a signature's
    /// key, then the secret compared in constant time instead of a signature verified. In
    /// `--dev` any key is its account's root, as for signed requests. `now` is unix seconds.
    pub async fn verify_key_pair(
        &self,
        access_key_id: &str,
        secret_access_key: &coffer_types::SecretBytes,
        session_token: Option<&str>,
        now: i64,
    ) -> Result<Principal, AuthFailure> {
        if access_key_id.is_empty() || access_key_id.len() > 128 {
            return Err(AuthFailure::UnknownKey);
        }
        if self.dev {
            return self
                .identity
                .dev_principal(
                    access_key_id,
                    &self.default_account,
                    now.saturating_mul(1000),
                )
                .await
                .map_err(AuthFailure::from);
        }
        let credential = self.credential(access_key_id, session_token, now).await?;
        if credential.secret_access_key != *secret_access_key {
            return Err(AuthFailure::UnknownKey);
        }
        Ok(credential.principal.clone())
    }
}

/// `%XX` escapes of a query-string value (`+` is a space in form encoding).
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match u8::from_str_radix(&v[i + 1..i + 3], 16) {
                Ok(x) => {
                    out.push(x);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
