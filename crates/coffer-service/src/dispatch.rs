//! The one table of the services coffer serves: how each is reached on the wire (awsJson target
//! prefix or query protocol), its SigV4 signing name, how its calls are audited, and its
//! `operations!` table. The server routes with [`by_target`] / [`by_query_signing_name`] and
//! calls [`Services::dispatch`]; it has no list of services of its own. Adding a service is one
//! line here; adding an operation is one line in the service's `operations!` table.
//!
//! The `tests` module checks every line against the botocore model (target prefix, signing
//! name, protocol, XML namespace, API version, and that every listed operation is modelled).

use crate::error::ServiceError;
use crate::model::Service;
use crate::{RequestContext, Services, admin, cloudtrail, iam, kms, secretsmanager, ssm, sts};
use serde_json::Value;

/// A service error, whichever service produced it.
pub type Failure = Box<dyn ServiceError>;

fn boxed<E: ServiceError + 'static>(e: E) -> Failure {
    Box::new(e)
}

/// How a service's requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// awsJson 1.1: `X-Amz-Target: <prefix>.<Operation>`.
    Json { target_prefix: &'static str },
    /// The query protocol: `Action=<Operation>&Version=<version>`, XML answers in `xmlns`.
    Query {
        xmlns: &'static str,
        version: &'static str,
    },
}

/// One line of the table.
#[derive(Debug)]
pub struct Descriptor {
    pub id: ServiceId,
    pub wire: Wire,
    /// The SigV4 signing name (credential scope service).
    pub signing_name: &'static str,
    /// The model whose operation names and redaction the audit record uses, and whose
    /// `eventSource` it carries.
    pub audit_as: Service,
    /// Whether the redacted request and response documents go into the audit record.
    pub audit_documents: bool,
    /// Operations called without a signature (the credential is in the request itself).
    pub unsigned: &'static [&'static str],
    pub operations: &'static [&'static str],
    /// The botocore model inputs are validated against (none for coffer's own operations).
    pub model: Option<Service>,
    /// `(variant, AWS code, HTTP status)` of every error the service can produce.
    pub errors: &'static [(&'static str, &'static str, u16)],
    /// Build the error of a row of `errors` (for the tests that render every row).
    pub error: fn(&str, &str) -> Option<Failure>,
}

impl Descriptor {
    pub fn has_operation(&self, op: &str) -> bool {
        self.operations.contains(&op)
    }

    pub fn is_unsigned(&self, op: &str) -> bool {
        self.unsigned.contains(&op)
    }
}

/// Run a service's pre-dispatch hook, if its line names one.
macro_rules! before_hook {
    (none, $svc:expr, $ctx:ident, $op:ident, $input:ident) => {};
    ($hook:ident, $svc:expr, $ctx:ident, $op:ident, $input:ident) => {
        $svc.$hook($ctx, $op, &$input).await.map_err(boxed)?;
    };
}

