//! The validator: walks an awsJson input document alongside its input shape, the way AWS's
//! request layer does before an operation runs. Type mismatches abort with a
//! `SerializationException`-style error (AWS fails to deserialize before it validates);
//! constraint violations are all collected into one `ValidationException` message.
//!
//! Message conventions (AWS's, from the Coral framework):
//! * `Value 'v' at 'path' failed to satisfy constraint: Member must ...`, joined with `; ` behind
//!   `N validation error(s) detected: `.
//! * A missing required member: `Value null at 'path' failed to satisfy constraint: Member must not
//!   be null`.
//! * Elements of a list are not reported one by one: when any element breaks its shape's
//!   constraints, the list gets one error, `Member must satisfy constraint: [<every constraint of
//!   the element shape>, Member must not be null]`. Maps likewise get `Map keys must satisfy
//!   constraint: [...]` / `Map value must satisfy constraint: [...]`.
//! * Nested paths: `tags.1.member.tagKey` for list elements (1-based), `name.N.value` for map
//!   values (N-th entry in key order; the key itself is not put in the path, it may be secret).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use zeroize::Zeroizing;

use super::ValidationError;
use super::shape::{Kind, Model, Shape, ShapeId};

/// Deeper documents are refused outright (no input shape in these models comes close).
pub(super) const MAX_DEPTH: usize = 64;

/// Base64 as AWS accepts it for blobs: standard alphabet, padding optional.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// One broken constraint; rendered with AWS's phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Violation {
    LengthMax(i64),
    LengthMin(i64),
    ValueMax(i64),
    ValueMin(i64),
    Pattern,
    Enum,
    NotNull,
}

fn phrase(shape: &Shape, v: Violation) -> String {
    match v {
        Violation::LengthMax(n) => format!("Member must have length less than or equal to {n}"),
        Violation::LengthMin(n) => format!("Member must have length greater than or equal to {n}"),
        Violation::ValueMax(n) => format!("Member must have value less than or equal to {n}"),
        Violation::ValueMin(n) => format!("Member must have value greater than or equal to {n}"),
        Violation::Pattern => format!(
            "Member must satisfy regular expression pattern: {}",
            shape.pattern.as_ref().map_or("", |p| &p.source)
        ),
        Violation::Enum => format!(
            "Member must satisfy enum value set: [{}]",
            shape.enum_values.as_deref().unwrap_or_default().join(", ")
        ),
        Violation::NotNull => "Member must not be null".to_owned(),
    }
}

/// Every constraint `shape` carries, as listed inside `[...]` for list elements and map
/// entries.
fn all_constraints(shape: &Shape, not_null: bool) -> String {
    let mut list = Vec::new();
    // Strings, blobs, lists and maps have a length; numbers a value.
    let sized = matches!(
        shape.kind,
        Kind::String | Kind::Blob | Kind::List { .. } | Kind::Map { .. }
    );
    if let Some(n) = shape.max {
        list.push(if sized {
            Violation::LengthMax(n)
        } else {
            Violation::ValueMax(n)
        });
    }
    if let Some(n) = shape.min {
        list.push(if sized {
            Violation::LengthMin(n)
        } else {
            Violation::ValueMin(n)
        });
    }
    if shape.pattern.is_some() {
        list.push(Violation::Pattern);
    }
    if shape.enum_values.is_some() {
        list.push(Violation::Enum);
    }
    if not_null {
        list.push(Violation::NotNull);
    }
    let phrases: Vec<String> = list.into_iter().map(|v| phrase(shape, v)).collect();
    format!("[{}]", phrases.join(", "))
}

pub(super) fn validate(model: &Model, root: ShapeId, input: &Value) -> Result<(), ValidationError> {
    let mut v = Validator {
        model,
        path: String::new(),
        errors: Vec::new(),
    };
    v.check(root, input, false, 0)?;
    match v.errors.len() {
        0 => Ok(()),
        count => Err(ValidationError::Constraint {
            count,
            message: format!(
                "{count} validation error{} detected: {}",
                if count == 1 { "" } else { "s" },
                v.errors.join("; ")
            ),
        }),
    }
}

