//! The query protocol (STS, IAM): form parameters -> the awsJson-shaped document the validator
//! takes.
//!
//! Serialization rules, per
//! <https://smithy.io/2.0/aws/protocols/aws-query-protocol.html#query-key-resolution>:
//! structure members `Name` (or the member's `locationName`), nested with `.`; lists
//! `Name.member.N` (`Name.N` when flattened; an empty list is `Name=`); maps
//! `Name.entry.N.key` / `Name.entry.N.value` (`Name.N.key` when flattened). Indices are 1-based
//! and ordered numerically.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ValidationError;
use super::shape::{Kind, Model, ShapeId};
use super::validate::{MAX_DEPTH, mismatch};

/// The parameters as a tree of `.`-separated key segments.
#[derive(Default)]
struct Node<'a> {
    value: Option<&'a str>,
    children: HashMap<&'a str, Node<'a>>,
}

pub(super) fn to_json(
    model: &Model,
    root: Option<ShapeId>,
    params: &[(String, String)],
) -> Result<Value, ValidationError> {
    let Some(root) = root else {
        return Ok(Value::Object(Map::new()));
    };
    let mut tree = Node::default();
    for (key, value) in params {
        if key == "Action" || key == "Version" {
            continue;
        }
        let mut node = &mut tree;
        for (i, segment) in key.split('.').enumerate() {
            // A structure level costs at most three segments (`Name.member.N`).
            if i > 3 * MAX_DEPTH {
                return Err(too_deep());
            }
            node = node.children.entry(segment).or_default();
        }
        node.value = Some(value);
    }
    Ok(convert(model, root, &tree, false, 0)?.unwrap_or_else(|| Value::Object(Map::new())))
}

fn too_deep() -> ValidationError {
    ValidationError::Serialization("Document nesting exceeds the maximum depth.".to_owned())
}

/// Children keyed by a 1-based index, in index order; other keys are ignored.
fn indexed<'n, 'a>(node: &'n Node<'a>) -> Vec<&'n Node<'a>> {
    let mut items: Vec<(u32, &Node<'a>)> = node
        .children
        .iter()
        .filter_map(|(k, child)| {
            k.parse::<u32>()
                .ok()
                .filter(|i| *i >= 1)
                .map(|i| (i, child))
        })
        .collect();
    items.sort_unstable_by_key(|(i, _)| *i);
    items.into_iter().map(|(_, child)| child).collect()
}

/// Converts the parameters under `node` for shape `id`; `None` when nothing applies.
fn convert(
    model: &Model,
    id: ShapeId,
    node: &Node<'_>,
    flattened_member: bool,
    depth: usize,
) -> Result<Option<Value>, ValidationError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let scalar = |target: &str, parse: fn(&str) -> Option<Value>| {
        node.value
            .map(|text| parse(text).ok_or_else(|| mismatch(&Value::String(String::new()), target)))
            .transpose()
    };
    match &model.shapes[id].kind {
        Kind::String | Kind::Blob | Kind::Timestamp => {
            Ok(node.value.map(|v| Value::String(v.to_owned())))
        }
        Kind::Boolean => scalar("a Boolean", |t| match t {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        }),
        Kind::Integer | Kind::Long => {
            scalar("an Integer", |t| t.parse::<i64>().ok().map(Value::from))
        }
        Kind::Float | Kind::Double => scalar("a Double", |t| {
            t.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }),
        Kind::Structure { members } => {
            let mut object = Map::new();
            for m in members.iter() {
                let key = m.location_name.as_deref().unwrap_or(&m.name);
                let converted = match node.children.get(key) {
                    Some(child) => convert(model, m.shape, child, m.flattened, depth + 1)?,
                    None => None,
                };
                if let Some(v) = converted {
                    object.insert(m.name.to_string(), v);
                }
            }
            Ok(Some(Value::Object(object)))
        }
        Kind::List {
            member,
            member_name,
            flattened,
        } => {
            let elements = if *flattened || flattened_member {
                Some(node)
            } else {
                node.children
                    .get(member_name.as_deref().unwrap_or("member"))
            };
            let Some(elements) = elements else {
                // `Name=` with no elements is how the query protocol sends an empty list.
                return Ok((node.value == Some("")).then(|| Value::Array(Vec::new())));
            };
            let mut items = Vec::new();
            for element in indexed(elements) {
                items.push(
                    convert(model, *member, element, false, depth + 1)?.unwrap_or(Value::Null),
                );
            }
            Ok(Some(Value::Array(items)))
        }
        Kind::Map {
            value,
            key_name,
            value_name,
            flattened,
            ..
        } => {
            let entries = if *flattened || flattened_member {
                Some(node)
            } else {
                node.children.get("entry")
            };
            let Some(entries) = entries else {
                return Ok((node.value == Some("")).then(|| Value::Object(Map::new())));
            };
            let mut object = Map::new();
            for entry in indexed(entries) {
                let Some(key) = entry
                    .children
                    .get(key_name.as_deref().unwrap_or("key"))
                    .and_then(|k| k.value)
                else {
                    continue;
                };
                let v = match entry.children.get(value_name.as_deref().unwrap_or("value")) {
                    Some(v) => convert(model, *value, v, false, depth + 1)?.unwrap_or(Value::Null),
                    None => Value::Null,
                };
                object.insert(key.to_owned(), v);
            }
            Ok(Some(Value::Object(object)))
        }
    }
}
