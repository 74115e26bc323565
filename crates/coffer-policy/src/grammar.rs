//! The policy grammar.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>

use serde_json::{Map, Value};

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Which check found it (`SYNTAX_CHECKING`).
    pub check: &'static str,
    pub message: String,
}

const SYNTAX: &str = "SYNTAX_CHECKING";
const VERSIONS: &[&str] = &["2012-10-17", "2008-10-17"];
const TOP_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_KEYS: &[&str] = &["AWS", "Service", "Federated", "CanonicalUser"];

pub(crate) fn syntax_problem(message: String) -> Problem {
    problem(message)
}

fn problem(message: impl Into<String>) -> Problem {
    Problem {
        check: SYNTAX,
        message: message.into(),
    }
}

/// A string or a non-empty list of strings.
fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn check_action(a: &str) -> bool {
    a == "*"
        || a.split_once(':').is_some_and(|(service, action)| {
            !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !action.is_empty()
                && action
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
        })
}

fn check_principal(key: &str, v: &Value, out: &mut Vec<Problem>) {
    match v {
        Value::String(s) if s == "*" => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                if !PRINCIPAL_KEYS.contains(&k.as_str()) {
                    out.push(problem(format!("{key} has an unsupported type {k:?}.")));
                } else if strings(val).is_none() {
                    out.push(problem(format!(
                        "{key}.{k} must be a string or a list of strings."
                    )));
                }
            }
        }
        _ => out.push(problem(format!(
            "{key} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}."
        ))),
    }
}

fn check_statement(i: usize, s: &Map<String, Value>, out: &mut Vec<Problem>) {
    let at = format!("Statement {}", i + 1);
    for k in s.keys() {
        if !STATEMENT_KEYS.contains(&k.as_str()) {
            out.push(problem(format!("{at} has an unknown element {k:?}.")));
        }
    }
    if let Some(sid) = s.get("Sid")
        && !sid.is_string()
    {
        out.push(problem(format!("{at}: Sid must be a string.")));
    }
    match s.get("Effect").and_then(Value::as_str) {
        Some("Allow" | "Deny") => {}
        _ => out.push(problem(format!(
            "{at}: Effect must be \"Allow\" or \"Deny\"."
        ))),
    }
    let one_of =
        |a: &str, b: &str, out: &mut Vec<Problem>, required: bool| match (s.get(a), s.get(b)) {
            (Some(_), Some(_)) => out.push(problem(format!("{at} has both {a} and {b}."))),
            (None, None) if required => out.push(problem(format!("{at} is missing {a} (or {b})."))),
            _ => {}
        };
    one_of("Action", "NotAction", out, true);
    one_of("Resource", "NotResource", out, false);
    one_of("Principal", "NotPrincipal", out, false);
    for key in ["Action", "NotAction"] {
        if let Some(v) = s.get(key) {
            match strings(v) {
                Some(actions) => {
                    for a in actions.into_iter().filter(|a| !check_action(a)) {
                        out.push(problem(format!(
                            "{at}: {a:?} is not a valid action (service:Action)."
                        )));
                    }
                }
                None => out.push(problem(format!(
                    "{at}: {key} must be a string or a list of strings."
                ))),
            }
        }
    }
    for key in ["Resource", "NotResource"] {
        if let Some(v) = s.get(key)
            && strings(v).is_none()
        {
            out.push(problem(format!(
                "{at}: {key} must be a string or a list of strings."
            )));
        }
    }
    for key in ["Principal", "NotPrincipal"] {
        if let Some(v) = s.get(key) {
            check_principal(&format!("{at}: {key}"), v, out);
        }
    }
    if let Some(c) = s.get("Condition") {
        let ok = c.as_object().is_some_and(|ops| {
            ops.values().all(|keys| {
                keys.as_object()
                    .is_some_and(|m| m.values().all(|v| !v.is_object()))
            })
        });
        if !ok {
            out.push(problem(format!(
                "{at}: Condition must map operators to {{key: value or values}}."
            )));
        } else if let Err(e) = crate::conditions::parse_block(c, true) {
            // Operators and values IAM would refuse: an unknown operator, a date that is not
            // a date, ... (the same reading `Policy::parse` does, so the two always agree).
            out.push(problem(format!("{at}: {e}")));
        }
    }
}

/// Check a policy document. `Err` if it is not JSON at all; otherwise every problem found (an
/// empty list means the document is well formed).
pub fn check(text: &str) -> Result<Vec<Problem>, serde_json::Error> {
    let doc: Value = serde_json::from_str(text)?;
    let mut out = Vec::new();
    let Some(top) = doc.as_object() else {
        out.push(problem("A policy must be a JSON object."));
        return Ok(out);
    };
    for k in top.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            out.push(problem(format!("The policy has an unknown element {k:?}.")));
        }
    }
    if let Some(v) = top.get("Version")
        && !v.as_str().is_some_and(|v| VERSIONS.contains(&v))
    {
        out.push(problem(
            "Version must be \"2012-10-17\" (or the older \"2008-10-17\").",
        ));
    }
    match top.get("Statement") {
        Some(Value::Object(s)) => check_statement(0, s, &mut out),
        Some(Value::Array(list)) if !list.is_empty() => {
            for (i, s) in list.iter().enumerate() {
                match s.as_object() {
                    Some(s) => check_statement(i, s, &mut out),
                    None => out.push(problem(format!("Statement {} must be an object.", i + 1))),
                }
            }
        }
        _ => out.push(problem(
            "The policy must have a Statement: an object or a non-empty list of objects.",
        )),
    }
    Ok(out)
}

/// True if some Allow statement lets anyone in: `Principal` `"*"` or `{"AWS": "*"}`, or
/// `NotPrincipal`, without a condition narrowing it.
pub fn is_public(text: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    statements.into_iter().any(|s| {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let unconditioned = s.get("Condition").is_none();
        let everyone = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(m)) => m
                .get("AWS")
                .and_then(strings)
                .is_some_and(|v| v.contains(&"*")),
            _ => s.get("NotPrincipal").is_some(),
        };
        allow && unconditioned && everyone
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SEED: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/CrossAccountReader"},
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": "*"
        }]
    }"#;

    #[test]
    fn the_seed_policy_is_well_formed_and_not_public() {
        assert_eq!(check(SEED).unwrap(), vec![]);
        assert!(!is_public(SEED));
    }

    #[test]
    fn problems_are_all_reported() {
        let p = check(r#"{"Version":"2013-01-01","Statement":[{"Effect":"Permit","Action":"nope","Oops":1}]}"#)
            .unwrap();
        let text: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(p.len(), 4, "{text:?}");
        assert!(text.iter().any(|m| m.contains("Version")));
        assert!(text.iter().any(|m| m.contains("Effect")));
        assert!(text.iter().any(|m| m.contains("\"nope\"")));
        assert!(text.iter().any(|m| m.contains("Oops")));
        assert!(check("not json").is_err());
        assert_eq!(check("[]").unwrap().len(), 1);
        assert_eq!(check(r#"{"Statement":[]}"#).unwrap().len(), 1);
    }

    #[test]
    fn public_means_everyone_without_condition() {
        let public =
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*"}}"#;
        assert!(is_public(public));
        let aws_star = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"*"}}"#;
        assert!(is_public(aws_star));
        let conditioned = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}}}"#;
        assert!(!is_public(conditioned));
        let deny = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}"#;
        assert!(!is_public(deny));
    }
}
