//! The `Condition` element: operators, `...IfExists`, `ForAllValues:`/`ForAnyValue:`.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html>
//!
//! The rules, as implemented here:
//! - Operators in a block, and keys under one operator, are ANDed (the caller ANDs clauses).
//! - Several policy values for one key are ORed; for a negated operator (`StringNotEquals`,
//!   `NotIpAddress`, ...) they are NORed: the key must match none of them.
//! - A key missing from the request makes a condition false, and a negated one true; except
//!   `...IfExists` (true when missing) and `Null` (which tests presence).
//! - `ForAnyValue:` is true if some request value matches (missing or empty key: false);
//!   `ForAllValues:` is true if every request value matches (missing or empty key: true). With a
//!   negated operator "matches" means "matches none of the policy values".
//! - A multivalued key under an operator without a set qualifier is read as `ForAnyValue:` for
//!   positive operators and as "no value matches" for negated ones, so that a negated operator
//!   is always the exact complement of its positive form when the key is present.
//! - Condition key names are case-insensitive; values are compared case-sensitively except by
//!   the `...IgnoreCase` operators and `Bool`.

use crate::matching::Pattern;
use crate::request::Env;
use crate::values::{self, Cidr};
use crate::variables::Template;
use serde_json::Value;
use std::borrow::Cow;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    StringIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// Every operator IAM documents, by its exact (case-sensitive) name, and whether it is negated.
const OPERATORS: &[(&str, Family, bool)] = &[
    ("StringEquals", Family::String, false),
    ("StringNotEquals", Family::String, true),
    ("StringEqualsIgnoreCase", Family::StringIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Family::StringIgnoreCase, true),
    ("StringLike", Family::StringLike, false),
    ("StringNotLike", Family::StringLike, true),
    ("NumericEquals", Family::Numeric(Cmp::Eq), false),
    ("NumericNotEquals", Family::Numeric(Cmp::Eq), true),
    ("NumericLessThan", Family::Numeric(Cmp::Lt), false),
    ("NumericLessThanEquals", Family::Numeric(Cmp::Le), false),
    ("NumericGreaterThan", Family::Numeric(Cmp::Gt), false),
    ("NumericGreaterThanEquals", Family::Numeric(Cmp::Ge), false),
    ("DateEquals", Family::Date(Cmp::Eq), false),
    ("DateNotEquals", Family::Date(Cmp::Eq), true),
    ("DateLessThan", Family::Date(Cmp::Lt), false),
    ("DateLessThanEquals", Family::Date(Cmp::Le), false),
    ("DateGreaterThan", Family::Date(Cmp::Gt), false),
    ("DateGreaterThanEquals", Family::Date(Cmp::Ge), false),
    ("Bool", Family::Bool, false),
    ("BinaryEquals", Family::Binary, false),
    ("IpAddress", Family::Ip, false),
    ("NotIpAddress", Family::Ip, true),
    ("ArnEquals", Family::Arn, false),
    ("ArnLike", Family::Arn, false),
    ("ArnNotEquals", Family::Arn, true),
    ("ArnNotLike", Family::Arn, true),
    ("Null", Family::Null, false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

/// The policy's values, read once for their operator.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// String, string-like, ARN and Bool operators: the only ones that take variables.
    Templates(Vec<Template>),
    Numbers(Vec<f64>),
    Dates(Vec<i128>),
    Ips(Vec<Cidr>),
    Bytes(Vec<Vec<u8>>),
    /// `Null`: `true` = the key must be absent, `false` = present.
    Null(Vec<bool>),
}

/// One `"Operator": {"key": values}` pair.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    family: Family,
    negated: bool,
    qualifier: Qualifier,
    if_exists: bool,
    /// Lower-cased: condition key names are case-insensitive.
    key: String,
    values: Values,
}

/// A condition value as text: JSON strings, numbers and booleans are all accepted (policies
/// write `"Bool": {"aws:SecureTransport": false}` and `"NumericLessThan": {"k": 10}`).
fn texts(v: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        v => one(v).map(|s| vec![s]),
    }
}

