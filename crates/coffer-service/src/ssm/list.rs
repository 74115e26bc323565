//! Listings: GetParametersByPath and DescribeParameters.
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ParameterStringFilter.html>
//!
//! Every page is an indexed range scan in key order resumed after the last key examined: a path
//! is a key prefix (recursive) or a parent (one level), a single Name or Path filter narrows
//! DescribeParameters the same way. The remaining filters are applied to the scanned rows, and a
//! page examines at most [`SCAN_BUDGET`] of them — so, as on AWS, a filtered page may hold fewer
//! results than asked for (even none) and still carry a `NextToken`. A page costs the same
//! whatever the size of the store.

use super::names::{BAD_PATH, arn, path};
use super::policies::{self, InlinePolicy};
use super::read::ParameterOut;
use super::{Ssm, SsmError, token};
use crate::RequestContext;
use crate::wire::Epoch;
use coffer_store::{ParameterListQuery, ParameterScope, StoredParameter, parameter_key};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

/// Rows one page may examine.
pub const SCAN_BUDGET: usize = 1000;
/// Rows fetched per store query.
const BATCH: usize = 100;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StringFilterIn {
    key: String,
    option: Option<String>,
    values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LegacyFilterIn {
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Name,
    Path,
    Type,
    KeyId,
    Tier,
    DataType,
    Label,
    Tag(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    Equals,
    BeginsWith,
    Contains,
    Recursive,
    OneLevel,
}

#[derive(Debug, Clone)]
struct Filter {
    key: Field,
    option: Opt,
    values: Vec<String>,
}

/// Which operation filters are for: the keys each accepts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum For {
    Describe,
    ByPath,
}

fn bad_value(v: &str, valid: &str) -> SsmError {
    SsmError::InvalidFilterValue(format!(
        "The following filter value is not valid: {v}. Valid values include: [{valid}]."
    ))
}

fn parse_filters(input: &[StringFilterIn], op: For) -> Result<Vec<Filter>, SsmError> {
    let mut out: Vec<Filter> = Vec::with_capacity(input.len());
    for f in input {
        let key = field_of(f, op)?;
        if out.iter().any(|o| o.key == key) {
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter is duplicated in the request: {}. A request can contain only one occurrence of a specific filter.",
                f.key
            )));
        }
        let values = f.values.clone().unwrap_or_default();
        if values.is_empty() && !matches!(key, Field::Tag(_)) {
            return Err(SsmError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {}.",
                f.key
            )));
        }
        let option = option_of(&key, f.option.as_deref())?;
        check_values(&key, option, &values)?;
        out.push(Filter {
            key,
            option,
            values,
        });
    }
    Ok(out)
}

/// The filter's key, if `op` accepts it.
fn field_of(f: &StringFilterIn, op: For) -> Result<Field, SsmError> {
    let key = match f.key.as_str() {
        "Name" => Field::Name,
        "Path" => Field::Path,
        "Type" => Field::Type,
        "KeyId" => Field::KeyId,
        "Tier" => Field::Tier,
        "DataType" => Field::DataType,
        "Label" => Field::Label,
        k => match k.strip_prefix("tag:") {
            Some(t) if !t.is_empty() => Field::Tag(t.to_owned()),
            _ => {
                return Err(SsmError::InvalidFilterKey(format!(
                    "The following filter key is not valid: {k}."
                )));
            }
        },
    };
    let allowed = match op {
        For::Describe => !matches!(key, Field::Label),
        For::ByPath => matches!(key, Field::Type | Field::KeyId | Field::Label),
    };
    if !allowed {
        return Err(SsmError::InvalidFilterKey(format!(
            "The following filter key is not valid: {}. Valid filter keys include: [{}].",
            f.key,
            match op {
                For::Describe => "Path, Name, Type, KeyId, Tier, DataType, tag:<key>",
                For::ByPath => "Type, KeyId, Label",
            }
        )));
    }
    Ok(key)
}

