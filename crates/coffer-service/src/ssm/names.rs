//! Parameter names, ARNs, selectors, paths and labels.
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-labels.html>

use super::SsmError;
use crate::RequestContext;
use coffer_store::parameter_key;

/// A hierarchy has at most this many levels, the parameter's own name included.
pub const MAX_LEVELS: usize = 15;
/// The longest name, counted with the ARN that precedes it.
pub const MAX_ARN_LEN: usize = 1011;

/// AWS's answer to a malformed name: the rule it most often is.
pub const BAD_NAME: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

/// GetParametersByPath's and the Path filter's answer to a malformed path.
pub const BAD_PATH: &str = "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.";

/// A malformed `name:selector`.
pub const BAD_SELECTOR: &str = "Invalid parameter name. Please use correct syntax for referencing a version/label  <name>:<version/label>";

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// The parameter ARN for a name in the caller's account and region.
pub fn arn(ctx: &RequestContext, name: &str) -> String {
    arn_in(ctx.region(), ctx.account(), name)
}

pub fn arn_in(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{account}:parameter/{}",
        parameter_key(name)
    )
}

/// Check a name for PutParameter and return it as stored: trimmed of surrounding spaces (AWS
/// removes them), every rule of the naming constraints applied.
pub fn new_name(ctx: &RequestContext, raw: &str) -> Result<String, SsmError> {
    let name = raw.trim_matches(' ');
    let invalid = || SsmError::Validation(BAD_NAME.to_owned());
    if name.is_empty() || !name.chars().all(name_char) {
        return Err(invalid());
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(SsmError::Validation(
            "Parameter name must be a fully qualified name.".to_owned(),
        ));
    }
    let key = parameter_key(name);
    let levels: Vec<&str> = key.split('/').collect();
    if levels.iter().any(|l| l.is_empty()) {
        return Err(invalid());
    }
    let lower = key.to_ascii_lowercase();
    if lower.starts_with("aws") || lower.starts_with("ssm") {
        let is_path = levels.len() > 1;
        if is_path && lower.starts_with("aws") {
            return Err(SsmError::AccessDenied(format!(
                "No access to reserved parameter name: {name}."
            )));
        }
        return Err(SsmError::Validation(if is_path {
            BAD_NAME.replacen("\"aws\" or \"ssm\"", "\"ssm\"", 1)
        } else {
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive)."
                .to_owned()
        }));
    }
    if levels.len() > MAX_LEVELS {
        return Err(SsmError::HierarchyLevelLimitExceeded(format!(
            "A hierarchy can have a maximum of {MAX_LEVELS} levels. For more information, see Requirements and constraints for parameter names in the AWS Systems Manager User Guide."
        )));
    }
    if arn(ctx, name).len() > MAX_ARN_LEN {
        return Err(SsmError::Validation(format!(
            "Parameter name is too long: a name, counted with the ARN that precedes it, can have at most {MAX_ARN_LEN} characters."
        )));
    }
    Ok(name.to_owned())
}

/// What follows `name:` in a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Version(i64),
    Label(String),
}

impl Selector {
    /// As AWS echoes it in `Parameter.Selector`.
    pub fn text(&self) -> String {
        match self {
            Self::Version(v) => format!(":{v}"),
            Self::Label(l) => format!(":{l}"),
        }
    }
}

/// A parameter named in a read: by name or ARN, with an optional selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The account and region that own the parameter: the caller's for a name, the ARN's for an
    /// ARN (another account's parameter is read by its full ARN when it is shared).
    pub account: String,
    pub region: String,
    /// The store key.
    pub key: String,
    /// The name as written, without selector (for messages).
    pub name: String,
    /// The name to answer with: as requested when the request gave a name (`/db` for a
    /// parameter created as `db`), `None` for an ARN (the parameter's own name is answered).
    pub requested: Option<String>,
    pub selector: Option<Selector>,
}

impl Target {
    /// Whether the parameter belongs to another account than the caller's.
    pub fn foreign(&self, ctx: &RequestContext) -> bool {
        self.account != ctx.account()
    }
}

/// Why a name in a read does not name a parameter here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Bad `name:selector` syntax.
    BadSelector,
    /// A name PutParameter would refuse (`a/b`, `/a//b`, `/a b`): AWS's ValidationException,
    /// never a silent resolution to another parameter.
    Invalid(String),
    /// Not a name that can exist in the caller's account and region.
    NotFound,
}

impl Unresolved {
    pub fn into_error(self) -> SsmError {
        match self {
            Self::BadSelector => SsmError::Validation(BAD_SELECTOR.to_owned()),
            Self::Invalid(m) => SsmError::Validation(m),
            Self::NotFound => SsmError::ParameterNotFound(String::new()),
        }
    }
}

