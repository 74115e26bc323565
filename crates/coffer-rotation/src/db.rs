//! What the database rotators share: the secret's JSON, the steps every engine takes the same
//! way, and the password hashes.

use coffer_service::secretsmanager::rotation::{Invocation, RotationApi, RotationError};
use coffer_types::SecretBytes;
use serde_json::{Map, Value};

/// The connection a secret describes. The password stays in a [`SecretBytes`].
pub struct DbSecret {
    pub host: String,
    pub port: Option<u16>,
    pub username: String,
    pub password: SecretBytes,
    pub dbname: Option<String>,
    /// The ARN of the secret whose user can change (and create) others: multi-user rotation.
    pub masterarn: Option<String>,
}

impl std::fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSecret")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("dbname", &self.dbname)
            .finish_non_exhaustive()
    }
}

fn doc(value: &SecretBytes, which: &str) -> Result<Map<String, Value>, RotationError> {
    serde_json::from_slice(value.expose())
        .map_err(|_| RotationError::new(format!("the {which} secret value is not a JSON object")))
}

fn text(d: &Map<String, Value>, key: &str, which: &str) -> Result<String, RotationError> {
    d.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| RotationError::new(format!("the {which} secret has no '{key}' string")))
}

impl DbSecret {
    /// Parse a secret value; `which` names it in errors (`current`, `pending`, `master`).
    pub fn parse(value: &SecretBytes, which: &str) -> Result<Self, RotationError> {
        let d = doc(value, which)?;
        let port = match d.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.parse().ok(),
            Some(_) => None,
        };
        if d.get("port").is_some_and(|p| !p.is_null()) && port.is_none() {
            return Err(RotationError::new(format!(
                "the {which} secret's 'port' is not a port number"
            )));
        }
        let password = d
            .get("password")
            .and_then(Value::as_str)
            .map(|p| SecretBytes::new(p.as_bytes().to_vec()))
            .ok_or_else(|| {
                RotationError::new(format!("the {which} secret has no 'password' string"))
            })?;
        Ok(Self {
            host: text(&d, "host", which)?,
            port,
            username: text(&d, "username", which)?,
            password,
            dbname: d.get("dbname").and_then(Value::as_str).map(str::to_owned),
            masterarn: d
                .get("masterarn")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    pub fn password_str(&self) -> Result<&str, RotationError> {
        std::str::from_utf8(self.password.expose())
            .map_err(|_| RotationError::new("the password is not UTF-8"))
    }
}

/// The other user of an alternating pair: `name` ↔ `name_clone`.
pub fn alternate(username: &str) -> String {
    match username.strip_suffix("_clone") {
        Some(base) => base.to_owned(),
        None => format!("{username}_clone"),
    }
}

/// createSecret for the database rotators: AWSCURRENT's JSON with a new password and, for
/// alternating users, the other username (at most `max_user_len` characters).
pub async fn create(
    api: &RotationApi,
    event: &Invocation,
    multi_user: bool,
    max_user_len: usize,
) -> Result<(), RotationError> {
    let password = api.new_password()?;
    api.create_pending(event, |current| {
        let mut d = doc(current, "current")?;
        if multi_user {
            let user = text(&d, "username", "current")?;
            let other = alternate(&user);
            if other.len() > max_user_len {
                return Err(RotationError::new(format!(
                    "the alternate username {other} is longer than the database allows ({max_user_len})"
                )));
            }
            d.insert("username".to_owned(), Value::String(other));
        }
        let p = std::str::from_utf8(password.expose())
            .map_err(|_| RotationError::new("generated password is not UTF-8"))?;
        d.insert("password".to_owned(), Value::String(p.to_owned()));
        serde_json::to_vec(&d)
            .map(SecretBytes::new)
            .map_err(|_| RotationError::new("encoding the pending secret"))
    })
    .await
}

/// The secrets setSecret and testSecret work from.
#[derive(Debug)]
pub struct Versions {
    pub current: DbSecret,
    pub pending: DbSecret,
    pub previous: Option<DbSecret>,
}

pub async fn versions(api: &RotationApi, event: &Invocation) -> Result<Versions, RotationError> {
    let current = api
        .get_value(&event.secret_id, None, Some("AWSCURRENT"))
        .await?;
    let pending = api.pending(event).await?;
    let previous = api
        .get_value(&event.secret_id, None, Some("AWSPREVIOUS"))
        .await
        .ok();
    Ok(Versions {
        current: DbSecret::parse(&current.value, "current")?,
        pending: DbSecret::parse(&pending.value, "pending")?,
        previous: previous
            .map(|p| DbSecret::parse(&p.value, "previous"))
            .transpose()
            .ok()
            .flatten(),
    })
}

/// The master secret of a multi-user rotation (AWSCURRENT of `masterarn`).
pub async fn master(api: &RotationApi, current: &DbSecret) -> Result<DbSecret, RotationError> {
    let arn = current
        .masterarn
        .as_deref()
        .ok_or_else(|| RotationError::new("multi-user rotation needs 'masterarn' in the secret"))?;
    let m = api.get_value(arn, None, Some("AWSCURRENT")).await?;
    DbSecret::parse(&m.value, "master")
}

/// A PostgreSQL SCRAM-SHA-256 verifier (RFC 5802/7677 as PostgreSQL stores it):
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, so `ALTER ROLE ... PASSWORD`
/// never carries the password itself. Passwords are ASCII here, which SASLprep leaves as is.
pub fn scram_sha_256(password: &[u8]) -> Result<String, RotationError> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| RotationError::new("random salt"))?;
    Ok(scram_verifier(password, &salt, 4096))
}

/// The verifier for a given salt and iteration count.
pub fn scram_verifier(password: &[u8], salt: &[u8], iterations: u32) -> String {
    use aws_lc_rs::{digest, hmac, pbkdf2};
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN),
        salt,
        password,
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    salted.fill(0);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored = digest::digest(&digest::SHA256, client_key.as_ref());
    let server = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        b64.encode(salt),
        b64.encode(stored.as_ref()),
        b64.encode(server.as_ref())
    )
}

/// MySQL/MariaDB `mysql_native_password` hash: `*` + HEX(SHA1(SHA1(password))).
pub fn mysql_native_hash(password: &[u8]) -> String {
    use aws_lc_rs::digest;
    let once = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password);
    let twice = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, once.as_ref());
    format!("*{}", hex::encode_upper(twice.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_alternate() {
        assert_eq!(alternate("app"), "app_clone");
        assert_eq!(alternate("app_clone"), "app");
    }

    #[test]
    fn mysql_hash_matches_the_server() {
        // SELECT PASSWORD('password') on MySQL 5.7 / MariaDB.
        assert_eq!(
            mysql_native_hash(b"password"),
            "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
        );
    }

    #[test]
    fn scram_verifier_shape() {
        let v = scram_sha_256(b"pencil").unwrap_or_default();
        let parts: Vec<&str> = v.split('$').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "SCRAM-SHA-256");
        assert!(parts[1].starts_with("4096:"));
        assert_eq!(parts[2].split(':').count(), 2);
        assert!(!v.contains("pencil"));
    }
}
