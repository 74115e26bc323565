//! What the driver sends with a Mount: the SecretProviderClass `parameters` and the pod's
//! identity as one JSON object of strings, and the file mode as a JSON number.
//! <https://secrets-store-csi-driver.sigs.k8s.io/providers.html>

use coffer_client::objects::{self, Objects};
use std::collections::BTreeMap;
use tonic::Status;

/// One Mount's request, parsed.
#[derive(Debug)]
pub struct MountSpec {
    pub objects: Objects,
    pub region: Option<String>,
    pub failover_region: Option<String>,
    pub namespace: String,
    pub service_account: String,
    pub pod: String,
    /// `usePodIdentity: "true"`: the pod authenticates the EKS Pod Identity way, with its token
    /// for the `pods.eks.amazonaws.com` audience.
    pub use_pod_identity: bool,
    /// The pod's service-account token: the audience its authentication asks for
    /// (`sts.amazonaws.com` for IRSA, `pods.eks.amazonaws.com` with `usePodIdentity`), else the
    /// only one.
    pub token: Option<String>,
    /// The file mode for every file.
    pub mode: i32,
}

impl Drop for MountSpec {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.token.zeroize();
    }
}

const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
const TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
/// The audience the AWS provider asks the driver for (`tokenRequests` of the CSIDriver).
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";
/// The audience of an EKS Pod Identity token (the AWS provider's `podIdentityAudience`).
pub const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

fn invalid(msg: impl Into<String>) -> Status {
    Status::invalid_argument(msg.into())
}

/// Parse the attributes and the permission of a MountRequest.
pub fn parse(attributes: &str, permission: &str) -> Result<MountSpec, Status> {
    let attrs: BTreeMap<String, String> = serde_json::from_str(attributes).map_err(|e| {
        invalid(format!(
            "the mount attributes are not a JSON object of strings: {e}"
        ))
    })?;
    let get = |k: &str| attrs.get(k).filter(|v| !v.is_empty()).cloned();
    let text = get("objects").ok_or_else(|| {
        invalid("the SecretProviderClass has no `objects` parameter: list the secrets and parameters to mount")
    })?;
    let objects = objects::parse(&text, get("pathTranslation").as_deref())
        .map_err(|e| invalid(format!("objects: {e}")))?;
    let mode = parse_mode(permission)?;
    let use_pod_identity = get("usePodIdentity")
        .map(|v| parse_bool(&v))
        .transpose()?
        .unwrap_or(false);
    let audience = if use_pod_identity {
        POD_IDENTITY_AUDIENCE
    } else {
        STS_AUDIENCE
    };
    Ok(MountSpec {
        objects,
        region: get("region"),
        failover_region: get("failoverRegion"),
        namespace: get(POD_NAMESPACE)
            .ok_or_else(|| invalid("no pod namespace in the mount attributes"))?,
        service_account: get(SERVICE_ACCOUNT)
            .ok_or_else(|| invalid("no service account in the mount attributes"))?,
        pod: get(POD_NAME).unwrap_or_default(),
        use_pod_identity,
        token: get(TOKENS)
            .map(|t| token_of(&t, audience))
            .transpose()?
            .flatten(),
        mode,
    })
}

/// A boolean parameter as the AWS provider reads it (Go's `strconv.ParseBool`).
fn parse_bool(value: &str) -> Result<bool, Status> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(invalid(format!(
            "usePodIdentity {value:?} is not a boolean: use \"true\" or \"false\""
        ))),
    }
}

/// The permission is a JSON number (decimal, e.g. `420` for 0644); empty means 0644.
fn parse_mode(permission: &str) -> Result<i32, Status> {
    if permission.trim().is_empty() {
        return Ok(0o644);
    }
    let mode: u32 = serde_json::from_str(permission).map_err(|_| {
        invalid(format!(
            "the file permission {permission:?} is not a number"
        ))
    })?;
    if mode > 0o777 {
        return Err(invalid(format!(
            "the file permission {mode:o} is not a file mode"
        )));
    }
    i32::try_from(mode).map_err(|_| invalid("the file permission is out of range"))
}

/// `{"AUDIENCE": {"token": "...", "expirationTimestamp": "..."}}`: `audience`'s token, else the
/// only one.
fn token_of(tokens: &str, audience: &str) -> Result<Option<String>, Status> {
    #[derive(serde::Deserialize)]
    struct Token {
        token: String,
    }
    let map: BTreeMap<String, Token> = serde_json::from_str(tokens)
        .map_err(|_| invalid("the service-account tokens attribute is not the driver's JSON"))?;
    let mut map = map;
    if let Some(t) = map.remove(audience) {
        return Ok(Some(t.token));
    }
    let only = map.len() == 1;
    Ok(map.into_values().next().filter(|_| only).map(|t| t.token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(extra: &[(&str, &str)]) -> String {
        let mut m = BTreeMap::from([
            (
                "objects",
                "- objectName: db\n  objectType: secretsmanager\n",
            ),
            (POD_NAMESPACE, "payments"),
            (SERVICE_ACCOUNT, "api"),
        ]);
        m.extend(extra.iter().copied());
        serde_json::to_string(&m).expect("strings serialize")
    }

    #[test]
    fn parses_the_driver_attributes() {
        let tokens = r#"{"sts.amazonaws.com":{"token":"abc","expirationTimestamp":"x"},"other":{"token":"no"}}"#;
        let s = parse(&attrs(&[(TOKENS, tokens), ("region", "us-east-1")]), "420")
            .expect("the attributes parse");
        assert_eq!(s.mode, 0o644);
        assert_eq!(s.token.as_deref(), Some("abc"));
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            (s.namespace.as_str(), s.service_account.as_str()),
            ("payments", "api")
        );
        assert_eq!(s.objects.objects.len(), 1);
    }

    #[test]
    fn pod_identity_takes_the_pod_identity_token() {
        let tokens =
            r#"{"sts.amazonaws.com":{"token":"irsa"},"pods.eks.amazonaws.com":{"token":"pod"}}"#;
        let s = parse(&attrs(&[(TOKENS, tokens), ("usePodIdentity", "true")]), "")
            .expect("the attributes parse");
        assert!(s.use_pod_identity);
        assert_eq!(s.token.as_deref(), Some("pod"));
        let s = parse(&attrs(&[(TOKENS, tokens), ("usePodIdentity", "false")]), "")
            .expect("the attributes parse");
        assert!(!s.use_pod_identity);
        assert_eq!(s.token.as_deref(), Some("irsa"));
        assert!(parse(&attrs(&[("usePodIdentity", "yes")]), "").is_err());
    }

    #[test]
    fn refuses_what_cannot_be_mounted() {
        assert!(parse("not json", "420").is_err());
        assert!(parse(&attrs(&[]), "\"x\"").is_err());
        assert!(parse(&attrs(&[]), "4095").is_err());
        let no_objects = serde_json::to_string(&BTreeMap::from([(POD_NAMESPACE, "a")]))
            .expect("strings serialize");
        assert!(parse(&no_objects, "420").is_err());
        // Two tokens, none for STS: which one is meant is unknown.
        let tokens = r#"{"a":{"token":"1"},"b":{"token":"2"}}"#;
        assert_eq!(
            parse(&attrs(&[(TOKENS, tokens)]), "")
                .expect("the attributes parse")
                .token,
            None
        );
    }
}
