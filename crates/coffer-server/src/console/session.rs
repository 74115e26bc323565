//! Console sessions: a random 32-byte token in an HttpOnly, SameSite=Strict cookie (`Secure` on
//! TLS), mapped server-side to the signed-in key pair. The cookie carries nothing but the token;
//! the map is keyed by the token's SHA-256, bounded, and forgets a session after
//! [`IDLE`] without use or [`LIFETIME`] after sign-in, whichever comes first. Each session has
//! its own CSRF token (synchronizer pattern) that every POST must carry.

use aws_lc_rs::digest;
use coffer_types::{Region, SecretBytes};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The cookie's name.
pub const COOKIE: &str = "coffer_console";
/// A session unused this long is forgotten.
pub const IDLE: Duration = Duration::from_secs(15 * 60);
/// A session ends this long after sign-in, used or not.
pub const LIFETIME: Duration = Duration::from_secs(60 * 60);
/// At most this many sessions are held (the least recently used go first).
const MAX_SESSIONS: u64 = 10_000;

/// What a signed-in browser stands for. The key pair is kept (in memory only, zeroized on drop)
/// so that every page re-resolves the principal as SigV4 authentication would: a key
/// deactivated or deleted, or a break-glass incident closed, ends the console session too
/// (within the credential cache's 30 s).
pub struct Session {
    pub access_key_id: String,
    pub secret_access_key: SecretBytes,
    pub session_token: Option<SecretBytes>,
    pub region: Region,
    /// The principal's ARN at sign-in, for display.
    pub principal_arn: String,
    /// The synchronizer token every POST of this session must carry (hex of 32 random bytes).
    pub csrf: String,
    pub expires: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("access_key_id", &self.access_key_id)
            .field("principal_arn", &self.principal_arn)
            .field("region", &self.region.as_str())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The session token as text (it was text when signed in with).
    pub fn token_str(&self) -> Option<&str> {
        self.session_token
            .as_ref()
            .and_then(|t| std::str::from_utf8(t.expose()).ok())
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_ok(&self, presented: &str) -> bool {
        SecretBytes::new(presented.as_bytes().to_vec())
            == SecretBytes::new(self.csrf.as_bytes().to_vec())
    }
}

/// The server's sessions.
pub struct Sessions {
    map: moka::sync::Cache<[u8; 32], Arc<Session>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("count", &self.map.entry_count())
            .finish()
    }
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new()
    }
}

fn key_of(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    let mut k = [0u8; 32];
    k.copy_from_slice(d.as_ref());
    k
}

fn random_hex() -> Result<String, String> {
    let bytes = coffer_crypto::random::secret_bytes(32).map_err(|e| e.to_string())?;
    Ok(hex::encode(bytes.expose()))
}

impl Sessions {
    pub fn new() -> Self {
        Self {
            map: moka::sync::Cache::builder()
                .max_capacity(MAX_SESSIONS)
                .time_to_idle(IDLE)
                .build(),
        }
    }

    /// Start a session; returns the cookie's token.
    pub fn create(
        &self,
        access_key_id: String,
        secret_access_key: SecretBytes,
        session_token: Option<SecretBytes>,
        region: Region,
        principal_arn: String,
    ) -> Result<String, String> {
        let token = random_hex()?;
        let session = Session {
            access_key_id,
            secret_access_key,
            session_token,
            region,
            principal_arn,
            csrf: random_hex()?,
            expires: Instant::now() + LIFETIME,
        };
        self.map.insert(key_of(&token), Arc::new(session));
        Ok(token)
    }

    /// The live session a cookie token names.
    pub fn get(&self, token: &str) -> Option<Arc<Session>> {
        if token.len() != 64 {
            return None;
        }
        let key = key_of(token);
        let s = self.map.get(&key)?;
        if Instant::now() >= s.expires {
            self.map.invalidate(&key);
            return None;
        }
        Some(s)
    }

    /// Sign out.
    pub fn remove(&self, token: &str) {
        self.map.invalidate(&key_of(token));
    }
}

/// The session cookie's value in a request's `Cookie` headers.
pub fn cookie_token(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_owned())
        })
}

/// `Set-Cookie` for a new session (`secure` on TLS connections).
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/console; Max-Age={}; HttpOnly; SameSite=Strict{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn region() -> Region {
        Region::parse("us-east-1").unwrap()
    }

    #[test]
    fn a_session_is_found_by_its_token_only() {
        let s = Sessions::new();
        let t = s
            .create(
                "AKIA1".into(),
                SecretBytes::new(b"secret".to_vec()),
                None,
                region(),
                "arn:aws:iam::000000000000:root".into(),
            )
            .unwrap();
        assert_eq!(t.len(), 64);
        let got = s.get(&t).unwrap();
        assert_eq!(got.access_key_id, "AKIA1");
        assert!(got.csrf_ok(&got.csrf.clone()));
        assert!(!got.csrf_ok("nope"));
        assert!(s.get(&"0".repeat(64)).is_none());
        assert!(s.get("short").is_none());
        s.remove(&t);
        assert!(s.get(&t).is_none());
    }

    #[test]
    fn cookies_are_httponly_strict_and_secure_on_tls() {
        let c = set_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!set_cookie("abc", false).contains("Secure"));
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "a=b; coffer_console=tok; c=d".parse().unwrap(),
        );
        assert_eq!(cookie_token(&h).as_deref(), Some("tok"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let s = Session {
            access_key_id: "AKIA1".into(),
            secret_access_key: SecretBytes::new(b"very-secret".to_vec()),
            session_token: None,
            region: region(),
            principal_arn: "arn".into(),
            csrf: "csrf-token".into(),
            expires: Instant::now(),
        };
        let d = format!("{s:?}");
        assert!(!d.contains("very-secret") && !d.contains("csrf-token"));
    }
}
