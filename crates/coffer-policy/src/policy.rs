//! A parsed policy: read once, evaluated many times, cheap to clone and share.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>

use crate::conditions::{self, Condition};
use crate::grammar::{self, Problem};
use crate::matching::Pattern;
use crate::principal::PrincipalSet;
use crate::request::Env;
use crate::variables::Template;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// Why a document is not a policy coffer can evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON at all.
    Json(String),
    /// JSON, but not a valid policy: every problem found, as [`crate::check`] reports them.
    Invalid(Vec<Problem>),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Json(e) => write!(f, "The policy is not valid JSON: {e}"),
            ParseError::Invalid(problems) => {
                let text: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                write!(f, "{}", text.join(" "))
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// An element that may be negated: `Action`/`NotAction`, `Resource`/`NotResource`,
/// `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Element<T> {
    pub(crate) negated: bool,
    pub(crate) items: T,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) principal: Option<Element<PrincipalSet>>,
    /// Matched case-insensitively.
    actions: Element<Vec<Pattern>>,
    /// `None` when the statement has neither `Resource` nor `NotResource`; see
    /// [`Statement::resource_matches`].
    resources: Option<Element<Vec<Template>>>,
    conditions: Vec<Condition>,
}

impl Statement {
    /// Whether the statement covers the request's action and resource and its conditions hold.
    /// `Principal` is the evaluator's business (it only counts in resource-based policies).
    pub(crate) fn applies(&self, env: &Env<'_>) -> bool {
        self.action_matches(env.request().action())
            && self.resource_matches(env)
            && self.conditions.iter().all(|c| c.holds(env))
    }

    /// Action names are case-insensitive: `SecretsManager:getsecretvalue` is the same action.
    /// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html>
    fn action_matches(&self, action: &str) -> bool {
        let any = self
            .actions
            .items
            .iter()
            .any(|p| p.matches_ignore_case(action));
        any != self.actions.negated
    }

    /// Resource ARNs are case-sensitive and compared segment by segment. A statement without a
    /// `Resource` element (possible in a resource-based policy, which is attached to the
    /// resource anyway) covers the resource it is attached to. A pattern whose variable cannot
    /// be resolved makes the element match nothing, for `NotResource` too.
    fn resource_matches(&self, env: &Env<'_>) -> bool {
        let Some(resources) = &self.resources else {
            return true;
        };
        let resource = env.request().resource();
        let mut any = false;
        for t in &resources.items {
            let Some(p) = t.pattern(env) else {
                return false;
            };
            any |= p.matches_arn(resource);
        }
        any != resources.negated
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Document {
    id: Option<String>,
    name: Option<String>,
    statements: Vec<Statement>,
}

/// A policy document ready for evaluation. Clones share the parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    doc: Arc<Document>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn element<T>(
    s: &Map<String, Value>,
    key: &str,
    not_key: &str,
    read: impl Fn(&Value) -> T,
) -> Option<Element<T>> {
    if let Some(v) = s.get(key) {
        Some(Element {
            negated: false,
            items: read(v),
        })
    } else {
        s.get(not_key).map(|v| Element {
            negated: true,
            items: read(v),
        })
    }
}

fn statement(s: &Map<String, Value>, variables: bool) -> Result<Statement, String> {
    let effect = match s.get("Effect").and_then(Value::as_str) {
        Some("Deny") => Effect::Deny,
        _ => Effect::Allow,
    };
    let actions = element(s, "Action", "NotAction", |v| {
        strings(v).iter().map(|a| Pattern::wild(a)).collect()
    })
    .ok_or("missing Action")?;
    let resources = element(s, "Resource", "NotResource", |v| {
        strings(v)
            .iter()
            .map(|r| Template::parse(r, variables))
            .collect()
    });
    let principal = element(s, "Principal", "NotPrincipal", PrincipalSet::from_json);
    let conditions = match s.get("Condition") {
        Some(c) => conditions::parse_block(c, variables)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

impl Policy {
    /// Parse and validate a policy document. Everything [`crate::check`] reports is an error,
    /// and so are conditions IAM would refuse (unknown operator, unreadable number, date, IP
    /// range or base64 value). Policy variables are substituted only under
    /// `"Version": "2012-10-17"`, as IAM does.
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        let problems = grammar::check(text).map_err(|e| ParseError::Json(e.to_string()))?;
        if !problems.is_empty() {
            return Err(ParseError::Invalid(problems));
        }
        let doc: Value = serde_json::from_str(text).map_err(|e| ParseError::Json(e.to_string()))?;
        let variables = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        let list: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
            None => Vec::new(),
        };
        let mut statements = Vec::with_capacity(list.len());
        for (i, s) in list.into_iter().enumerate() {
            let s = s
                .as_object()
                .ok_or_else(|| invalid(format!("Statement {} must be an object.", i + 1)))?;
            statements.push(
                statement(s, variables)
                    .map_err(|m| invalid(format!("Statement {}: {m}", i + 1)))?,
            );
        }
        Ok(Policy {
            doc: Arc::new(Document {
                id: doc.get("Id").and_then(Value::as_str).map(str::to_owned),
                name: None,
                statements,
            }),
        })
    }

    /// Label the policy (its ARN or name) for decisions and messages.
    pub fn named(mut self, name: impl Into<String>) -> Policy {
        Arc::make_mut(&mut self.doc).name = Some(name.into());
        self
    }

    /// The label given with [`Policy::named`].
    pub fn name(&self) -> Option<&str> {
        self.doc.name.as_deref()
    }

    /// The document's `Id` element.
    pub fn id(&self) -> Option<&str> {
        self.doc.id.as_deref()
    }

    /// How many statements the document has.
    pub fn statement_count(&self) -> usize {
        self.doc.statements.len()
    }

    /// The `Sid` of each statement, in order (`None` where there is none).
    pub fn sids(&self) -> impl Iterator<Item = Option<&str>> {
        self.doc.statements.iter().map(|s| s.sid.as_deref())
    }

    pub(crate) fn statements(&self) -> &[Statement] {
        &self.doc.statements
    }
}

fn invalid(message: String) -> ParseError {
    ParseError::Invalid(vec![grammar::syntax_problem(message)])
}

impl std::str::FromStr for Policy {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::parse(s)
    }
}
