//! Query-protocol conversion, and a synthetic model for shapes the real inputs lack.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::params;
use crate::model::shape::Model;
use crate::model::*;

#[test]
fn depth_is_bounded() {
    // Nest `Tags` lists of structures deeper than allowed: refused, not a stack overflow.
    let mut doc = json!({});
    for _ in 0..200 {
        doc = json!({"Value": "v", "Type": "String", "Tags": [doc]});
    }
    let model = Model::from_json(SYNTHETIC).unwrap();
    let root = model.operations.get("Nest").unwrap().input.unwrap();
    assert!(matches!(
        validate::validate(&model, root, &doc),
        Err(ValidationError::Serialization(_))
    ));
}

#[test]
fn sts_assume_role_from_query() {
    let sts = model(Service::Sts);
    let form = params(&[
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", "arn:aws:iam::123456789012:role/demo"),
        ("RoleSessionName", "session"),
        ("DurationSeconds", "3600"),
        ("Tags.member.2.Key", "team"),
        ("Tags.member.2.Value", "blue"),
        ("Tags.member.1.Key", "project"),
        ("Tags.member.1.Value", "coffer"),
        ("TransitiveTagKeys.member.1", "project"),
        (
            "PolicyArns.member.1.arn",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        ),
        ("Unknown.Param", "ignored"),
    ]);
    let doc = sts.query_to_json("AssumeRole", &form).unwrap();
    assert_eq!(
        doc,
        json!({
            "RoleArn": "arn:aws:iam::123456789012:role/demo",
            "RoleSessionName": "session",
            "DurationSeconds": 3600,
            "Tags": [{"Key": "project", "Value": "coffer"}, {"Key": "team", "Value": "blue"}],
            "TransitiveTagKeys": ["project"],
            "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
        })
    );
    sts.validate_input("AssumeRole", &doc).unwrap();

    let doc = sts
        .query_to_json(
            "AssumeRole",
            &params(&[
                ("RoleSessionName", "s"),
                ("DurationSeconds", "100"),
                ("Tags", ""),
            ]),
        )
        .unwrap();
    assert_eq!(doc["Tags"], json!([]));
    assert_eq!(
        sts.validate_input("AssumeRole", &doc)
            .unwrap_err()
            .message(),
        "3 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: \
         Member must not be null; Value 's' at 'roleSessionName' failed to satisfy constraint: \
         Member must have length greater than or equal to 2; Value '100' at 'durationSeconds' \
         failed to satisfy constraint: Member must have value greater than or equal to 900"
    );
    let e = sts
        .query_to_json("AssumeRole", &params(&[("DurationSeconds", "1h")]))
        .unwrap_err();
    assert_eq!(
        e.message(),
        "STRING_VALUE can not be converted to an Integer"
    );
    // GetCallerIdentity has an input shape without members.
    assert_eq!(
        sts.query_to_json(
            "GetCallerIdentity",
            &params(&[("Action", "GetCallerIdentity")])
        )
        .unwrap(),
        json!({})
    );
}

#[test]
fn iam_from_query() {
    let iam = model(Service::Iam);
    let doc = iam
        .query_to_json(
            "CreateUser",
            &params(&[("UserName", "bad name!"), ("Tags.member.1.Key", "k")]),
        )
        .unwrap();
    assert_eq!(
        iam.validate_input("CreateUser", &doc)
            .unwrap_err()
            .message(),
        "2 validation errors detected: Value 'bad name!' at 'userName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+; Value null \
         at 'tags.1.member.value' failed to satisfy constraint: Member must not be null"
    );
    // Java's \w is ASCII: AWS rejects non-ASCII user names.
    let doc = json!({"UserName": "josé"});
    assert!(iam.validate_input("CreateUser", &doc).is_err());
    let doc = iam
        .query_to_json(
            "CreateUser",
            &params(&[("UserName", "alice"), ("Path", "/dev/")]),
        )
        .unwrap();
    iam.validate_input("CreateUser", &doc).unwrap();
    // Booleans are parsed; anything else than true/false is a serialization error.
    let doc = iam
        .query_to_json(
            "UpdateAccountPasswordPolicy",
            &params(&[("RequireSymbols", "true"), ("MinimumPasswordLength", "12")]),
        )
        .unwrap();
    assert_eq!(
        doc,
        json!({"RequireSymbols": true, "MinimumPasswordLength": 12})
    );
    assert!(
        iam.query_to_json(
            "UpdateAccountPasswordPolicy",
            &params(&[("RequireSymbols", "yes")])
        )
        .is_err()
    );
    // Passwords are sensitive.
    let doc = json!({"UserName": "alice", "Password": ""});
    let message = iam.validate_input("CreateLoginProfile", &doc).unwrap_err();
    assert!(
        message.message().contains("Value at 'password'"),
        "{message:?}"
    );
}

