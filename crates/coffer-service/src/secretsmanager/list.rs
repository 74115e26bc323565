//! ListSecrets: filters with AWS's prefix and word matching and `!` negation, sorting, and
//! pagination that stays stable while secrets are added (an indexed scan from a cursor).
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html>
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_search-secret.html>

use super::secrets::{Description, describe};
use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coffer_store::{SecretCursor, SecretListQuery, SecretRecord, SecretSort, SortValue};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filter {
    key: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

/// The characters that end a word in AWS's search.
const SEPARATORS: &[char] = &[' ', '/', '-', '_', '+', '=', '.', '@'];

/// Split text into the words AWS searches, lowercased: a new word starts after a separator
/// (space, `/`, `-`, `_`, `+`, `=`, `.`, `@`) and at the last capital of an upper-case run that
/// is followed by lower case (`credsDatabase` is `creds` + `database`, `COMPANYthings` is
/// `compan` + `ythings`).
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_search-secret.html>
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for segment in text.split(SEPARATORS) {
        let chars: Vec<char> = segment.chars().collect();
        let mut word = String::new();
        for (i, c) in chars.iter().enumerate() {
            let starts_word =
                i > 0 && c.is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if starts_word && !word.is_empty() {
                out.push(std::mem::take(&mut word).to_lowercase());
            }
            word.push(*c);
        }
        if !word.is_empty() {
            out.push(word.to_lowercase());
        }
    }
    out
}

/// Every word of the filter value is a (case-insensitive) prefix of some word of the field.
fn words_match(value: &str, field: &[String]) -> bool {
    words(value)
        .iter()
        .all(|w| field.iter().any(|f| f.starts_with(w.as_str())))
}

fn hit(key: &str, value: &str, s: &SecretRecord) -> bool {
    match key {
        // name, tag-key, tag-value: a case-sensitive prefix of the whole field, as the API
        // reference has it (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html>);
        // description and all: every word a prefix of a word, any case.
        "name" => s.name.starts_with(value),
        "description" => s
            .description
            .as_deref()
            .is_some_and(|d| words_match(value, &words(d))),
        "tag-key" => s.tags.iter().any(|t| t.key.starts_with(value)),
        "tag-value" => s.tags.iter().any(|t| t.value.starts_with(value)),
        "primary-region" => s
            .primary_region
            .as_deref()
            .is_some_and(|r| r.starts_with(value)),
        "owning-service" => s
            .owning_service
            .as_deref()
            .is_some_and(|o| o.starts_with(value)),
        // "all": the words of every searchable attribute together.
        _ => {
            let mut attrs: Vec<String> = words(&s.name);
            if let Some(d) = &s.description {
                attrs.extend(words(d));
            }
            for t in &s.tags {
                attrs.extend(words(&t.key));
                attrs.extend(words(&t.value));
            }
            words_match(value, &attrs)
        }
    }
}

/// One filter: any of its plain values matches, and none of its `!` values does.
fn matches(f: &Filter, s: &SecretRecord) -> bool {
    let key = f.key.as_deref().unwrap_or("all");
    let (negated, plain): (Vec<&String>, Vec<&String>) =
        f.values.iter().partition(|v| v.starts_with('!'));
    (plain.is_empty() || plain.iter().any(|v| hit(key, v, s)))
        && negated.iter().all(|v| !hit(key, &v[1..], s))
}

/// Every filter matches (filters combine with AND).
pub(crate) fn matches_all(filters: &[Filter], s: &SecretRecord) -> bool {
    filters.iter().all(|f| matches(f, s))
}

pub(crate) fn check_filters(filters: &[Filter]) -> Result<(), E> {
    if filters
        .iter()
        .any(|f| f.key.is_none() || f.values.is_empty())
    {
        return Err(E::InvalidParameter(
            "Each filter needs a Key and at least one value.".to_owned(),
        ));
    }
    Ok(())
}

pub(crate) fn page_size(max: Option<i32>, default: usize) -> usize {
    max.and_then(|m| usize::try_from(m).ok())
        .filter(|&m| m > 0)
        .unwrap_or(default)
}

