//! One API call as a CloudTrail record.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>

use crate::Principal;
use crate::model::{Service, model};
use coffer_store::{AuditResource, NewAuditEvent};
use serde_json::Value;

/// Everything the server knows about a call once it is answered.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: Service,
    pub operation: String,
    /// From the signature's scope; empty when the call was not authenticated.
    pub region: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub principal: Option<Principal>,
    /// The access key the request named, authenticated or not.
    pub access_key_id: Option<String>,
    pub request_id: String,
    /// Unix millis.
    pub time: i64,
    /// The input document, redacted: set only through [`Call::set_input`].
    pub(crate) input: Option<Value>,
    /// The output document of a successful write, redacted: set only through
    /// [`Call::set_output`].
    pub(crate) output: Option<Value>,
    /// `(code, message)` of a failed call.
    pub error: Option<(String, String)>,
}

impl Call {
    /// A call to `operation` of `service`, before anything is known about its caller.
    pub fn new(service: Service, operation: &str, request_id: &str, time: i64) -> Self {
        Self {
            service,
            operation: operation.to_owned(),
            region: String::new(),
            source_ip: String::new(),
            user_agent: None,
            principal: None,
            access_key_id: None,
            request_id: request_id.to_owned(),
            time,
            input: None,
            output: None,
            error: None,
        }
    }

    /// Keep the request document, redacted (sensitive shapes and blobs replaced, unknown members
    /// dropped); the raw document is never held.
    pub fn set_input(&mut self, input: &Value) {
        self.input = model(self.service)
            .redact_input(&self.operation, input)
            .or_else(|| breakglass_document(&self.operation, input));
    }

    /// Keep the response document, redacted, for calls that change something: as CloudTrail
    /// does, what reads return is not recorded.
    pub fn set_output(&mut self, output: &Value) {
        self.output = if read_only(&self.operation) {
            None
        } else {
            model(self.service)
                .redact_output(&self.operation, output)
                .or_else(|| breakglass_document(&self.operation, output))
        };
    }

    /// A failed call keeps its error and no response.
    pub fn set_error(&mut self, code: &str, message: &str) {
        self.error = Some((code.to_owned(), message.to_owned()));
        self.output = None;
    }
}

/// coffer's break-glass operations have no botocore model to redact by; their documents hold
/// no secret (role, reason, duration, request id and state; GetBreakGlassCredentials' answer
/// is a read's, never recorded), so they are kept whole: the trail then names the incident.
fn breakglass_document(operation: &str, doc: &Value) -> Option<Value> {
    const OPS: &[&str] = &[
        "RequestBreakGlass",
        "ApproveBreakGlass",
        "GetBreakGlassCredentials",
        "RevokeBreakGlass",
        "GetBreakGlassReport",
        "RunBreakGlassDrill",
        // Replication's own record of a push: the secret's ARN and the replica Region.
        "ReplicateSecretVersion",
    ];
    OPS.contains(&operation).then(|| doc.clone())
}

/// AWS's read-only classification: reads and cryptographic operations that change nothing.
pub fn read_only(operation: &str) -> bool {
    const PREFIXES: &[&str] = &["Get", "Describe", "List", "Lookup", "BatchGet", "Validate"];
    const CRYPTO: &[&str] = &[
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateRandom",
    ];
    PREFIXES.iter().any(|p| operation.starts_with(p)) || CRYPTO.contains(&operation)
}

fn event_source(service: Service) -> String {
    format!("{}.amazonaws.com", service.name())
}

/// The resources a call names, from its input and output, for LookupEvents' ResourceName and
/// ResourceType attributes.
fn resources(
    service: Service,
    operation: &str,
    input: Option<&Value>,
    output: Option<&Value>,
) -> Vec<AuditResource> {
    let (kind, input_keys, output_keys): (&str, &[&str], &[&str]) = match service {
        Service::SecretsManager => (
            "AWS::SecretsManager::Secret",
            &["SecretId", "Name", "SecretIdList"],
            &["ARN", "Name"],
        ),
        Service::Ssm => (
            "AWS::SSM::Parameter",
            &["Name", "Names", "Path", "ResourceId"],
            &[],
        ),
        Service::Kms => ("AWS::KMS::Key", &["KeyId", "TargetKeyId"], &[]),
        // Break-glass steps name their incident (and role).
        Service::Iam if breakglass_document(operation, &Value::Null).is_some() => (
            "Coffer::BreakGlass::Request",
            &["RequestId", "RoleArn"],
            &["RequestId"],
        ),
        Service::Sts | Service::Iam | Service::CloudTrail => return Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    let mut take = |v: Option<&Value>| match v {
        Some(Value::String(s)) => names.push(s.clone()),
        Some(Value::Array(items)) => {
            names.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)))
        }
        _ => {}
    };
    for k in input_keys {
        take(input.and_then(|i| i.get(*k)));
    }
    for k in output_keys {
        take(output.and_then(|o| o.get(*k)));
    }
    if service == Service::Kms {
        take(
            output
                .and_then(|o| o.get("KeyMetadata"))
                .and_then(|m| m.get("Arn")),
        );
    }
    let mut out: Vec<AuditResource> = Vec::new();
    for name in names {
        if !out.iter().any(|r| r.name == name) {
            out.push(AuditResource {
                resource_type: kind.to_owned(),
                name,
            });
        }
    }
    out
}

