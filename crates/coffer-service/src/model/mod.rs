//! The AWS API models (botocore's `service-2.json`) and a validator driven by them.
//!
//! NOTE: this module must be declared in `src/lib.rs` as `pub mod model;`.
//!
//! AWS SDKs and the CLI do not enforce the model's constraints (lengths, patterns, enums, ranges,
//! required members); the AWS services do, before any operation logic runs, and answer with a
//! `ValidationException` worded by AWS's request framework. Clients and tests depend on that
//! wording, so [`ServiceModel::validate_input`] reproduces it from the same models the SDKs are
//! generated from. See
//! <https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html> for the error codes.
//!
//! The models are trimmed copies of botocore's (documentation removed) made by
//! `scripts/trim-models.py` and embedded at compile time. Each is parsed once, on first use.
//!
//! The error shapes ([`ServiceModel::error`], `errors.rs`) say how each error code renders: its
//! query `Code`, its status and the member its message goes in ([`ServiceModel::message_member`]).
//!
//! Java-regex caveat: a few model patterns use constructs the `regex` crate lacks (lookahead,
//! backreferences); those patterns are not enforced — see
//! [`ServiceModel::unsupported_patterns`] and the `unsupported_patterns_are_known` test.

mod errors;
mod pattern;
mod query;
mod redact;
mod shape;
mod validate;

#[cfg(test)]
mod tests;

use std::sync::LazyLock;

use serde_json::Value;

pub use errors::ErrorInfo;
pub use redact::HIDDEN;
use shape::Model;

/// The services whose models are embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Kms,
    Sts,
    SecretsManager,
    Ssm,
    Iam,
    CloudTrail,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Kms,
        Service::Sts,
        Service::SecretsManager,
        Service::Ssm,
        Service::Iam,
        Service::CloudTrail,
    ];

    /// botocore's service name (`kms`, `secretsmanager`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::Sts => "sts",
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
            Service::Iam => "iam",
            Service::CloudTrail => "cloudtrail",
        }
    }

    /// The embedded (trimmed botocore) model document.
    pub fn source(self) -> &'static str {
        match self {
            Service::Kms => include_str!("../../models/kms.json"),
            Service::Sts => include_str!("../../models/sts.json"),
            Service::SecretsManager => include_str!("../../models/secretsmanager.json"),
            Service::Ssm => include_str!("../../models/ssm.json"),
            Service::Iam => include_str!("../../models/iam.json"),
            Service::CloudTrail => include_str!("../../models/cloudtrail.json"),
        }
    }
}

/// One service's API model, ready to validate requests.
#[derive(Debug)]
pub struct ServiceModel {
    service: Service,
    model: Model,
}

fn load(service: Service) -> ServiceModel {
    // The JSON is compile-time data checked by the `every_model_loads` test, so a failure here
    // is a build defect, not a runtime condition.
    let model = Model::from_json(service.source())
        .unwrap_or_else(|e| panic!("embedded {} model is invalid: {e}", service.name()));
    ServiceModel { service, model }
}

static KMS: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::Kms));
static STS: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::Sts));
static SECRETS_MANAGER: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::SecretsManager));
static SSM: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::Ssm));
static IAM: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::Iam));
static CLOUD_TRAIL: LazyLock<ServiceModel> = LazyLock::new(|| load(Service::CloudTrail));

fn load_errors(service: Service) -> errors::ErrorShapes {
    // Compile-time data, as in `load`.
    errors::ErrorShapes::from_json(service.source())
        .unwrap_or_else(|e| panic!("embedded {} model is invalid: {e}", service.name()))
}

/// The error shapes of each model, in [`Service::ALL`] order, read on first use.
static ERRORS: [LazyLock<errors::ErrorShapes>; 6] = [
    LazyLock::new(|| load_errors(Service::ALL[0])),
    LazyLock::new(|| load_errors(Service::ALL[1])),
    LazyLock::new(|| load_errors(Service::ALL[2])),
    LazyLock::new(|| load_errors(Service::ALL[3])),
    LazyLock::new(|| load_errors(Service::ALL[4])),
    LazyLock::new(|| load_errors(Service::ALL[5])),
];