/// The shape rules of [`new_name`] that hold for every name, reads included: the characters,
/// a leading `/` for a path, no empty level. (The reserved `aws`/`ssm` prefixes are not checked:
/// AWS's public parameters live under `/aws/`.)
fn check_shape(name: &str) -> Result<(), Unresolved> {
    if name.is_empty() || !name.chars().all(name_char) {
        return Err(Unresolved::Invalid(BAD_NAME.to_owned()));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(Unresolved::Invalid(
            "Parameter name must be a fully qualified name.".to_owned(),
        ));
    }
    if parameter_key(name).split('/').any(str::is_empty) {
        return Err(Unresolved::Invalid(BAD_NAME.to_owned()));
    }
    Ok(())
}

/// Resolve a name, `name:selector`, ARN or `ARN:selector`. A name is the caller's account and
/// region's; an ARN may name another account's parameter in the caller's region (shared
/// parameters are read by ARN; whether the caller may is for authorisation to decide).
pub fn target(ctx: &RequestContext, raw: &str) -> Result<Target, Unresolved> {
    let raw = raw.trim_matches(' ');
    let (account, region, rest) = if raw.starts_with("arn:") {
        // arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR]
        let parts: Vec<&str> = raw.splitn(6, ':').collect();
        let [_, _, service, region, account, resource] = parts[..] else {
            return Err(Unresolved::NotFound);
        };
        if service != "ssm"
            || region != ctx.region()
            || coffer_types::AccountId::parse(account).is_err()
        {
            return Err(Unresolved::NotFound);
        }
        let name = resource
            .strip_prefix("parameter/")
            .ok_or(Unresolved::NotFound)?;
        (account.to_owned(), region.to_owned(), format!("/{name}"))
    } else {
        (
            ctx.account().to_owned(),
            ctx.region().to_owned(),
            raw.to_owned(),
        )
    };
    let (name, selector) = match rest.split_once(':') {
        None => (rest.as_str(), None),
        Some((name, sel)) => {
            if sel.is_empty() || sel.contains(':') {
                return Err(Unresolved::BadSelector);
            }
            let selector = if sel.bytes().all(|b| b.is_ascii_digit()) {
                Selector::Version(sel.parse().map_err(|_| Unresolved::NotFound)?)
            } else {
                Selector::Label(sel.to_owned())
            };
            (name, Some(selector))
        }
    };
    check_shape(name)?;
    let by_arn = raw.starts_with("arn:");
    Ok(Target {
        account,
        region,
        key: parameter_key(name).to_owned(),
        name: if by_arn {
            raw.rsplit_once(':')
                .filter(|_| selector.is_some())
                .map_or(raw, |(n, _)| n)
                .to_owned()
        } else {
            name.to_owned()
        },
        requested: (!by_arn).then(|| name.to_owned()),
        selector,
    })
}

/// [`target`] for operations that act on the caller's own parameters only (writes, labels,
/// tags, policies): another account's ARN names nothing here.
pub fn own_target(ctx: &RequestContext, raw: &str) -> Result<Target, Unresolved> {
    let t = target(ctx, raw)?;
    if t.foreign(ctx) {
        return Err(Unresolved::NotFound);
    }
    Ok(t)
}

/// A GetParametersByPath path as the parent key of its direct children (`/a/b/` → `a/b`,
/// `/` → ``).
pub fn path(raw: &str) -> Result<String, SsmError> {
    let invalid = || SsmError::Validation(BAD_PATH.to_owned());
    let Some(inner) = raw.strip_prefix('/') else {
        return Err(invalid());
    };
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if inner.is_empty() {
        return Ok(String::new());
    }
    if !inner.chars().all(name_char) || inner.split('/').any(str::is_empty) {
        return Err(invalid());
    }
    if inner.split('/').count() > MAX_LEVELS {
        return Err(SsmError::HierarchyLevelLimitExceeded(format!(
            "A hierarchy can have a maximum of {MAX_LEVELS} levels."
        )));
    }
    Ok(inner.to_owned())
}

