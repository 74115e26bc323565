//! The error shapes of a model: what an error code renders as.
//!
//! Read from the same embedded JSON as the rest of the model, but on its own: only the
//! exception shapes' names, `error` traits, `fault` flags and member names matter here. AWS
//! serialises an error's message under the member name its shape declares, and the services
//! differ: Secrets Manager's shapes and most of SSM's say `Message`, KMS's, STS's and IAM's
//! `message`
//! (<https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization>).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// One exception shape of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The shape name: the awsJson `__type`.
    pub shape: Box<str>,
    /// The query-protocol `Code` (`error.code`), else the shape name.
    pub code: Box<str>,
    /// `error.httpStatusCode`, when the model gives one.
    pub http_status: Option<u16>,
    /// `fault: true`: a server-side error (5xx).
    pub fault: bool,
    /// The member holding the message, `Message` or `message`; `None` if the shape has neither.
    pub message_member: Option<&'static str>,
    /// Every member name.
    pub members: Box<[Box<str>]>,
}

#[derive(Deserialize)]
struct RawModel {
    shapes: BTreeMap<String, RawShape>,
}

#[derive(Deserialize)]
struct RawShape {
    #[serde(default)]
    exception: bool,
    #[serde(default)]
    fault: bool,
    error: Option<RawError>,
    #[serde(default)]
    members: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawError {
    code: Option<String>,
    http_status_code: Option<u16>,
}

/// The exception shapes of one model, by shape name and by query code.
#[derive(Debug, Default)]
pub(super) struct ErrorShapes {
    all: Vec<ErrorInfo>,
    /// Index into `all`, by shape name and by `error.code`.
    by_code: HashMap<Box<str>, usize>,
}

impl ErrorShapes {
    pub(super) fn from_json(source: &str) -> Result<Self, serde_json::Error> {
        let raw: RawModel = serde_json::from_str(source)?;
        let mut out = Self::default();
        for (name, shape) in raw.shapes {
            if !shape.exception {
                continue;
            }
            let members: Box<[Box<str>]> =
                shape.members.keys().map(|k| k.as_str().into()).collect();
            let message_member = ["Message", "message"]
                .into_iter()
                .find(|m| members.iter().any(|k| &**k == *m));
            let code = shape
                .error
                .as_ref()
                .and_then(|e| e.code.clone())
                .unwrap_or_else(|| name.clone());
            let index = out.all.len();
            out.by_code.insert(name.as_str().into(), index);
            out.by_code.entry(code.as_str().into()).or_insert(index);
            out.all.push(ErrorInfo {
                shape: name.into(),
                code: code.into(),
                http_status: shape.error.as_ref().and_then(|e| e.http_status_code),
                fault: shape.fault,
                message_member,
                members,
            });
        }
        Ok(out)
    }

    pub(super) fn get(&self, code: &str) -> Option<&ErrorInfo> {
        self.by_code.get(code).map(|&i| &self.all[i])
    }

    pub(super) fn all(&self) -> &[ErrorInfo] {
        &self.all
    }
}