/// The filter's option (or the key's default), if the key accepts it.
fn option_of(key: &Field, option: Option<&str>) -> Result<Opt, SsmError> {
    let (default, valid): (Opt, &[(&str, Opt)]) = match key {
        Field::Path => (
            Opt::OneLevel,
            &[("Recursive", Opt::Recursive), ("OneLevel", Opt::OneLevel)],
        ),
        Field::Name => (
            Opt::Equals,
            &[
                ("BeginsWith", Opt::BeginsWith),
                ("Equals", Opt::Equals),
                ("Contains", Opt::Contains),
            ],
        ),
        Field::Label => (Opt::Equals, &[("Equals", Opt::Equals)]),
        _ => (
            Opt::Equals,
            &[("BeginsWith", Opt::BeginsWith), ("Equals", Opt::Equals)],
        ),
    };
    let Some(o) = option else {
        return Ok(default);
    };
    valid
        .iter()
        .find(|(n, _)| *n == o)
        .map(|(_, opt)| *opt)
        .ok_or_else(|| {
            SsmError::InvalidFilterOption(format!(
                "The following filter option is not valid: {o}. Valid options include: [{}].",
                valid.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// Enumerated keys compared with Equals take only their values; Path values are paths.
fn check_values(key: &Field, option: Opt, values: &[String]) -> Result<(), SsmError> {
    let enumerated: Option<&[&str]> = match key {
        Field::Type => Some(&["String", "StringList", "SecureString"]),
        Field::Tier => Some(&["Standard", "Advanced", "Intelligent-Tiering"]),
        Field::DataType => Some(&["text", "aws:ec2:image", "aws:ssm:integration"]),
        _ => None,
    };
    if let (Some(valid), Opt::Equals) = (enumerated, option) {
        for v in values {
            if !valid.contains(&v.as_str()) {
                return Err(bad_value(v, &valid.join(", ")));
            }
        }
    }
    if *key == Field::Path {
        for v in values {
            let lower = v.to_ascii_lowercase();
            if lower.starts_with("/aws") || lower.starts_with("/ssm") {
                return Err(SsmError::Validation(
                    "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). When using global parameters, please specify within a global namespace.".to_owned(),
                ));
            }
            path(v).map_err(|_| SsmError::Validation(BAD_PATH.to_owned()))?;
        }
    }
    Ok(())
}

/// `/` + the key: names compare without regard to a leading slash, as their ARNs do.
fn slashed(s: &str) -> String {
    format!("/{}", parameter_key(s))
}

fn text_matches(what: &str, option: Opt, values: &[String]) -> bool {
    values.iter().any(|v| match option {
        Opt::BeginsWith => what.starts_with(v.as_str()),
        Opt::Contains => what.contains(v.as_str()),
        _ => what == v,
    })
}

/// Whether a parameter passes a filter; for Label, the version carrying one of the labels.
fn passes(f: &Filter, p: &StoredParameter) -> Option<Option<i64>> {
    let meta = &p.parameter;
    let ok = match &f.key {
        Field::Name => {
            let name = slashed(&meta.name);
            match f.option {
                Opt::Contains => text_matches(&meta.name, Opt::Contains, &f.values),
                o => {
                    let values: Vec<String> = f.values.iter().map(|v| slashed(v)).collect();
                    text_matches(&name, o, &values)
                }
            }
        }
        Field::Path => {
            let key = parameter_key(&meta.name);
            f.values
                .iter()
                .filter_map(|v| path(v).ok())
                .any(|parent| match f.option {
                    Opt::Recursive => parent.is_empty() || key.starts_with(&format!("{parent}/")),
                    _ => coffer_store::parameter_parent(key) == parent,
                })
        }
        Field::Type => text_matches(&meta.param_type, f.option, &f.values),
        Field::Tier => text_matches(&meta.tier, f.option, &f.values),
        Field::DataType => text_matches(&meta.data_type, f.option, &f.values),
        Field::KeyId => meta
            .key_id
            .as_deref()
            .is_some_and(|k| text_matches(k, f.option, &f.values)),
        Field::Tag(t) => meta.tags.iter().any(|tag| {
            &tag.key == t && (f.values.is_empty() || text_matches(&tag.value, f.option, &f.values))
        }),
        Field::Label => {
            return p
                .labels
                .iter()
                .filter(|(l, _)| f.values.contains(l))
                .map(|(_, v)| *v)
                .max()
                .map(Some);
        }
    };
    ok.then_some(None)
}

/// All filters pass; the labelled version to show, if a Label filter chose one.
fn select(filters: &[Filter], p: &StoredParameter) -> Option<Option<i64>> {
    let mut version = None;
    for f in filters {
        if let Some(v) = passes(f, p)? {
            version = Some(v);
        }
    }
    Some(version)
}

/// One page of an ordered scan: up to `want` parameters that pass, and where to resume.
struct Page {
    items: Vec<(StoredParameter, Option<i64>)>,
    next: Option<String>,
}

impl Ssm {
    async fn scan(
        &self,
        ctx: &RequestContext,
        scope: ParameterScope<'_>,
        after: Option<String>,
        want: usize,
        filters: &[Filter],
    ) -> Result<Page, SsmError> {
        let mut cursor = after;
        let mut examined = 0;
        let mut items = Vec::new();
        loop {
            // Unfiltered pages read one row past the page to know whether there is more.
            let n = if filters.is_empty() {
                want + 1 - items.len()
            } else {
                BATCH.min(SCAN_BUDGET - examined)
            };
            let rows = self
                .store
                .list_parameters(&ParameterListQuery {
                    account_id: ctx.account(),
                    region: ctx.region(),
                    scope,
                    after: cursor.as_deref(),
                    limit: n,
                })
                .await?;
            let exhausted = rows.len() < n;
            let total = rows.len();
            for (i, row) in rows.into_iter().enumerate() {
                if items.len() == want {
                    // A row past a full page: there is more.
                    return Ok(Page {
                        items,
                        next: cursor,
                    });
                }
                examined += 1;
                cursor = Some(parameter_key(&row.parameter.name).to_owned());
                let Some(row) = self.expire_if_due(row, ctx.now).await? else {
                    continue;
                };
                if let Some(version) = select(filters, &row) {
                    items.push((row, version));
                    if items.len() == want && i + 1 == total && exhausted {
                        return Ok(Page { items, next: None });
                    }
                }
            }
            if exhausted {
                return Ok(Page { items, next: None });
            }
            if items.len() == want || examined >= SCAN_BUDGET {
                return Ok(Page {
                    items,
                    next: cursor,
                });
            }
        }
    }
}

fn page_size(max: Option<i32>, default: usize) -> usize {
    max.and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(default)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathInput {
    path: String,
    recursive: Option<bool>,
    parameter_filters: Option<Vec<StringFilterIn>>,
    with_decryption: Option<bool>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathOutput {
    parameters: Vec<ParameterOut>,
    next_token: Option<String>,
}

const BY_PATH_OP: &str = "GetParametersByPath";

pub async fn get_parameters_by_path(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: GetParametersByPathInput,
) -> Result<GetParametersByPathOutput, SsmError> {
    ssm.authorize_path(ctx, "GetParametersByPath", &input.path)
        .await?;
    let parent = path(&input.path)?;
    let filters = parse_filters(
        input.parameter_filters.as_deref().unwrap_or_default(),
        For::ByPath,
    )?;
    let after = token::decode(BY_PATH_OP, input.next_token.as_deref())?;
    let subtree = format!("{parent}/");
    let scope = match (input.recursive.unwrap_or(false), parent.is_empty()) {
        (true, true) => ParameterScope::All,
        (true, false) => ParameterScope::Prefix(&subtree),
        (false, _) => ParameterScope::Children(&parent),
    };
    let want = page_size(input.max_results, 10);
    let page = ssm.scan(ctx, scope, after, want, &filters).await?;
    let decrypt = input.with_decryption.unwrap_or(false);
    let mut parameters = Vec::with_capacity(page.items.len());
    for (stored, version) in &page.items {
        let v = match version {
            Some(n) if *n != stored.current.version => {
                let key = parameter_key(&stored.parameter.name);
                match ssm
                    .store
                    .get_parameter_version(ctx.account(), ctx.region(), key, *n)
                    .await?
                {
                    Some(v) => v,
                    // The labelled version went meanwhile.
                    None => continue,
                }
            }
            _ => stored.current.clone(),
        };
        parameters.push(
            ssm.parameter_out(ctx, stored, &v, None, None, decrypt)
                .await?,
        );
    }
    Ok(GetParametersByPathOutput {
        parameters,
        next_token: page.next.map(|c| token::encode(BY_PATH_OP, &c)),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersInput {
    filters: Option<Vec<LegacyFilterIn>>,
    parameter_filters: Option<Vec<StringFilterIn>>,
    max_results: Option<i32>,
    next_token: Option<String>,
    shared: Option<bool>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterMetadata {
    name: String,
    #[serde(rename = "ARN")]
    arn: String,
    #[serde(rename = "Type")]
    param_type: String,
    key_id: Option<String>,
    last_modified_date: Epoch,
    last_modified_user: String,
    description: Option<String>,
    allowed_pattern: Option<String>,
    version: i64,
    tier: String,
    policies: Vec<InlinePolicy>,
    data_type: String,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersOutput {
    parameters: Vec<ParameterMetadata>,
    next_token: Option<String>,
}

const DESCRIBE_OP: &str = "DescribeParameters";

/// The deprecated `Filters`: Name matches by prefix, Type and KeyId exactly.
fn legacy_filters(input: &[LegacyFilterIn]) -> Vec<StringFilterIn> {
    input
        .iter()
        .map(|f| StringFilterIn {
            key: f.key.clone(),
            option: Some(
                if f.key == "Name" {
                    "BeginsWith"
                } else {
                    "Equals"
                }
                .to_owned(),
            ),
            values: Some(f.values.clone()),
        })
        .collect()
}

pub async fn describe_parameters(
    ssm: &Ssm,
    ctx: &RequestContext,
    input: DescribeParametersInput,
) -> Result<DescribeParametersOutput, SsmError> {
    ssm.authorize_any(ctx, "DescribeParameters").await?;
    let filters = match (&input.filters, &input.parameter_filters) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {
            return Err(SsmError::Validation(
                "You can use either Filters or ParameterFilters in a single request.".to_owned(),
            ));
        }
        (Some(a), _) if !a.is_empty() => parse_filters(&legacy_filters(a), For::Describe)?,
        (_, Some(b)) => parse_filters(b, For::Describe)?,
        _ => Vec::new(),
    };
    let after = token::decode(DESCRIBE_OP, input.next_token.as_deref())?;
    if input.shared == Some(true) {
        // Parameters other accounts share with this one. AWS lists PutResourcePolicy shares only
        // once RAM has promoted them to standard resource shares, which coffer has no RAM to do.
        // <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html>
        return Ok(DescribeParametersOutput {
            parameters: Vec::new(),
            next_token: None,
        });
    }
    // Narrow the scan with a single-valued Path or Name filter; every filter still applies.
    // `(range, true)` lists the children of `range`, `(range, false)` keys starting with it.
    let narrowed: Option<(String, bool)> = if let Some(f) = filters
        .iter()
        .find(|f| f.key == Field::Path && f.values.len() == 1)
    {
        let parent = path(&f.values[0])?;
        match f.option {
            Opt::Recursive if parent.is_empty() => None,
            Opt::Recursive => Some((format!("{parent}/"), false)),
            _ => Some((parent, true)),
        }
    } else {
        filters
            .iter()
            .find(|f| {
                f.key == Field::Name
                    && f.values.len() == 1
                    && matches!(f.option, Opt::Equals | Opt::BeginsWith)
            })
            .map(|f| (parameter_key(&f.values[0]).to_owned(), false))
            .filter(|(prefix, _)| !prefix.is_empty())
    };
    let scope = match &narrowed {
        Some((parent, true)) => ParameterScope::Children(parent),
        Some((prefix, false)) => ParameterScope::Prefix(prefix),
        None => ParameterScope::All,
    };
    let want = page_size(input.max_results, 50);
    let page = ssm.scan(ctx, scope, after, want, &filters).await?;
    let parameters = page
        .items
        .into_iter()
        .map(|(s, _)| {
            let p = s.parameter;
            ParameterMetadata {
                arn: arn(ctx, &p.name),
                policies: policies::stored(p.policies.as_deref()),
                name: p.name,
                param_type: p.param_type,
                key_id: p.key_id,
                last_modified_date: Epoch(p.last_modified_at),
                last_modified_user: p.last_modified_user,
                description: p.description,
                allowed_pattern: p.allowed_pattern,
                version: p.version,
                tier: p.tier,
                data_type: p.data_type,
            }
        })
        .collect();
    Ok(DescribeParametersOutput {
        parameters,
        next_token: page.next.map(|c| token::encode(DESCRIBE_OP, &c)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn f(key: &str, option: Option<&str>, values: &[&str]) -> StringFilterIn {
        StringFilterIn {
            key: key.into(),
            option: option.map(Into::into),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    fn code(e: SsmError) -> &'static str {
        crate::ServiceError::code(&e)
    }

    #[test]
    fn filters_are_checked_as_aws_does() {
        assert!(parse_filters(&[f("Type", None, &["String"])], For::ByPath).is_ok());
        assert!(parse_filters(&[f("Label", None, &["prod"])], For::ByPath).is_ok());
        assert_eq!(
            code(parse_filters(&[f("Label", None, &["prod"])], For::Describe).unwrap_err()),
            "InvalidFilterKey"
        );
        for key in ["Name", "Path", "Tier", "DataType", "tag:team"] {
            assert_eq!(
                code(parse_filters(&[f(key, None, &["x"])], For::ByPath).unwrap_err()),
                "InvalidFilterKey",
                "{key}"
            );
        }
        assert_eq!(
            code(
                parse_filters(
                    &[f("Type", None, &["String"]), f("Type", None, &["String"])],
                    For::Describe
                )
                .unwrap_err()
            ),
            "InvalidFilterKey"
        );
        assert_eq!(
            code(parse_filters(&[f("Type", None, &[])], For::Describe).unwrap_err()),
            "InvalidFilterValue"
        );
        assert_eq!(
            code(parse_filters(&[f("Type", None, &["Strung"])], For::Describe).unwrap_err()),
            "InvalidFilterValue"
        );
        assert_eq!(
            code(parse_filters(&[f("Type", Some("Contains"), &["S"])], For::Describe).unwrap_err()),
            "InvalidFilterOption"
        );
        assert!(parse_filters(&[f("Name", Some("Contains"), &["x"])], For::Describe).is_ok());
        assert_eq!(
            code(parse_filters(&[f("Path", Some("Equals"), &["/a"])], For::Describe).unwrap_err()),
            "InvalidFilterOption"
        );
        assert_eq!(
            code(parse_filters(&[f("Path", None, &["a/b"])], For::Describe).unwrap_err()),
            "ValidationException"
        );
        assert_eq!(
            code(parse_filters(&[f("Path", None, &["/aws/x"])], For::Describe).unwrap_err()),
            "ValidationException"
        );
        assert_eq!(
            code(
                parse_filters(&[f("Label", Some("BeginsWith"), &["p"])], For::ByPath).unwrap_err()
            ),
            "InvalidFilterOption"
        );
        let tag_only = StringFilterIn {
            key: "tag:team".into(),
            option: None,
            values: None,
        };
        assert!(parse_filters(&[tag_only], For::Describe).is_ok());
    }
}