macro_rules! services {
    ($(
        $(#[$doc:meta])*
        $id:ident => $field:ident: $ty:ty {
            wire: $wire:expr,
            signing_name: $signing:literal,
            audit_as: $audit:expr,
            documents: $docs:literal,
            unsigned: $unsigned:expr,
            before: $before:ident $(,)?
        }
    )*) => {
        /// The services, one variant per line of the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ServiceId {
            $( $(#[$doc])* $id, )*
        }

        /// The table.
        pub static SERVICES: &[Descriptor] = &[
            $( Descriptor {
                id: ServiceId::$id,
                wire: $wire,
                signing_name: $signing,
                audit_as: $audit,
                audit_documents: $docs,
                unsigned: $unsigned,
                operations: <$ty>::OPERATIONS,
                model: <$ty>::MODEL,
                errors: <$ty>::ERRORS,
                error: <$ty>::error,
            }, )*
        ];

        impl Services {
            /// Run operation `op` of service `id` on its JSON input document: the service's
            /// pre-dispatch hook (if any), then model validation, typed decoding, the handler.
            pub async fn dispatch(
                &self,
                id: ServiceId,
                ctx: &RequestContext,
                op: &str,
                input: Value,
            ) -> Result<Value, Failure> {
                // A break-glass session's reads are recorded for rotation after its window.
                let watched = ctx.principal.session.as_ref().is_some_and(|s| s.incident.is_some());
                let input_copy = watched.then(|| input.clone());
                let output = async {
                    match id {
                        $( ServiceId::$id => {
                            before_hook!($before, self.$field, ctx, op, input);
                            self.$field.dispatch(ctx, op, input).await.map_err(boxed)
                        } )*
                    }
                }
                .await?;
                if let Some(input) = input_copy {
                    self.breakglass.observe(ctx, op, &input, &output).await;
                }
                Ok(output)
            }

            /// Query protocol: the form parameters of `op` as its JSON input document.
            /// Fuzzing only: what [`Services::dispatch`] does to `input` before the
            /// handler (pre-dispatch hooks aside): model validation and the typed decode.
            #[cfg(feature = "fuzzing")]
            pub fn decode_input(id: ServiceId, op: &str, input: Value) -> Result<(), Failure> {
                match id {
                    $( ServiceId::$id => <$ty>::decode_input(op, input).map_err(boxed), )*
                }
            }

            pub fn query_input(
                id: ServiceId,
                op: &str,
                params: &[(String, String)],
            ) -> Result<Value, Failure> {
                match id {
                    $( ServiceId::$id => <$ty>::query_input(op, params).map_err(boxed), )*
                }
            }
        }
    };
}

services! {
    Kms => kms: kms::Kms {
        wire: Wire::Json { target_prefix: "TrentService" },
        signing_name: "kms", audit_as: Service::Kms, documents: true, unsigned: &[],
        before: grant_tokens,
    }
    SecretsManager => secretsmanager: secretsmanager::SecretsManager {
        wire: Wire::Json { target_prefix: "secretsmanager" },
        signing_name: "secretsmanager", audit_as: Service::SecretsManager, documents: true,
        unsigned: &[], before: none,
    }
    Ssm => ssm: ssm::Ssm {
        wire: Wire::Json { target_prefix: "AmazonSSM" },
        signing_name: "ssm", audit_as: Service::Ssm, documents: true, unsigned: &[],
        before: none,
    }
    CloudTrail => cloudtrail: cloudtrail::CloudTrail {
        wire: Wire::Json { target_prefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101" },
        signing_name: "cloudtrail", audit_as: Service::CloudTrail, documents: true,
        unsigned: &[], before: none,
    }
    /// coffer's rotation-function operations. Audited as Secrets Manager events (they
    /// administer its rotation functions), without documents: a signing key never reaches the
    /// trail.
    Admin => admin: admin::Admin {
        wire: Wire::Json { target_prefix: admin::TARGET_PREFIX },
        signing_name: "coffer", audit_as: Service::SecretsManager, documents: false,
        unsigned: &[], before: authorize,
    }
    /// Account administration, on the same prefix. Audited as IAM events, without documents:
    /// CreateAccount's answer holds the new account's secret key.
    Accounts => accounts: admin::accounts::Accounts {
        wire: Wire::Json { target_prefix: admin::TARGET_PREFIX },
        signing_name: "coffer", audit_as: Service::Iam, documents: false, unsigned: &[],
        before: authorize,
    }
    /// Backups and master-key rotation, on the same prefix. Audited as IAM events, without
    /// documents (a passphrase key travels in CreateBackup).
    Maintenance => maintenance: admin::maintenance::Maintenance {
        wire: Wire::Json { target_prefix: admin::TARGET_PREFIX },
        signing_name: "coffer", audit_as: Service::Iam, documents: false, unsigned: &[],
        before: authorize,
    }
    /// Break-glass requests, approvals and credentials, on the same prefix. Audited as IAM
    /// events with their documents, which name the incident (GetBreakGlassCredentials is a
    /// read: its answer, which holds a secret key, is never recorded); every call of a
    /// break-glass session is audited under its `breakglass-ID` session name.
    BreakGlass => breakglass: admin::breakglass::BreakGlass {
        wire: Wire::Json { target_prefix: admin::TARGET_PREFIX },
        signing_name: "coffer", audit_as: Service::Iam, documents: true, unsigned: &[],
        before: none,
    }
    /// AssumeRoleWithWebIdentity is unsigned: the web identity token is the credential.
    Sts => sts: sts::Sts {
        wire: Wire::Query { xmlns: "https://sts.amazonaws.com/doc/2011-06-15/", version: "2011-06-15" },
        signing_name: "sts", audit_as: Service::Sts, documents: true,
        unsigned: &["AssumeRoleWithWebIdentity"], before: none,
    }
    Iam => iam: iam::Iam {
        wire: Wire::Query { xmlns: "https://iam.amazonaws.com/doc/2010-05-08/", version: "2010-05-08" },
        signing_name: "iam", audit_as: Service::Iam, documents: true, unsigned: &[],
        before: none,
    }
}

/// The service an `X-Amz-Target` prefix names. Two services share `coffer.admin`: the one that
/// has `op`, else the first (whose unknown-operation error the caller then gets).
pub fn by_target(prefix: &str, op: &str) -> Option<&'static Descriptor> {
    let mut first = None;
    for d in SERVICES {
        if let Wire::Json { target_prefix } = d.wire
            && target_prefix == prefix
        {
            if d.has_operation(op) {
                return Some(d);
            }
            first.get_or_insert(d);
        }
    }
    first
}

/// The query-protocol service signed for as `signing_name`.
pub fn by_query_signing_name(signing_name: &str) -> Option<&'static Descriptor> {
    SERVICES
        .iter()
        .find(|d| matches!(d.wire, Wire::Query { .. }) && d.signing_name == signing_name)
}

/// Whether coffer serves anything signed for `signing_name`, whatever the protocol.
pub fn serves_signing_name(signing_name: &str) -> bool {
    SERVICES.iter().any(|d| d.signing_name == signing_name)
}

/// The signing names coffer serves, each once, in table order (for error messages).
pub fn signing_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for d in SERVICES {
        if !names.contains(&d.signing_name) {
            names.push(d.signing_name);
        }
    }
    names
}

/// The query service of a request that names none in a credential scope (an unsigned
/// AssumeRoleWithWebIdentity, or no signature at all): STS.
pub fn default_query() -> &'static Descriptor {
    by_query_signing_name("sts").unwrap_or_else(|| unreachable!("STS is in the table"))
}

#[cfg(test)]
mod tests;