/// Shapes the real inputs lack: a query map, a flattened list, a sensitive structure inside a
/// list, UTF-16 lengths, and a recursive structure.
const SYNTHETIC: &str = r#"{
"metadata":{"apiVersion":"1","protocol":"query"},
"operations":{
"Nest":{"name":"Nest","input":{"shape":"Param"}},
"Q":{"name":"Q","input":{"shape":"QInput"}}
},
"shapes":{
"Param":{"type":"structure","members":{"Value":{"shape":"Text"},"Type":{"shape":"Kind"},"Tags":{"shape":"ParamList"}}},
"ParamList":{"type":"list","member":{"shape":"Param"}},
"Text":{"type":"string","max":3},
"Kind":{"type":"string","enum":["String"]},
"QInput":{"type":"structure","members":{
  "Attrs":{"shape":"AttrMap"},"Flat":{"shape":"FlatList","locationName":"Item"},
  "Secrets":{"shape":"SecretList"},"Ratio":{"shape":"Ratio"},"When":{"shape":"When"},"Emoji":{"shape":"Text"}}},
"AttrMap":{"type":"map","key":{"shape":"Text"},"value":{"shape":"Text"},"max":1},
"FlatList":{"type":"list","member":{"shape":"Text"},"flattened":true},
"SecretList":{"type":"list","member":{"shape":"Cred"},"max":1},
"Cred":{"type":"structure","members":{"User":{"shape":"Text"},"Pass":{"shape":"Pass"}}},
"Pass":{"type":"string","sensitive":true},
"Ratio":{"type":"double"},
"When":{"type":"timestamp"}
}}"#;

#[test]
fn synthetic_model() {
    let m = ServiceModel {
        service: Service::Sts,
        model: Model::from_json(SYNTHETIC).unwrap(),
    };
    let doc = m
        .query_to_json(
            "Q",
            &params(&[
                ("Attrs.entry.1.key", "a"),
                ("Attrs.entry.1.value", "1"),
                ("Attrs.entry.2.key", "b"),
                ("Attrs.entry.2.value", "2"),
                ("Item.2", "y"),
                ("Item.1", "x"),
                ("Secrets.member.1.User", "u"),
                ("Secrets.member.1.Pass", "hunter2"),
                ("Secrets.member.2.User", "v"),
                ("Ratio", "0.5"),
                ("When", "2024-01-01T00:00:00Z"),
                ("Emoji", "\u{1F600}\u{1F600}"),
            ]),
        )
        .unwrap();
    assert_eq!(doc["Attrs"], json!({"a": "1", "b": "2"}));
    assert_eq!(doc["Flat"], json!(["x", "y"]));
    assert_eq!(doc["Ratio"], json!(0.5));
    let message = m.validate_input("Q", &doc).unwrap_err();
    assert_eq!(
        message.message(),
        "3 validation errors detected: Value '{a=1, b=2}' at 'attrs' failed to satisfy \
         constraint: Member must have length less than or equal to 1; Value at 'secrets' failed \
         to satisfy constraint: Member must have length less than or equal to 1; Value \
         '\u{1F600}\u{1F600}' at 'emoji' failed to satisfy constraint: Member must have length \
         less than or equal to 3"
    );
    assert!(!message.message().contains("hunter2"));
    assert!(m.query_to_json("Q", &params(&[("Ratio", "half")])).is_err());
    // Recursive shapes load and validate.
    assert!(
        m.validate_input("Nest", &json!({"Tags": [{"Tags": [{"Type": "Nope"}]}]}))
            .unwrap_err()
            .message()
            .contains("at 'tags.1.member.tags.1.member.type'")
    );
}