struct Validator<'m> {
    model: &'m Model,
    /// Dotted path of the value being checked (`tags.1.member.tagKey`).
    path: String,
    errors: Vec<String>,
}

impl Validator<'_> {
    /// Checks `value` against shape `id`: its own constraints, then its children.
    /// `hide`: an enclosing shape is sensitive, so no value below it may be shown.
    fn check(
        &mut self,
        id: ShapeId,
        value: &Value,
        hide: bool,
        depth: usize,
    ) -> Result<(), ValidationError> {
        let shape = &self.model.shapes[id];
        for violation in own_violations(shape, value)? {
            let text = phrase(shape, violation);
            self.report(id, Some(value), hide, &text);
        }
        self.descend(id, value, hide || shape.sensitive, depth)
    }

    /// Validates what is inside a structure, list or map (already type-checked).
    fn descend(
        &mut self,
        id: ShapeId,
        value: &Value,
        hide: bool,
        depth: usize,
    ) -> Result<(), ValidationError> {
        if depth >= MAX_DEPTH {
            return Err(ValidationError::Serialization(
                "Document nesting exceeds the maximum depth.".to_owned(),
            ));
        }
        let model = self.model;
        match (&model.shapes[id].kind, value) {
            (Kind::Structure { members }, Value::Object(object)) => {
                for m in members.iter() {
                    let mark = self.enter(&m.path_name);
                    match object.get(&*m.name) {
                        // AWS's JSON services treat an explicit null like an absent member.
                        None | Some(Value::Null) => {
                            if m.required {
                                self.report(
                                    m.shape,
                                    None,
                                    hide,
                                    &phrase(&model.shapes[m.shape], Violation::NotNull),
                                );
                            }
                        }
                        Some(child) => self.check(m.shape, child, hide, depth + 1)?,
                    }
                    self.path.truncate(mark);
                }
            }
            (Kind::List { member, .. }, Value::Array(items)) => {
                let element = &model.shapes[*member];
                let mut broken = false;
                for item in items {
                    broken |= item.is_null() || !own_violations(element, item)?.is_empty();
                }
                if broken {
                    let text = format!(
                        "Member must satisfy constraint: {}",
                        all_constraints(element, true)
                    );
                    self.report(id, Some(value), hide, &text);
                }
                let hide = hide || element.sensitive;
                for (i, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        let mark = self.enter(&format!("{}.member", i + 1));
                        self.descend(*member, item, hide, depth + 1)?;
                        self.path.truncate(mark);
                    }
                }
            }
            (
                Kind::Map {
                    key,
                    value: value_id,
                    ..
                },
                Value::Object(entries),
            ) => {
                let (key_shape, value_shape) = (&model.shapes[*key], &model.shapes[*value_id]);
                let mut bad_keys = false;
                let mut bad_values = false;
                for (k, v) in entries {
                    bad_keys |= !string_violations(key_shape, k).is_empty();
                    bad_values |= v.is_null() || !own_violations(value_shape, v)?.is_empty();
                }
                if bad_keys {
                    let text = format!(
                        "Map keys must satisfy constraint: {}",
                        all_constraints(key_shape, false)
                    );
                    self.report(id, Some(value), hide, &text);
                }
                if bad_values {
                    let text = format!(
                        "Map value must satisfy constraint: {}",
                        all_constraints(value_shape, true)
                    );
                    self.report(id, Some(value), hide, &text);
                }
                let hide = hide || value_shape.sensitive;
                for (i, v) in entries.values().enumerate() {
                    if !v.is_null() {
                        let mark = self.enter(&format!("{}.value", i + 1));
                        self.descend(*value_id, v, hide, depth + 1)?;
                        self.path.truncate(mark);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Appends a path segment; returns the length to truncate back to.
    fn enter(&mut self, segment: &str) -> usize {
        let mark = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(segment);
        mark
    }

    /// Records `Value ... at 'path' failed to satisfy constraint: text`. `value` is `None` for
    /// null. Values of sensitive shapes, blobs, and anything containing them are left out.
    fn report(&mut self, id: ShapeId, value: Option<&Value>, hide: bool, text: &str) {
        let shown = match value {
            None => " null".to_owned(),
            Some(_) if hide || self.model.shapes[id].redact => String::new(),
            Some(v) => {
                let mut out = String::from(" '");
                render(self.model, id, v, &mut out, 0);
                out.push('\'');
                out
            }
        };
        self.errors.push(format!(
            "Value{shown} at '{}' failed to satisfy constraint: {text}",
            self.path
        ));
    }
}

/// Type-checks `value` against `shape` and returns the shape's own constraints it breaks
/// (children of structures, lists and maps are not looked at).
fn own_violations(shape: &Shape, value: &Value) -> Result<Vec<Violation>, ValidationError> {
    let mut out = Vec::new();
    match &shape.kind {
        Kind::String => match value {
            Value::String(s) => out = string_violations(shape, s),
            other => return Err(mismatch(other, "a String")),
        },
        Kind::Blob => match value {
            Value::String(s) => {
                // AWS limits a blob's decoded size. The decoded bytes may be a plaintext: wipe.
                let bytes = Zeroizing::new(BASE64.decode(s.as_bytes()).map_err(|_| {
                    ValidationError::Serialization(
                        "Base64 encoded value can not be converted to a Blob".to_owned(),
                    )
                })?);
                length_violations(shape, bytes.len(), &mut out);
            }
            other => return Err(mismatch(other, "a Blob")),
        },
        Kind::Boolean => {
            if !value.is_boolean() {
                return Err(mismatch(value, "a Boolean"));
            }
        }
        Kind::Integer => {
            let n = integer(
                value,
                i64::from(i32::MIN),
                i64::from(i32::MAX),
                "an Integer",
            )?;
            value_violations(shape, n, &mut out);
        }
        Kind::Long => {
            let n = integer(value, i64::MIN, i64::MAX, "a Long")?;
            value_violations(shape, n, &mut out);
        }
        Kind::Float | Kind::Double => match value.as_f64() {
            Some(f) => {
                if let Some(max) = shape.max.filter(|max| f > *max as f64) {
                    out.push(Violation::ValueMax(max));
                }
                if let Some(min) = shape.min.filter(|min| f < *min as f64) {
                    out.push(Violation::ValueMin(min));
                }
            }
            None => return Err(mismatch(value, "a Double")),
        },
        Kind::Timestamp => timestamp(value)?,
        Kind::Structure { .. } => {
            if !value.is_object() {
                return Err(mismatch(value, "a Structure"));
            }
        }
        Kind::List { .. } => match value {
            Value::Array(items) => length_violations(shape, items.len(), &mut out),
            other => return Err(mismatch(other, "a List")),
        },
        Kind::Map { .. } => match value {
            Value::Object(entries) => length_violations(shape, entries.len(), &mut out),
            other => return Err(mismatch(other, "a Map")),
        },
    }
    Ok(out)
}

/// Length (in UTF-16 code units, as Java's `String.length()` counts), pattern and enum.
fn string_violations(shape: &Shape, s: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    if shape.min.is_some() || shape.max.is_some() {
        length_violations(shape, s.encode_utf16().count(), &mut out);
    }
    if shape.pattern.as_ref().is_some_and(|p| !p.matches(s)) {
        out.push(Violation::Pattern);
    }
    let listed = |values: &[Box<str>]| values.iter().any(|e| **e == *s);
    if shape.enum_values.as_deref().is_some_and(|v| !listed(v)) {
        out.push(Violation::Enum);
    }
    out
}

fn length_violations(shape: &Shape, len: usize, out: &mut Vec<Violation>) {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    if let Some(max) = shape.max.filter(|max| len > *max) {
        out.push(Violation::LengthMax(max));
    }
    if let Some(min) = shape.min.filter(|min| len < *min) {
        out.push(Violation::LengthMin(min));
    }
}

fn value_violations(shape: &Shape, n: i64, out: &mut Vec<Violation>) {
    if let Some(max) = shape.max.filter(|max| n > *max) {
        out.push(Violation::ValueMax(max));
    }
    if let Some(min) = shape.min.filter(|min| n < *min) {
        out.push(Violation::ValueMin(min));
    }
}

/// A JSON integer within `[lo, hi]`; a float without fraction (`5.0`) is accepted as an integer.
fn integer(value: &Value, lo: i64, hi: i64, target: &str) -> Result<i64, ValidationError> {
    let n = match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= lo as f64 && *f <= hi as f64)
                .map(|f| f as i64)
        }),
        _ => None,
    };
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(mismatch(value, target)),
    }
}

