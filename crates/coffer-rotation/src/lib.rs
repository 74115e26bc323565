//! Secrets Manager rotation functions that run outside the service layer: AWS's RDS rotation
//! templates, built in, and rotation functions reached over HTTP.
//!
//! The function name of a RotationLambdaARN picks one:
//!
//! | name | rotator |
//! |---|---|
//! | `SecretsManagerRDSPostgreSQLRotationSingleUser` | [`postgres`], single user |
//! | `SecretsManagerRDSPostgreSQLRotationMultiUser` | [`postgres`], alternating users |
//! | `SecretsManagerRDSMySQLRotationSingleUser`, `SecretsManagerRDSMariaDBRotationSingleUser` | [`mysql`], single user |
//! | `SecretsManagerRDSMySQLRotationMultiUser`, `SecretsManagerRDSMariaDBRotationMultiUser` | [`mysql`], alternating users |
//! | `CofferRandomPasswordRotation` | the generic rotator of `coffer-service` |
//! | any other | a registered HTTP rotation function ([`http`]) |
//!
//! The database rotators read the secret's JSON (`engine`, `host`, `port`, `username`,
//! `password`, `dbname`, `masterarn`), connect with [`CONNECT_TIMEOUT`], change the password
//! (as a SCRAM-SHA-256 verifier on PostgreSQL and a `mysql_native_password` hash on MariaDB, so
//! the new password itself never crosses the wire), test it by logging in, and only then let
//! finishSecret make it current.

pub mod db;
pub mod http;
pub mod mysql;
pub mod postgres;

use coffer_service::secretsmanager::rotation::{
    FunctionHost, HttpFunction, RotationFunction, generic_builtin,
};
use std::sync::Arc;
use std::time::Duration;

/// How long a rotator waits for a database connection. Generous on purpose: a rotation that
/// gives up too early (the seed's pitfall) leaves a pending version to retry.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one database statement may take.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Every rotation function coffer can run.
#[derive(Debug)]
pub struct Host {
    client: reqwest::Client,
}

impl Host {
    pub fn new() -> Result<Self, String> {
        // https with the system roots and AWS_CA_BUNDLE, through aws-lc-rs.
        // Each call sets its function's own timeout; this is only the ceiling (Lambda's 15 minutes).
        let client = coffer_service::outbound::client(Duration::from_secs(900))
            .map_err(|e| e.to_string())?;
        Ok(Self { client })
    }
}

impl FunctionHost for Host {
    fn builtin(&self, name: &str) -> Option<Arc<dyn RotationFunction>> {
        let f: Arc<dyn RotationFunction> = match name {
            "SecretsManagerRDSPostgreSQLRotationSingleUser" => {
                Arc::new(postgres::Postgres { multi_user: false })
            }
            "SecretsManagerRDSPostgreSQLRotationMultiUser" => {
                Arc::new(postgres::Postgres { multi_user: true })
            }
            "SecretsManagerRDSMySQLRotationSingleUser"
            | "SecretsManagerRDSMariaDBRotationSingleUser" => {
                Arc::new(mysql::MySql { multi_user: false })
            }
            "SecretsManagerRDSMySQLRotationMultiUser"
            | "SecretsManagerRDSMariaDBRotationMultiUser" => {
                Arc::new(mysql::MySql { multi_user: true })
            }
            other => return generic_builtin(other),
        };
        Some(f)
    }

    fn http(&self, function: HttpFunction) -> Arc<dyn RotationFunction> {
        Arc::new(http::HttpRotation::new(self.client.clone(), function))
    }
}