pub(crate) fn bad_token() -> E {
    E::InvalidNextToken("The NextToken value is invalid.".to_owned())
}

pub(crate) fn encode_token(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn decode_token(token: &str) -> Result<String, E> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad_token)
}

/// Where a listing is: its order, and the cursor after the last secret returned.
#[derive(Debug, Clone)]
pub(crate) struct ListPosition {
    pub sort: SecretSort,
    pub descending: bool,
    pub cursor: Option<SecretCursor>,
}

fn sort_code(sort: SecretSort) -> &'static str {
    match sort {
        SecretSort::CreatedDate => "created-date",
        SecretSort::LastAccessedDate => "last-accessed-date",
        SecretSort::LastChangedDate => "last-changed-date",
        SecretSort::Name => "name",
    }
}

fn parse_sort(code: &str) -> Option<SecretSort> {
    [
        SecretSort::CreatedDate,
        SecretSort::LastAccessedDate,
        SecretSort::LastChangedDate,
        SecretSort::Name,
    ]
    .into_iter()
    .find(|s| sort_code(*s) == code)
}

impl ListPosition {
    /// From a NextToken, or a fresh position in `order` (default: oldest first). A token made
    /// for another order is refused.
    pub(crate) fn decode(
        token: Option<&str>,
        order: Option<(SecretSort, bool)>,
    ) -> Result<Self, E> {
        let Some(token) = token else {
            let (sort, descending) = order.unwrap_or((SecretSort::CreatedDate, false));
            return Ok(Self {
                sort,
                descending,
                cursor: None,
            });
        };
        let text = decode_token(token)?;
        let mut parts = text.splitn(5, '|');
        let (Some(sort), Some(dir), Some(kind), Some(value), Some(arn)) = (
            parts.next().and_then(parse_sort),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad_token());
        };
        let descending = dir == "d";
        if order.is_some_and(|o| o != (sort, descending)) {
            return Err(bad_token());
        }
        let value = match kind {
            "t" => SortValue::Time(value.parse().map_err(|_| bad_token())?),
            "n" => SortValue::Name(value.to_owned()),
            _ => return Err(bad_token()),
        };
        Ok(Self {
            sort,
            descending,
            cursor: Some(SecretCursor {
                value,
                arn: arn.to_owned(),
            }),
        })
    }

    fn token_after(&self, last: &SecretRecord) -> String {
        let c = SecretCursor::after(last, self.sort);
        let (kind, value) = match c.value {
            SortValue::Time(t) => ("t", t.to_string()),
            SortValue::Name(n) => ("n", n),
        };
        let dir = if self.descending { "d" } else { "a" };
        encode_token(&format!(
            "{}|{dir}|{kind}|{value}|{}",
            sort_code(self.sort),
            c.arn
        ))
    }
}