/// CloudTrail's `userIdentity`. Members in the order the record has always listed them
/// (alphabetical), `null` where a value is missing.
#[derive(serde::Serialize)]
struct UserIdentity<'a> {
    #[serde(rename = "accessKeyId")]
    access_key_id: Option<&'a str>,
    #[serde(rename = "accountId", skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(rename = "principalId", skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'static str,
    /// IAM users only; `null` for a user whose ARN has no name.
    #[serde(rename = "userName", skip_serializing_if = "Option::is_none")]
    user_name: Option<Option<&'a str>>,
}

/// The CloudTrail `userIdentity` and LookupEvents' `Username`.
fn identity(call: &Call) -> (UserIdentity<'_>, Option<String>) {
    match &call.principal {
        Some(p) => {
            let root = p.arn.ends_with(":root");
            let name = (!root).then(|| p.arn.rsplit('/').next());
            let identity = UserIdentity {
                access_key_id: Some(&p.access_key_id),
                account_id: Some(p.account_id.as_str()),
                arn: Some(&p.arn),
                principal_id: Some(&p.user_id),
                kind: if root { "Root" } else { "IAMUser" },
                user_name: name,
            };
            let username = if root {
                Some("root".to_owned())
            } else {
                name.flatten().map(str::to_owned)
            };
            (identity, username)
        }
        None => (
            UserIdentity {
                access_key_id: call.access_key_id.as_deref(),
                account_id: None,
                arn: None,
                principal_id: None,
                kind: "Unknown",
                user_name: None,
            },
            None,
        ),
    }
}

/// A resource as the CloudTrail record lists it.
#[derive(serde::Serialize)]
struct RecordResource<'a> {
    #[serde(rename = "ARN")]
    arn: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The CloudTrail record, serialized straight from the call (no intermediate JSON tree).
/// Members in alphabetical order, as the record has always been written.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    aws_region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    event_category: &'static str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    event_name: &'a str,
    event_source: &'a str,
    event_time: &'a str,
    event_type: &'static str,
    event_version: &'static str,
    management_event: bool,
    read_only: bool,
    recipient_account_id: &'a str,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    request_parameters: Option<&'a Value>,
    resources: Vec<RecordResource<'a>>,
    response_elements: Option<&'a Value>,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: Option<&'a str>,
    user_identity: UserIdentity<'a>,
}

/// The stored form of `call`: the CloudTrail record with secrets removed, and its indexed
/// columns.
pub fn record(call: &Call) -> NewAuditEvent {
    // Documents were redacted when they were set (`set_input`, `set_output`).
    let read_only = read_only(&call.operation);
    let (user_identity, username) = identity(call);
    // Time-ordered (UUIDv7, still random in its low 74 bits): a lookup by event id finds its
    // batch of the log by the time in the id.
    let event_id = uuid::Uuid::now_v7().to_string();
    let account = call
        .principal
        .as_ref()
        .map(|p| p.account_id.as_str().to_owned())
        .unwrap_or_default();
    let resources = resources(
        call.service,
        &call.operation,
        call.input.as_ref(),
        call.output.as_ref(),
    );
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(call.time) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let source = event_source(call.service);
    let doc = Record {
        aws_region: &call.region,
        error_code: call.error.as_ref().map(|(c, _)| c.as_str()),
        error_message: call.error.as_ref().map(|(_, m)| m.as_str()),
        event_category: "Management",
        event_id: &event_id,
        event_name: &call.operation,
        event_source: &source,
        event_time: &time,
        event_type: "AwsApiCall",
        event_version: "1.08",
        management_event: true,
        read_only,
        recipient_account_id: &account,
        request_id: &call.request_id,
        request_parameters: call.input.as_ref(),
        resources: resources
            .iter()
            .map(|r| RecordResource {
                arn: &r.name,
                kind: &r.resource_type,
            })
            .collect(),
        response_elements: call.output.as_ref(),
        source_ip_address: &call.source_ip,
        user_agent: call.user_agent.as_deref(),
        user_identity,
    };
    // Serializing borrowed strings and maps cannot fail.
    let event_json = serde_json::to_string(&doc).unwrap_or_default();
    NewAuditEvent {
        event_id,
        event_time: call.time,
        account_id: account,
        event_source: source,
        event_name: call.operation.clone(),
        read_only,
        username,
        access_key_id: call
            .principal
            .as_ref()
            .map(|p| p.access_key_id.clone())
            .or_else(|| call.access_key_id.clone()),
        resources,
        event_json,
    }
}
