//! Loading a trimmed botocore model (see `scripts/trim-models.py`) into compact structs.
//!
//! The JSON is deserialized straight into private `Raw*` types (no `serde_json::Value` tree),
//! then resolved: shape names become indices into one `Vec<Shape>`, patterns are compiled, and
//! per-shape facts the validator needs on every request (does this subtree hold a secret?) are
//! computed once.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::pattern::Pattern;

/// Index into [`Model::shapes`].
pub(super) type ShapeId = usize;

/// The resolved model of one service.
#[derive(Debug)]
pub(super) struct Model {
    pub protocol: Box<str>,
    pub api_version: Box<str>,
    pub target_prefix: Option<Box<str>>,
    pub json_version: Option<Box<str>>,
    pub xml_namespace: Option<Box<str>>,
    pub operations: HashMap<Box<str>, Operation>,
    pub shapes: Vec<Shape>,
}

#[derive(Debug)]
pub(super) struct Operation {
    pub name: Box<str>,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// Query protocol: the element wrapping the output (`AssumeRoleResult`).
    pub result_wrapper: Option<Box<str>>,
    pub errors: Box<[ShapeId]>,
}

#[derive(Debug)]
pub(super) struct Shape {
    pub name: Box<str>,
    pub kind: Kind,
    /// `"sensitive": true` on the shape itself.
    pub sensitive: bool,
    /// A value of this shape must never be echoed in a message: the shape, or some shape
    /// reachable from it, is sensitive or a blob.
    pub redact: bool,
    /// `min`/`max`: a length for strings, blobs, lists and maps; a value for numbers.
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<Pattern>,
    pub enum_values: Option<Box<[Box<str>]>>,
    /// Error shapes: `error.code`, `error.httpStatusCode`, `error.senderFault`.
    pub error: Option<ErrorTrait>,
}

#[derive(Debug, Clone)]
pub(super) struct ErrorTrait {
    pub code: Option<Box<str>>,
    pub http_status: Option<u16>,
    pub sender_fault: bool,
}

#[derive(Debug)]
pub(super) enum Kind {
    String,
    Blob,
    Boolean,
    Integer,
    Long,
    Float,
    Double,
    Timestamp,
    Structure {
        /// In model declaration order.
        members: Box<[Member]>,
    },
    List {
        member: ShapeId,
        /// Query protocol element name (`member` unless overridden).
        member_name: Option<Box<str>>,
        flattened: bool,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        key_name: Option<Box<str>>,
        value_name: Option<Box<str>>,
        flattened: bool,
    },
}

#[derive(Debug)]
pub(super) struct Member {
    /// The wire name in awsJson documents (`KeyId`).
    pub name: Box<str>,
    /// The name used in validation messages: first letter lower-cased (`keyId`).
    pub path_name: Box<str>,
    /// Query protocol parameter name when it differs from `name`.
    pub location_name: Option<Box<str>>,
    pub flattened: bool,
    pub shape: ShapeId,
    pub required: bool,
}

// ---------------------------------------------------------------------------------------------
// Raw serde types, mirroring the trimmed JSON. Unknown keys are ignored.

#[derive(Deserialize)]
struct RawModel {
    metadata: RawMetadata,
    operations: BTreeMap<String, RawOperation>,
    shapes: BTreeMap<String, RawShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    protocol: String,
    api_version: String,
    target_prefix: Option<String>,
    json_version: Option<String>,
    xml_namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    name: String,
    input: Option<RawRef>,
    output: Option<RawRef>,
    #[serde(default)]
    errors: Vec<RawRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    shape: String,
    location_name: Option<String>,
    #[serde(default)]
    flattened: bool,
    result_wrapper: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: OrderedMembers,
    #[serde(default)]
    required: Vec<String>,
    min: Option<serde_json::Number>,
    max: Option<serde_json::Number>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    #[serde(default)]
    sensitive: bool,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    #[serde(default)]
    flattened: bool,
    error: Option<RawErrorTrait>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawErrorTrait {
    code: Option<String>,
    http_status_code: Option<u16>,
    #[serde(default)]
    sender_fault: bool,
}

/// A structure's `members` object, keeping document order (a `BTreeMap` would sort it, and
/// serde_json here is built without `preserve_order`).
#[derive(Default)]
struct OrderedMembers(Vec<(String, RawRef)>);

impl<'de> Deserialize<'de> for OrderedMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a members object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMembers, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(entry) = map.next_entry::<String, RawRef>()? {
                    out.push(entry);
                }
                Ok(OrderedMembers(out))
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------------------------

/// Shape names to their indices in [`Model::shapes`].
type Index<'a> = HashMap<&'a str, ShapeId>;

fn resolve(index: &Index<'_>, context: &str, name: &str) -> Result<ShapeId, String> {
    index
        .get(name)
        .copied()
        .ok_or_else(|| format!("{context}: unknown shape {name}"))
}

impl Model {
    /// Parses and resolves a trimmed model. Errors name the offending shape.
    pub(super) fn from_json(json: &str) -> Result<Model, String> {
        let raw: RawModel = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let index: Index<'_> = raw
            .shapes
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        // The same pattern text recurs across shapes; compile it once.
        let mut patterns: HashMap<&str, Pattern> = HashMap::new();
        let mut shapes = Vec::with_capacity(raw.shapes.len());
        for (name, s) in &raw.shapes {
            shapes.push(shape(&index, &mut patterns, name, s)?);
        }
        propagate_redaction(&mut shapes);
        let operations = operations(&index, &raw.operations)?;
        let m = raw.metadata;
        Ok(Model {
            protocol: m.protocol.into(),
            api_version: m.api_version.into(),
            target_prefix: m.target_prefix.map(Into::into),
            json_version: m.json_version.map(Into::into),
            xml_namespace: m.xml_namespace.map(Into::into),
            operations,
            shapes,
        })
    }
}

/// One shape, its references resolved and its pattern compiled (once per pattern text).
fn shape<'a>(
    index: &Index<'_>,
    patterns: &mut HashMap<&'a str, Pattern>,
    name: &str,
    s: &'a RawShape,
) -> Result<Shape, String> {
    let kind = kind(index, name, s)?;
    let pattern = s.pattern.as_deref().map(|p| {
        patterns
            .entry(p)
            .or_insert_with(|| Pattern::compile(p))
            .clone()
    });
    Ok(Shape {
        name: name.into(),
        redact: s.sensitive || matches!(kind, Kind::Blob),
        kind,
        sensitive: s.sensitive,
        min: s.min.as_ref().map(number_bound),
        max: s.max.as_ref().map(number_bound),
        pattern,
        enum_values: s
            .enum_values
            .as_ref()
            .map(|v| v.iter().map(|e| e.as_str().into()).collect()),
        error: s.error.as_ref().map(|e| ErrorTrait {
            code: e.code.as_deref().map(Into::into),
            http_status: e.http_status_code,
            sender_fault: e.sender_fault,
        }),
    })
}

