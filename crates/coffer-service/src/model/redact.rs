//! Copies of request and response documents fit for the audit trail: every value of a sensitive
//! shape (SecretString, SecretBinary, Plaintext, parameter values, passwords) and every blob is
//! replaced by CloudTrail's marker, and members the model does not know are dropped.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>

use super::shape::{Kind, Model, ShapeId};
use serde_json::{Map, Value};

/// What CloudTrail writes in place of a value it must not record.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

const MAX_DEPTH: usize = 32;

pub(super) fn redact(model: &Model, id: ShapeId, value: &Value, depth: usize) -> Value {
    let shape = &model.shapes[id];
    if value.is_null() {
        return Value::Null;
    }
    if shape.sensitive || matches!(shape.kind, Kind::Blob) || depth >= MAX_DEPTH {
        return Value::String(HIDDEN.to_owned());
    }
    if !shape.redact {
        // Nothing secret anywhere below: copy as is, but only if the type is what the model
        // says, so an unexpected document cannot smuggle text through.
        return match (&shape.kind, value) {
            (Kind::Structure { .. } | Kind::List { .. } | Kind::Map { .. }, _) => {
                redact_children(model, id, value, depth)
            }
            _ => value.clone(),
        };
    }
    redact_children(model, id, value, depth)
}

fn redact_children(model: &Model, id: ShapeId, value: &Value, depth: usize) -> Value {
    match (&model.shapes[id].kind, value) {
        (Kind::Structure { members }, Value::Object(object)) => {
            let mut out = Map::new();
            for m in members.iter() {
                if let Some(v) = object.get(&*m.name) {
                    out.insert(m.name.to_string(), redact(model, m.shape, v, depth + 1));
                }
            }
            Value::Object(out)
        }
        (Kind::List { member, .. }, Value::Array(items)) => Value::Array(
            items
                .iter()
                .map(|v| redact(model, *member, v, depth + 1))
                .collect(),
        ),
        (Kind::Map { value: v, .. }, Value::Object(object)) => Value::Object(
            object
                .iter()
                .map(|(k, item)| (k.clone(), redact(model, *v, item, depth + 1)))
                .collect(),
        ),
        (Kind::Structure { .. } | Kind::List { .. } | Kind::Map { .. }, _) => Value::Null,
        _ => value.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::HIDDEN;
    use crate::model::{Service, model};
    use serde_json::json;

    #[test]
    fn secrets_are_hidden_and_the_rest_kept() {
        let sm = model(Service::SecretsManager);
        let input = json!({"SecretId": "app/db", "SecretString": "s3cret", "VersionStages": ["AWSCURRENT"], "Smuggled": "x"});
        assert_eq!(
            sm.redact_input("PutSecretValue", &input).unwrap(),
            json!({"SecretId": "app/db", "SecretString": HIDDEN, "VersionStages": ["AWSCURRENT"]})
        );
        let out = json!({"ARN": "arn", "SecretBinary": "AAEC", "Name": "app/db"});
        assert_eq!(
            sm.redact_output("GetSecretValue", &out).unwrap(),
            json!({"ARN": "arn", "SecretBinary": HIDDEN, "Name": "app/db"})
        );
        let kms = model(Service::Kms);
        let out =
            json!({"KeyId": "k", "Plaintext": "AAAA", "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"});
        assert_eq!(
            kms.redact_output("Decrypt", &out).unwrap()["Plaintext"],
            json!(HIDDEN)
        );
        let ssm = model(Service::Ssm);
        let input = json!({"Name": "/p", "Value": "v", "Type": "SecureString", "Tags": [{"Key": "a", "Value": "b"}]});
        let r = ssm.redact_input("PutParameter", &input).unwrap();
        assert_eq!(r["Value"], json!(HIDDEN));
        assert_eq!(r["Tags"], json!([{"Key": "a", "Value": "b"}]));
        let out = json!({"Parameters": [{"Name": "/p", "Value": "v"}], "InvalidParameters": []});
        let r = ssm.redact_output("GetParameters", &out).unwrap();
        assert_eq!(r["Parameters"][0]["Value"], json!(HIDDEN));
        assert_eq!(r["Parameters"][0]["Name"], json!("/p"));
        assert!(sm.redact_input("NoSuchOperation", &input).is_none());
    }
}