/// Whether a label meets AWS's rules: letters, digits, `.`, `-`, `_`; not starting with a digit,
/// `aws` or `ssm` (any case); at most 100 characters.
pub fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Principal;
    use coffer_types::{AccountId, Region};

    fn ctx() -> RequestContext {
        RequestContext {
            principal: Principal {
                account_id: AccountId::parse("000000000000").unwrap(),
                arn: "arn:aws:iam::000000000000:root".into(),
                user_id: "000000000000".into(),
                access_key_id: "AKIA".into(),
                session: None,
                tags: Vec::new(),
            },
            region: Region::parse("us-east-1").unwrap(),
            request_id: "r".into(),
            now: 0,
            dev: false,
            source_ip: None,
            secure_transport: false,
            via_service: None,
        }
    }

    #[test]
    fn names_follow_the_constraints() {
        let c = ctx();
        assert_eq!(new_name(&c, " /a/b ").unwrap(), "/a/b");
        assert_eq!(new_name(&c, "plain.name-1_x").unwrap(), "plain.name-1_x");
        for bad in ["", "/a//b", "/a/b/", "a b", "/a/b c", "/é", "/a:b", "/a*"] {
            assert!(
                matches!(new_name(&c, bad), Err(SsmError::Validation(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            new_name(&c, "a/b"),
            Err(SsmError::Validation(m)) if m.contains("fully qualified")
        ));
        assert!(matches!(
            new_name(&c, "/AWS/x"),
            Err(SsmError::AccessDenied(m)) if m == "No access to reserved parameter name: /AWS/x."
        ));
        assert!(matches!(
            new_name(&c, "SsMthing"),
            Err(SsmError::Validation(m)) if m.starts_with("Parameter name: can't be prefixed")
        ));
        assert!(matches!(
            new_name(&c, "/ssm/x"),
            Err(SsmError::Validation(m)) if m.contains("prefixed with \"ssm\" (case")
        ));
        let deep15 = (1..=15).map(|i| format!("/l{i}")).collect::<String>();
        assert!(new_name(&c, &deep15).is_ok());
        assert!(matches!(
            new_name(&c, &format!("{deep15}/x")),
            Err(SsmError::HierarchyLevelLimitExceeded(_))
        ));
        let prefix = arn(&c, "/").len();
        let longest = format!("/{}", "a".repeat(MAX_ARN_LEN - prefix));
        assert!(new_name(&c, &longest).is_ok());
        assert!(new_name(&c, &format!("{longest}a")).is_err());
    }

    #[test]
    fn targets_accept_selectors_and_arns() {
        let c = ctx();
        let t = target(&c, "/a/b:3").unwrap();
        assert_eq!(
            (t.key.as_str(), t.selector),
            ("a/b", Some(Selector::Version(3)))
        );
        let t = target(&c, "name:prod").unwrap();
        assert_eq!(t.key, "name");
        assert_eq!(t.selector, Some(Selector::Label("prod".into())));
        let t = target(&c, "arn:aws:ssm:us-east-1:000000000000:parameter/a/b:prod").unwrap();
        assert_eq!(t.key, "a/b");
        assert_eq!(t.name, "arn:aws:ssm:us-east-1:000000000000:parameter/a/b");
        assert_eq!(t.selector, Some(Selector::Label("prod".into())));
        assert_eq!(target(&c, "/a:1:2"), Err(Unresolved::BadSelector));
        assert_eq!(target(&c, "/a:"), Err(Unresolved::BadSelector));
        assert_eq!(
            target(&c, "arn:aws:ssm:eu-west-1:000000000000:parameter/a"),
            Err(Unresolved::NotFound)
        );
        let shared = target(&c, "arn:aws:ssm:us-east-1:111111111111:parameter/a").unwrap();
        assert_eq!(
            (shared.account.as_str(), shared.key.as_str()),
            ("111111111111", "a")
        );
        assert_eq!(shared.requested, None);
        assert_eq!(
            own_target(&c, "arn:aws:ssm:us-east-1:111111111111:parameter/a"),
            Err(Unresolved::NotFound)
        );
        assert_eq!(target(&c, "/db").unwrap().requested.as_deref(), Some("/db"));
        assert_eq!(target(&c, "/db").unwrap().key, "db");
        for bad in [
            "a/b",
            "/a//b",
            "//a",
            "/a/",
            "/a b",
            "/a*",
            "arn:aws:ssm:us-east-1:000000000000:parameter//a",
        ] {
            assert!(
                matches!(target(&c, bad), Err(Unresolved::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn paths_and_labels() {
        assert_eq!(path("/").unwrap(), "");
        assert_eq!(path("/a/b/").unwrap(), "a/b");
        assert_eq!(path("/a/b").unwrap(), "a/b");
        assert!(path("a/b").is_err());
        assert!(path("/a//b").is_err());
        assert!(valid_label("prod"));
        assert!(valid_label("Release_1.2-rc"));
        for bad in ["1st", "aws-x", "SSMx", "a b", "", &"x".repeat(101)] {
            assert!(!valid_label(bad), "{bad}");
        }
    }
}