/// A shape's type, with member, element, key and value shapes resolved to indices.
fn kind(index: &Index<'_>, name: &str, s: &RawShape) -> Result<Kind, String> {
    let resolve = |context: &str, shape: &str| resolve(index, context, shape);
    Ok(match s.kind.as_str() {
        "string" => Kind::String,
        "blob" => Kind::Blob,
        "boolean" => Kind::Boolean,
        "integer" => Kind::Integer,
        "long" => Kind::Long,
        "float" => Kind::Float,
        "double" => Kind::Double,
        "timestamp" => Kind::Timestamp,
        "structure" => {
            let mut members = Vec::with_capacity(s.members.0.len());
            for (member_name, r) in &s.members.0 {
                members.push(Member {
                    path_name: lower_first(member_name).into(),
                    required: s.required.iter().any(|req| req == member_name),
                    location_name: r.location_name.as_deref().map(Into::into),
                    flattened: r.flattened,
                    shape: resolve(name, &r.shape)?,
                    name: member_name.as_str().into(),
                });
            }
            Kind::Structure {
                members: members.into(),
            }
        }
        "list" => {
            let member = s
                .member
                .as_ref()
                .ok_or(format!("{name}: list without member"))?;
            Kind::List {
                member: resolve(name, &member.shape)?,
                member_name: member.location_name.as_deref().map(Into::into),
                flattened: s.flattened,
            }
        }
        "map" => {
            let (Some(key), Some(value)) = (&s.key, &s.value) else {
                return Err(format!("{name}: map without key/value"));
            };
            Kind::Map {
                key: resolve(name, &key.shape)?,
                value: resolve(name, &value.shape)?,
                key_name: key.location_name.as_deref().map(Into::into),
                value_name: value.location_name.as_deref().map(Into::into),
                flattened: s.flattened,
            }
        }
        other => return Err(format!("{name}: unsupported shape type {other}")),
    })
}

/// The operations, their input, output and error shapes resolved.
fn operations(
    index: &Index<'_>,
    raw: &BTreeMap<String, RawOperation>,
) -> Result<HashMap<Box<str>, Operation>, String> {
    let resolve = |context: &str, shape: &str| resolve(index, context, shape);
    let mut operations = HashMap::with_capacity(raw.len());
    for (name, op) in raw {
        let errors = op
            .errors
            .iter()
            .map(|e| resolve(name, &e.shape))
            .collect::<Result<Vec<_>, _>>()?;
        let operation = Operation {
            name: op.name.as_str().into(),
            input: op
                .input
                .as_ref()
                .map(|r| resolve(name, &r.shape))
                .transpose()?,
            output: op
                .output
                .as_ref()
                .map(|r| resolve(name, &r.shape))
                .transpose()?,
            result_wrapper: op
                .output
                .as_ref()
                .and_then(|r| r.result_wrapper.as_deref())
                .map(Into::into),
            errors: errors.into(),
        };
        operations.insert(name.as_str().into(), operation);
    }
    Ok(operations)
}

/// `KeyId` -> `keyId`: how Coral names members in validation messages.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Model bounds are integers; a fractional one (none today) is rounded towards zero.
fn number_bound(n: &serde_json::Number) -> i64 {
    n.as_i64()
        .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
        // `as` saturates for floats, which is what we want for a bound.
        .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64)
}

/// Marks every shape from which a sensitive shape or a blob is reachable. Shapes can be
/// recursive, so iterate to a fixpoint instead of recursing.
fn propagate_redaction(shapes: &mut [Shape]) {
    loop {
        let mut changed = false;
        for i in 0..shapes.len() {
            if shapes[i].redact {
                continue;
            }
            let child_redacts = match &shapes[i].kind {
                Kind::Structure { members } => members.iter().any(|m| shapes[m.shape].redact),
                Kind::List { member, .. } => shapes[*member].redact,
                Kind::Map { key, value, .. } => shapes[*key].redact || shapes[*value].redact,
                _ => false,
            };
            if child_redacts {
                shapes[i].redact = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}