fn error_shapes(service: Service) -> &'static errors::ErrorShapes {
    let i = Service::ALL
        .iter()
        .position(|s| *s == service)
        .unwrap_or_else(|| unreachable!("every service is in Service::ALL"));
    &ERRORS[i]
}

/// The model of `service`, parsed on first use.
pub fn model(service: Service) -> &'static ServiceModel {
    match service {
        Service::Kms => &KMS,
        Service::Sts => &STS,
        Service::SecretsManager => &SECRETS_MANAGER,
        Service::Ssm => &SSM,
        Service::Iam => &IAM,
        Service::CloudTrail => &CLOUD_TRAIL,
    }
}

/// Why a request document was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// The document does not match the shape's *types* (not an object at top level, a string
    /// where an integer goes, a non-base64 blob, an unknown operation, ...). AWS's JSON
    /// services answer `SerializationException`. The message never contains a value.
    #[error("{0}")]
    Serialization(String),
    /// Constraint violations, worded as AWS does: `1 validation error detected: Value 'abc' at
    /// 'keyId' failed to satisfy constraint: Member must have length greater than or equal to
    /// 1`. AWS answers `ValidationException`. Values of sensitive shapes and blobs are omitted.
    #[error("{message}")]
    Constraint { count: usize, message: String },
}

impl ValidationError {
    pub fn message(&self) -> &str {
        match self {
            ValidationError::Serialization(message) => message,
            ValidationError::Constraint { message, .. } => message,
        }
    }

    /// The AWS error code: `SerializationException` or `ValidationException`. (Query-protocol
    /// services have no `SerializationException`; callers there may prefer
    /// `MalformedInput`/`ValidationError`.)
    pub fn error_code(&self) -> &'static str {
        match self {
            ValidationError::Serialization(_) => "SerializationException",
            ValidationError::Constraint { .. } => "ValidationException",
        }
    }
}

/// An error an operation may return, from the model's error shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorShape<'a> {
    /// The shape name, which is the awsJson `__type`.
    pub name: &'a str,
    /// The query-protocol `Code` (`error.code`), defaulting to the shape name.
    pub code: &'a str,
    /// `error.httpStatusCode`, when the model gives one.
    pub http_status: Option<u16>,
    /// `error.senderFault`: a client (`Sender`) rather than server (`Receiver`) fault.
    pub sender_fault: bool,
}

impl ServiceModel {
    pub fn service(&self) -> Service {
        self.service
    }

    /// `json` or `query`.
    pub fn protocol(&self) -> &str {
        &self.model.protocol
    }

    pub fn api_version(&self) -> &str {
        &self.model.api_version
    }

    /// The `X-Amz-Target` prefix of awsJson services (`TrentService` for KMS).
    pub fn target_prefix(&self) -> Option<&str> {
        self.model.target_prefix.as_deref()
    }

    /// awsJson version (`1.1`), for the `Content-Type: application/x-amz-json-1.1` header.
    pub fn json_version(&self) -> Option<&str> {
        self.model.json_version.as_deref()
    }

    /// Query-protocol XML namespace of responses.
    pub fn xml_namespace(&self) -> Option<&str> {
        self.model.xml_namespace.as_deref()
    }

    pub fn has_operation(&self, name: &str) -> bool {
        self.model.operations.contains_key(name)
    }

    /// Every operation name, in no particular order.
    pub fn operation_names(&self) -> impl Iterator<Item = &str> {
        self.model.operations.values().map(|op| &*op.name)
    }

    /// Query protocol: the element wrapping an operation's output (`AssumeRoleResult`).
    pub fn result_wrapper(&self, operation: &str) -> Option<&str> {
        self.model
            .operations
            .get(operation)?
            .result_wrapper
            .as_deref()
    }

