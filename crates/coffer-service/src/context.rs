//! The caller of one request, established by SigV4 verification in the server.

use coffer_types::{AccountId, Region};

/// An authenticated identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: AccountId,
    /// `arn:aws:iam::ACCOUNT:root` for an account administrator.
    pub arn: String,
    /// AWS's `UserId`: the account id for root, `AIDA...` for users.
    pub user_id: String,
    pub access_key_id: String,
    /// For temporary credentials of an assumed role: the session.
    pub session: Option<std::sync::Arc<crate::authz::Session>>,
    /// An IAM user's tags (`aws:PrincipalTag/*`); a session's are in `session`.
    pub tags: Vec<(String, String)>,
}

impl Principal {
    /// The administrator (root) of `account`, as which coffer's background work acts for the
    /// account (replication); `None` if the stored account id is malformed.
    pub fn service_for(account: &str) -> Option<Self> {
        let account_id = AccountId::parse(account).ok()?;
        Some(Self {
            arn: format!("arn:aws:iam::{}:root", account_id.as_str()),
            user_id: account_id.as_str().to_owned(),
            account_id,
            access_key_id: String::new(),
            session: None,
            tags: Vec::new(),
        })
    }
}

/// Everything a handler needs to know about the request besides its input.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    /// From the credential scope of the signature, as on AWS.
    pub region: Region,
    pub request_id: String,
    /// Unix milliseconds when the request arrived; handlers use this, not the clock.
    pub now: i64,
    /// `--dev`: authorisation allows everything.
    pub dev: bool,
    /// The caller's address (`aws:SourceIp`), when known.
    pub source_ip: Option<std::net::IpAddr>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// Set while another service uses KMS on the caller's behalf (`kms:ViaService`):
    /// `secretsmanager`, `ssm`.
    pub via_service: Option<&'static str>,
}

impl RequestContext {
    pub fn account(&self) -> &str {
        self.principal.account_id.as_str()
    }

    /// This context, for a call another service makes to KMS on the caller's behalf.
    pub fn via(&self, service: &'static str) -> RequestContext {
        let mut c = self.clone();
        c.via_service = Some(service);
        c
    }

    pub fn region(&self) -> &str {
        self.region.as_str()
    }
}
