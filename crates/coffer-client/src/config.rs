//! Region and endpoints, resolved the way the AWS CLI and SDKs resolve them.
//!
//! Region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`.
//! Endpoint of a service: `--endpoint-url`, `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
//! profile's `endpoint_url`, then AWS's own regional endpoint. STS (used only for web identity)
//! prefers `AWS_ENDPOINT_URL_STS`, then the same chain: coffer serves STS on its one endpoint.
//! coffer's own administrative API (`coffer admin`) has no AWS endpoint: its chain ends at
//! `http://127.0.0.1:4566`, where `coffer server` listens by default.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::profile::{self, Profile};

/// What a user can say on the command line; everything else comes from the environment.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
}

/// The services the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    SecretsManager,
    Ssm,
    Sts,
    Kms,
    /// CloudTrail's LookupEvents (the audit trail), for `coffer advise`.
    CloudTrail,
    /// coffer's own administrative operations (`coffer.admin.*`, signing name `coffer`).
    CofferAdmin,
}

/// Where `coffer server` listens unless told otherwise.
pub const DEFAULT_COFFER_ENDPOINT: &str = "http://127.0.0.1:4566";

impl Service {
    /// The SigV4 signing name, which is also the endpoint host prefix.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
            Service::Sts => "sts",
            Service::Kms => "kms",
            Service::CloudTrail => "cloudtrail",
            Service::CofferAdmin => "coffer",
        }
    }

    /// The `X-Amz-Target` prefix of an awsJson service.
    pub fn target_prefix(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "AmazonSSM",
            Service::Sts => "",
            Service::Kms => "TrentService",
            Service::CloudTrail => "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            Service::CofferAdmin => "coffer.admin",
        }
    }

    fn env_suffix(self) -> &'static str {
        match self {
            Service::SecretsManager => "SECRETS_MANAGER",
            Service::Ssm => "SSM",
            Service::Sts => "STS",
            Service::Kms => "KMS",
            Service::CloudTrail => "CLOUDTRAIL",
            Service::CofferAdmin => "COFFER",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    pub region: String,
    pub secretsmanager: String,
    pub ssm: String,
    pub sts: String,
    pub kms: String,
    pub cloudtrail: String,
    pub coffer_admin: String,
    pub profile: Option<Profile>,
}

impl ResolvedConfig {
    pub fn endpoint(&self, service: Service) -> &str {
        match service {
            Service::SecretsManager => &self.secretsmanager,
            Service::Ssm => &self.ssm,
            Service::Sts => &self.sts,
            Service::Kms => &self.kms,
            Service::CloudTrail => &self.cloudtrail,
            Service::CofferAdmin => &self.coffer_admin,
        }
    }
}

/// An endpoint URL as given, checked and without a trailing `/`.
pub fn normalize_endpoint(raw: &str, what: &str) -> Result<String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| {
        Error::Config(format!(
            "{what} {raw:?} is not a URL ({e}): write it like http://127.0.0.1:4566"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config(format!(
            "{what} {raw:?} must be an http:// or https:// URL with a host, like http://127.0.0.1:4566"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn default_endpoint(service: Service, region: &str) -> String {
    if service == Service::CofferAdmin {
        return DEFAULT_COFFER_ENDPOINT.to_owned();
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{}.{region}.{suffix}", service.signing_name())
}

pub fn resolve(opts: &ClientOptions, env: &Env) -> Result<ResolvedConfig> {
    let profile = profile::load(opts.profile.as_deref(), env)?;
    let region = opts
        .region
        .clone()
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .or_else(|| {
            profile
                .as_ref()
                .and_then(|p| p.get("region").map(str::to_owned))
        })
        .ok_or_else(|| {
            Error::Config(
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), pass --region, or put \
                 `region = ...` in your AWS profile"
                    .to_owned(),
            )
        })?;
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::Config(format!(
            "region {region:?} is not a region name like us-east-1"
        )));
    }
    let ignore_configured = env
        .get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let explicit = match &opts.endpoint_url {
        Some(u) => Some(normalize_endpoint(u, "--endpoint-url")?),
        None => None,
    };
    let configured = |service: Service| -> Result<Option<String>> {
        if ignore_configured {
            return Ok(None);
        }
        let specific = format!("AWS_ENDPOINT_URL_{}", service.env_suffix());
        if let Some(v) = env.get(&specific) {
            return normalize_endpoint(&v, &specific).map(Some);
        }
        if let Some(v) = env.get("AWS_ENDPOINT_URL") {
            return normalize_endpoint(&v, "AWS_ENDPOINT_URL").map(Some);
        }
        if let Some(v) = profile.as_ref().and_then(|p| p.get("endpoint_url")) {
            return normalize_endpoint(v, "the profile's endpoint_url").map(Some);
        }
        Ok(None)
    };
    let endpoint = |service: Service| -> Result<String> {
        if service == Service::Sts
            && !ignore_configured
            && let Some(v) = env.get("AWS_ENDPOINT_URL_STS")
        {
            return normalize_endpoint(&v, "AWS_ENDPOINT_URL_STS");
        }
        if let Some(e) = &explicit {
            return Ok(e.clone());
        }
        Ok(configured(service)?.unwrap_or_else(|| default_endpoint(service, &region)))
    };
    Ok(ResolvedConfig {
        secretsmanager: endpoint(Service::SecretsManager)?,
        ssm: endpoint(Service::Ssm)?,
        sts: endpoint(Service::Sts)?,
        kms: endpoint(Service::Kms)?,
        cloudtrail: endpoint(Service::CloudTrail)?,
        coffer_admin: endpoint(Service::CofferAdmin)?,
        region,
        profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn endpoint_precedence() {
        let env = Env::from_pairs([
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://general:1/"),
            ("AWS_ENDPOINT_URL_SSM", "http://ssm-only:2"),
            ("HOME", "/nonexistent"),
        ]);
        let c = ok(resolve(&ClientOptions::default(), &env));
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.ssm, "http://ssm-only:2");
        assert_eq!(c.secretsmanager, "http://general:1");
        assert_eq!(c.coffer_admin, "http://general:1");
        let c = ok(resolve(
            &ClientOptions {
                endpoint_url: Some("http://flag:3".into()),
                region: Some("us-west-2".into()),
                profile: None,
            },
            &env,
        ));
        assert_eq!(c.ssm, "http://flag:3");
        assert_eq!(c.sts, "http://flag:3");
        assert_eq!(c.region, "us-west-2");
    }

    #[test]
    fn defaults_to_aws_and_needs_a_region() {
        let env = Env::from_pairs([("AWS_DEFAULT_REGION", "cn-north-1"), ("HOME", "/x")]);
        let c = ok(resolve(&ClientOptions::default(), &env));
        assert_eq!(
            c.secretsmanager,
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
        // coffer's own API has no AWS endpoint: a local server.
        assert_eq!(c.coffer_admin, DEFAULT_COFFER_ENDPOINT);
        let err = resolve(
            &ClientOptions::default(),
            &Env::from_pairs([("HOME", "/x")]),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("AWS_REGION"), "{err}");
        assert!(normalize_endpoint("ftp://x", "e").is_err());
        assert!(normalize_endpoint("127.0.0.1:4566", "e").is_err());
    }
}