impl Condition {
    /// Read one operator/key/values triple. Errors are IAM's "invalid condition" refusals: an
    /// unknown operator, `NullIfExists`, or a value the operator cannot read.
    pub(crate) fn parse(
        operator: &str,
        key: &str,
        value: &Value,
        variables: bool,
    ) -> Result<Condition, String> {
        let (qualifier, rest) = if let Some(r) = operator.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, r)
        } else if let Some(r) = operator.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, r)
        } else {
            (Qualifier::None, operator)
        };
        let lookup = |name: &str| {
            OPERATORS
                .iter()
                .find(|(n, ..)| *n == name)
                .map(|(_, f, neg)| (*f, *neg))
        };
        let (family, negated, if_exists) = match lookup(rest) {
            Some((f, n)) => (f, n, false),
            None => match rest.strip_suffix("IfExists").and_then(lookup) {
                Some((Family::Null, _)) | None => {
                    return Err(format!("Invalid Condition type : {operator}."));
                }
                Some((f, n)) => (f, n, true),
            },
        };
        let raw = texts(value).ok_or_else(|| {
            format!("{operator}: the values of {key} must be strings, numbers or booleans.")
        })?;
        let bad = |what: &str, v: &str| format!("{operator}: {v:?} is not a valid {what}.");
        let values = match family {
            Family::String
            | Family::StringIgnoreCase
            | Family::StringLike
            | Family::Arn
            | Family::Bool => {
                Values::Templates(raw.iter().map(|v| Template::parse(v, variables)).collect())
            }
            Family::Numeric(_) => Values::Numbers(
                raw.iter()
                    .map(|v| values::number(v).ok_or_else(|| bad("number", v)))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Date(_) => Values::Dates(
                raw.iter()
                    .map(|v| values::date(v).ok_or_else(|| bad("date", v)))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Ip => Values::Ips(
                raw.iter()
                    .map(|v| Cidr::parse(v).ok_or_else(|| bad("IP address or CIDR range", v)))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Binary => Values::Bytes(
                raw.iter()
                    .map(|v| values::binary(v).ok_or_else(|| bad("base64 value", v)))
                    .collect::<Result<_, _>>()?,
            ),
            Family::Null => Values::Null(
                raw.iter()
                    .map(|v| values::boolean(v).ok_or_else(|| bad("boolean", v)))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Condition {
            family,
            negated,
            qualifier,
            if_exists,
            key: key.to_ascii_lowercase(),
            values,
        })
    }

    /// Whether the condition holds for the request.
    pub(crate) fn holds(&self, env: &Env<'_>) -> bool {
        let request = env.get(&self.key);
        if let Values::Null(wanted) = &self.values {
            // `"Null": {"k": "true"}` holds when k is absent.
            return wanted.iter().any(|absent| *absent != request.is_some());
        }
        let Some(request) = request else {
            if self.if_exists {
                return true;
            }
            return match self.qualifier {
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => false,
                Qualifier::None => self.negated,
            };
        };
        let Some(policy) = Resolved::new(self.family, &self.values, env) else {
            // An unresolvable variable invalidates the condition, negated or not.
            return false;
        };
        let positive = |v: &String| policy.any_match(self.family, v);
        match (self.qualifier, self.negated) {
            (Qualifier::None, false) | (Qualifier::ForAnyValue, false) => {
                request.iter().any(positive)
            }
            (Qualifier::None, true) => !request.iter().any(positive),
            (Qualifier::ForAnyValue, true) => request.iter().any(|v| !positive(v)),
            (Qualifier::ForAllValues, false) => request.iter().all(positive),
            (Qualifier::ForAllValues, true) => request.iter().all(|v| !positive(v)),
        }
    }
}

/// Policy values with variables substituted, ready to compare.
enum Resolved<'a> {
    Strings(Vec<Cow<'a, str>>),
    Patterns(Vec<Cow<'a, Pattern>>),
    Typed(&'a Values),
}

impl<'a> Resolved<'a> {
    fn new(family: Family, values: &'a Values, env: &Env<'_>) -> Option<Self> {
        match (family, values) {
            (Family::StringLike | Family::Arn, Values::Templates(ts)) => ts
                .iter()
                .map(|t| t.pattern(env))
                .collect::<Option<_>>()
                .map(Resolved::Patterns),
            (_, Values::Templates(ts)) => ts
                .iter()
                .map(|t| t.string(env))
                .collect::<Option<_>>()
                .map(Resolved::Strings),
            (_, v) => Some(Resolved::Typed(v)),
        }
    }

    /// Whether one request value matches any policy value (the positive form of the operator).
    fn any_match(&self, family: Family, v: &str) -> bool {
        match (family, self) {
            (Family::String, Resolved::Strings(ps)) => ps.iter().any(|p| p == v),
            (Family::StringIgnoreCase, Resolved::Strings(ps)) => {
                let v = v.to_lowercase();
                ps.iter().any(|p| p.to_lowercase() == v)
            }
            (Family::Bool, Resolved::Strings(ps)) => {
                values::boolean(v).is_some_and(|v| ps.iter().any(|p| values::boolean(p) == Some(v)))
            }
            (Family::StringLike, Resolved::Patterns(ps)) => ps.iter().any(|p| p.matches(v)),
            (Family::Arn, Resolved::Patterns(ps)) => ps.iter().any(|p| p.matches_arn(v)),
            (Family::Numeric(cmp), Resolved::Typed(Values::Numbers(ns))) => {
                values::number(v).is_some_and(|v| ns.iter().any(|n| cmp.holds(v, *n)))
            }
            (Family::Date(cmp), Resolved::Typed(Values::Dates(ds))) => {
                values::date(v).is_some_and(|v| ds.iter().any(|d| cmp.holds(v, *d)))
            }
            (Family::Ip, Resolved::Typed(Values::Ips(cs))) => v
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| cs.iter().any(|c| c.contains(ip))),
            (Family::Binary, Resolved::Typed(Values::Bytes(bs))) => {
                values::binary(v).is_some_and(|v| bs.contains(&v))
            }
            _ => false,
        }
    }
}

/// Read a whole `Condition` element: `{operator: {key: values}}`.
pub(crate) fn parse_block(block: &Value, variables: bool) -> Result<Vec<Condition>, String> {
    let Some(ops) = block.as_object() else {
        return Err("Condition must be an object.".to_owned());
    };
    let mut out = Vec::new();
    for (operator, keys) in ops {
        let Some(keys) = keys.as_object() else {
            return Err(format!("{operator} must map condition keys to values."));
        };
        for (key, value) in keys {
            out.push(Condition::parse(operator, key, value, variables)?);
        }
    }
    Ok(out)
}