/// awsJson timestamps are epoch seconds (integer or fractional). Strings are accepted leniently:
/// digits (with an optional fraction), or RFC 3339 / ISO 8601 (what the query protocol sends).
fn timestamp(value: &Value) -> Result<(), ValidationError> {
    let ok = match value {
        Value::Number(_) => true,
        Value::String(s) => {
            let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
            let numeric = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            (numeric(int) && numeric(frac))
                || time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .is_ok()
                || time::OffsetDateTime::parse(
                    s,
                    &time::format_description::well_known::Iso8601::DEFAULT,
                )
                .is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(mismatch(value, "a Timestamp"))
    }
}

/// A value-free description of a type mismatch, in Coral's words.
pub(super) fn mismatch(value: &Value, target: &str) -> ValidationError {
    let message = match value {
        Value::Object(_) => "Start of structure or map found where not expected.".to_owned(),
        Value::Array(_) => "Start of list found where not expected.".to_owned(),
        Value::String(_) => format!("STRING_VALUE can not be converted to {target}"),
        Value::Number(_) => format!("NUMBER_VALUE can not be converted to {target}"),
        Value::Bool(_) => format!("BOOLEAN_VALUE can not be converted to {target}"),
        Value::Null => format!("NULL_VALUE can not be converted to {target}"),
    };
    ValidationError::Serialization(message)
}

/// Renders a value as AWS (Java) prints it: strings as is, lists `[a, b]`, structures and maps
/// `{k=v, k2=v2}`. Only model members of structures are shown. Callers check redaction first.
fn render(model: &Model, id: ShapeId, value: &Value, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str("...");
        return;
    }
    let kind = &model.shapes[id].kind;
    match value {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match kind {
                    Kind::List { member, .. } => render(model, *member, item, out, depth + 1),
                    _ => out.push_str("..."),
                }
            }
            out.push(']');
        }
        Value::Object(object) => {
            out.push('{');
            let mut first = true;
            let mut sep = |out: &mut String| {
                if !std::mem::take(&mut first) {
                    out.push_str(", ");
                }
            };
            match kind {
                Kind::Structure { members } => {
                    for m in members.iter() {
                        if let Some(v) = object.get(&*m.name).filter(|v| !v.is_null()) {
                            sep(out);
                            out.push_str(&m.name);
                            out.push('=');
                            render(model, m.shape, v, out, depth + 1);
                        }
                    }
                }
                Kind::Map { value: vid, .. } => {
                    for (k, v) in object {
                        sep(out);
                        out.push_str(k);
                        out.push('=');
                        render(model, *vid, v, out, depth + 1);
                    }
                }
                _ => out.push_str("..."),
            }
            out.push('}');
        }
    }
}