    /// The input and output shape names of an operation.
    pub fn io_shapes(&self, operation: &str) -> Option<(Option<&str>, Option<&str>)> {
        let op = self.model.operations.get(operation)?;
        let name = |id: Option<usize>| id.map(|id| &*self.model.shapes[id].name);
        Some((name(op.input), name(op.output)))
    }

    /// The errors the model lists for an operation.
    pub fn operation_errors(&self, operation: &str) -> Option<Vec<ErrorShape<'_>>> {
        let op = self.model.operations.get(operation)?;
        let errors = op.errors.iter().map(|&id| {
            let shape = &self.model.shapes[id];
            let error = shape.error.as_ref();
            ErrorShape {
                name: &shape.name,
                code: error.and_then(|e| e.code.as_deref()).unwrap_or(&shape.name),
                http_status: error.and_then(|e| e.http_status),
                sender_fault: error.is_some_and(|e| e.sender_fault),
            }
        });
        Some(errors.collect())
    }

    /// The exception shape an error code names (the shape name, or a query `error.code`).
    pub fn error(&self, code: &str) -> Option<&ErrorInfo> {
        error_shapes(self.service).get(code)
    }

    /// Every exception shape of the model.
    pub fn errors(&self) -> &[ErrorInfo] {
        error_shapes(self.service).all()
    }

    /// The awsJson member an error's message is rendered in: the one the error shape declares
    /// (`Message` or `message`), else `message` — for codes the model does not know (AWS's common
    /// errors) and for shapes that declare no message member.
    pub fn message_member(&self, code: &str) -> &'static str {
        self.error(code)
            .and_then(|e| e.message_member)
            .unwrap_or(crate::error::DEFAULT_MESSAGE_MEMBER)
    }

    /// Validates an awsJson input document for `operation` against its input shape.
    pub fn validate_input(&self, operation: &str, input: &Value) -> Result<(), ValidationError> {
        let op = self
            .model
            .operations
            .get(operation)
            .ok_or_else(|| ValidationError::Serialization("Unknown operation.".to_owned()))?;
        match op.input {
            Some(root) => validate::validate(&self.model, root, input),
            None if input.is_object() => Ok(()),
            None => Err(validate::mismatch(input, "a Structure")),
        }
    }

    /// Query protocol: turns form parameters (`Tags.member.1.Key=a`) into the JSON document
    /// [`validate_input`](Self::validate_input) takes. `Action` and `Version` are ignored, as
    /// are parameters the input shape does not know. Numbers and booleans are parsed (a bad
    /// one is a `Serialization` error); strings, blobs (base64) and timestamps stay strings.
    pub fn query_to_json(
        &self,
        operation: &str,
        params: &[(String, String)],
    ) -> Result<Value, ValidationError> {
        let op = self
            .model
            .operations
            .get(operation)
            .ok_or_else(|| ValidationError::Serialization("Unknown operation.".to_owned()))?;
        query::to_json(&self.model, op.input, params)
    }

    /// `input` with every sensitive value and blob replaced by CloudTrail's marker and unknown
    /// members dropped, for the audit trail. `None` if the operation is unknown.
    pub fn redact_input(&self, operation: &str, input: &Value) -> Option<Value> {
        let op = self.model.operations.get(operation)?;
        Some(match op.input {
            Some(id) => redact::redact(&self.model, id, input, 0),
            None => Value::Object(serde_json::Map::new()),
        })
    }

    /// The same for an operation's output document.
    pub fn redact_output(&self, operation: &str, output: &Value) -> Option<Value> {
        let op = self.model.operations.get(operation)?;
        Some(match op.output {
            Some(id) => redact::redact(&self.model, id, output, 0),
            None => Value::Null,
        })
    }

    /// `(shape name, pattern)` for every model pattern the `regex` crate could not compile;
    /// those constraints are not enforced.
    pub fn unsupported_patterns(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = self
            .model
            .shapes
            .iter()
            .filter_map(|s| {
                let p = s.pattern.as_ref()?;
                p.regex.is_none().then_some((&*s.name, &*p.source))
            })
            .collect();
        out.sort_unstable();
        out
    }
}
