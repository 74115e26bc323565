//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`, `${?}`, `${$}` and
//! default values `${aws:username, 'anonymous'}`.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html>
//!
//! - Only policies with `"Version": "2012-10-17"` substitute variables; older or missing versions
//!   treat `${...}` as literal text.
//! - Variables are substituted in `Resource`/`NotResource` and in the values of the string, ARN
//!   and `Bool` condition operators; nowhere else.
//! - A variable whose key is not in the request context (and has no default) cannot be resolved;
//!   AWS says this "might cause the entire statement to be invalid", so the element that holds it
//!   never matches (see [`crate::evaluate`] for how that plays out).

use crate::matching::Pattern;
use crate::request::Env;
use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Policy text: in patterns, `*` and `?` are wildcards.
    Text(String),
    /// `${key}` or `${key, 'default'}`; the key lower-cased (key names are case-insensitive).
    Var {
        key: String,
        default: Option<String>,
    },
    /// `${*}`, `${?}`, `${$}`: a literal character.
    Char(char),
}

/// A policy string that may contain variables, compiled once when the policy is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    raw: String,
    parts: Vec<Part>,
    /// Set when no part depends on the request: the string and pattern are computed once.
    fixed: Option<(String, Pattern)>,
}

impl Template {
    /// Compile `raw`; with `variables` false (an old policy language version) it is all text.
    pub(crate) fn parse(raw: &str, variables: bool) -> Template {
        let parts = if variables {
            split(raw)
        } else {
            vec![Part::Text(raw.to_owned())]
        };
        let mut t = Template {
            raw: raw.to_owned(),
            parts,
            fixed: None,
        };
        if !t.parts.iter().any(|p| matches!(p, Part::Var { .. })) {
            let none = |_: &str| -> Option<String> { None };
            if let (Some(s), Some(p)) = (t.build_string(&none), t.build_pattern(&none)) {
                t.fixed = Some((s, p));
            }
        }
        t
    }

    /// The value with variables substituted, or `None` if a variable cannot be resolved.
    pub(crate) fn string<'a>(&'a self, env: &Env<'_>) -> Option<Cow<'a, str>> {
        match &self.fixed {
            Some((s, _)) => Some(Cow::Borrowed(s)),
            None => self.build_string(&|k| env.single(k)).map(Cow::Owned),
        }
    }

    /// The wildcard pattern with variables substituted (their values are literal text), or
    /// `None` if a variable cannot be resolved.
    pub(crate) fn pattern<'a>(&'a self, env: &Env<'_>) -> Option<Cow<'a, Pattern>> {
        match &self.fixed {
            Some((_, p)) => Some(Cow::Borrowed(p)),
            None => self.build_pattern(&|k| env.single(k)).map(Cow::Owned),
        }
    }

    fn resolve(
        key: &str,
        default: &Option<String>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        lookup(key).or_else(|| default.clone())
    }

    fn build_string(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        let mut out = String::with_capacity(self.raw.len());
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Char(c) => out.push(*c),
                Part::Var { key, default } => out.push_str(&Self::resolve(key, default, lookup)?),
            }
        }
        Some(out)
    }

    fn build_pattern(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Option<Pattern> {
        let mut out = Pattern::default();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_wild(t),
                Part::Char(c) => out.push_literal(c.encode_utf8(&mut [0; 4])),
                Part::Var { key, default } => {
                    out.push_literal(&Self::resolve(key, default, lookup)?)
                }
            }
        }
        Some(out)
    }
}

/// Split text into literal runs and `${...}` variables. An unterminated `${` is text.
fn split(raw: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let inner = &rest[start + 2..start + 2 + len];
        let Some(part) = variable(inner) else {
            // Not a variable (e.g. `${}`): keep the characters as text, continue after `${`.
            text.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        };
        text.push_str(&rest[..start]);
        if !text.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut text)));
        }
        parts.push(part);
        rest = &rest[start + 2 + len + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

/// The inside of `${...}`.
fn variable(inner: &str) -> Option<Part> {
    match inner {
        "*" => return Some(Part::Char('*')),
        "?" => return Some(Part::Char('?')),
        "$" => return Some(Part::Char('$')),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let d = default.trim();
            let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'');
            if !quoted {
                return None;
            }
            (key.trim(), Some(d[1..d.len() - 1].to_owned()))
        }
        None => (inner.trim(), None),
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some(Part::Var {
        key: key.to_ascii_lowercase(),
        default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_variables_and_specials() {
        assert_eq!(
            split("a/${aws:username}/${*}${?}${$}"),
            vec![
                Part::Text("a/".into()),
                Part::Var {
                    key: "aws:username".into(),
                    default: None
                },
                Part::Text("/".into()),
                Part::Char('*'),
                Part::Char('?'),
                Part::Char('$'),
            ]
        );
        assert_eq!(
            split("${aws:userid, 'anonymous'}"),
            vec![Part::Var {
                key: "aws:userid".into(),
                default: Some("anonymous".into())
            }]
        );
        assert_eq!(
            split("${unterminated"),
            vec![Part::Text("${unterminated".into())]
        );
        assert_eq!(split("${}x"), vec![Part::Text("${}x".into())]);
    }

    #[test]
    fn old_versions_keep_text() {
        let t = Template::parse("${aws:username}", false);
        assert_eq!(t.parts, vec![Part::Text("${aws:username}".into())]);
        assert!(t.fixed.is_some());
    }
}