impl SecretsManager {
    /// Scan the caller's secrets from `position` and keep those `keep` accepts, up to `limit`.
    /// Returns them and the NextToken if the scan stopped early. The store is read in ordered
    /// batches, so a page costs what it finds, not the size of the account.
    pub(crate) async fn scan(
        &self,
        ctx: &RequestContext,
        position: &ListPosition,
        include_deleted: bool,
        limit: usize,
        keep: impl Fn(&SecretRecord) -> bool,
    ) -> Result<(Vec<SecretRecord>, Option<String>), E> {
        let batch = (limit * 2).clamp(50, 500);
        let mut cursor = position.cursor.clone();
        let mut out = Vec::new();
        loop {
            let rows = self
                .store
                .list_secrets(&SecretListQuery {
                    account_id: ctx.account(),
                    region: ctx.region(),
                    sort: position.sort,
                    descending: position.descending,
                    include_deleted,
                    after: cursor.as_ref(),
                    limit: batch,
                })
                .await?;
            let exhausted = rows.len() < batch;
            cursor = rows.last().map(|s| SecretCursor::after(s, position.sort));
            let mut rest = rows
                .into_iter()
                .filter(|s| s.purge_at.is_none_or(|t| t > ctx.now))
                .filter(|s| keep(s));
            for s in rest.by_ref() {
                out.push(s);
                if out.len() == limit {
                    break;
                }
            }
            if out.len() == limit {
                let more = rest.next().is_some() || !exhausted;
                let token = more
                    .then(|| out.last().map(|l| position.token_after(l)))
                    .flatten();
                return Ok((out, token));
            }
            if exhausted {
                return Ok((out, None));
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsInput {
    include_planned_deletion: Option<bool>,
    max_results: Option<i32>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    sort_order: Option<String>,
    sort_by: Option<String>,
}

#[skip_serializing_none]
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsOutput {
    secret_list: Vec<Description>,
    next_token: Option<String>,
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html>
pub async fn list_secrets(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: ListSecretsInput,
) -> Result<ListSecretsOutput, E> {
    sm.authorize_any(ctx, "secretsmanager:ListSecrets").await?;
    check_filters(&input.filters)?;
    let sort = match input.sort_by.as_deref() {
        None => SecretSort::CreatedDate,
        Some(code) => parse_sort(code)
            .ok_or_else(|| E::InvalidParameter(format!("Invalid SortBy value {code}.")))?,
    };
    let descending = input.sort_order.as_deref() == Some("desc");
    let position = ListPosition::decode(input.next_token.as_deref(), Some((sort, descending)))?;
    let limit = page_size(input.max_results, 100);
    let (secrets, next_token) = sm
        .scan(
            ctx,
            &position,
            input.include_planned_deletion.unwrap_or(false),
            limit,
            |s| matches_all(&input.filters, s),
        )
        .await?;
    let mut secret_list = Vec::with_capacity(secrets.len());
    for s in secrets {
        let versions = sm.store.list_secret_versions(&s.arn).await?;
        secret_list.push(describe(&s, &versions, true));
    }
    Ok(ListSecretsOutput {
        secret_list,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::{SEPARATORS, words, words_match};
    use proptest::prelude::*;

    #[test]
    fn words_split_as_aws_describes() {
        let table: &[(&str, &[&str])] = &[
            ("credsDatabase#892", &["creds", "database#892"]),
            ("prod/payments-api/DB", &["prod", "payments", "api", "db"]),
            ("My_Secret", &["my", "secret"]),
            ("COMPANYthings", &["compan", "ythings"]),
            ("ABC", &["abc"]),
            ("abcDEF", &["abcdef"]),
            ("a+b=c.d@e f", &["a", "b", "c", "d", "e", "f"]),
            ("db2Prod", &["db2", "prod"]),
            ("--", &[]),
            ("!!", &["!!"]),
        ];
        for (text, expected) in table {
            assert_eq!(words(text), *expected, "{text}");
        }
    }

    #[test]
    fn every_word_of_the_value_must_prefix_a_word() {
        let field = words("prod/payments-api/DbPassword");
        let table: &[(&str, bool)] = &[
            ("prod", true),
            ("PAY", true),
            ("api prod", true),
            ("pass", true),
            ("db pass", true),
            ("prod other", false),
            ("ments", false),
            ("prod/pay", true),
        ];
        for (value, expected) in table {
            assert_eq!(words_match(value, &field), *expected, "{value}");
        }
    }

    proptest! {
        /// Words never hold a separator, are lowercase, and together are the text less its
        /// separators; a text always matches itself.
        #[test]
        fn words_partition_the_text(text in "[A-Za-z0-9 /_+=.@#-]{0,40}") {
            let w = words(&text);
            prop_assert!(w.iter().all(|x| !x.is_empty() && !x.contains(SEPARATORS)));
            prop_assert!(w.iter().all(|x| *x == x.to_lowercase()));
            let joined: String = w.concat();
            let expected: String = text.chars().filter(|c| !SEPARATORS.contains(c)).collect();
            prop_assert_eq!(joined, expected.to_lowercase());
            prop_assert!(words_match(&text, &w));
        }
    }
}
