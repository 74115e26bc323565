//! Wildcard patterns as IAM uses them in `Action`, `Resource`, `StringLike` and `ArnLike`.
//!
//! - `*` matches any run of characters (possibly empty), `?` exactly one character.
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>
//! - A wildcard that came out of a policy variable (`${*}`, `${?}`, or a substituted value that
//!   happens to contain `*`) is a literal character, so a pattern is a list of tokens rather
//!   than a string.
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars>
//! - ARNs are compared component by component: a wildcard never crosses one of the first five
//!   colons. <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN>

/// One token of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A character that must be present as is (subject to the match's case rule).
    Lit(char),
    /// `*`: any run of characters.
    Any,
    /// `?`: exactly one character.
    One,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Pattern {
    toks: Vec<Tok>,
}

impl Pattern {
    /// Compile policy text: `*` and `?` are wildcards.
    pub(crate) fn wild(text: &str) -> Self {
        let mut p = Pattern::default();
        p.push_wild(text);
        p
    }

    pub(crate) fn push_wild(&mut self, text: &str) {
        self.toks.extend(text.chars().map(|c| match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        }));
    }

    /// Append text in which every character is literal (a substituted variable's value).
    pub(crate) fn push_literal(&mut self, text: &str) {
        self.toks.extend(text.chars().map(Tok::Lit));
    }

    /// True for the pattern `*` alone, which matches everything (including non-ARNs).
    pub(crate) fn is_match_all(&self) -> bool {
        !self.toks.is_empty() && self.toks.iter().all(|t| *t == Tok::Any)
    }

    /// Case-sensitive match of the whole value.
    pub(crate) fn matches(&self, value: &str) -> bool {
        glob(&self.toks, value, false)
    }

    /// Case-insensitive match of the whole value (actions, `StringEqualsIgnoreCase`-like uses).
    pub(crate) fn matches_ignore_case(&self, value: &str) -> bool {
        glob(&self.toks, value, true)
    }

    /// ARN match: the six colon-separated components (`arn:partition:service:region:account:
    /// resource`) are matched separately; the resource component may itself contain colons.
    /// A pattern that is not shaped like an ARN (fewer than five colons) is matched as a plain
    /// string, so `*` and non-ARN names keep working.
    pub(crate) fn matches_arn(&self, value: &str) -> bool {
        if self.is_match_all() {
            return true;
        }
        let pattern_parts = split_toks(&self.toks);
        if pattern_parts.len() < 6 {
            return glob(&self.toks, value, false);
        }
        let value_parts: Vec<&str> = value.splitn(6, ':').collect();
        if value_parts.len() < 6 {
            return false;
        }
        pattern_parts
            .iter()
            .zip(value_parts)
            .all(|(p, v)| glob(p, v, false))
    }
}

/// Split tokens at the first five literal colons.
fn split_toks(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *t == Tok::Lit(':') {
            parts.push(&toks[start..i]);
            start = i + 1;
        }
    }
    parts.push(&toks[start..]);
    parts
}

fn same(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.to_lowercase().eq(b.to_lowercase()))
}

/// The classic linear wildcard match with one backtrack point (the last `*` seen).
fn glob(toks: &[Tok], value: &str, fold: bool) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = value[i..].chars().next() {
        match toks.get(p) {
            Some(Tok::Any) => {
                star = Some((p + 1, i));
                p += 1;
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                i += c.len_utf8();
                continue;
            }
            Some(Tok::Lit(l)) if same(*l, c, fold) => {
                p += 1;
                i += c.len_utf8();
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last `*` swallow one more character, or fail.
        let Some((after_star, from)) = star else {
            return false;
        };
        let Some(skipped) = value[from..].chars().next() else {
            return false;
        };
        let next = from + skipped.len_utf8();
        star = Some((after_star, next));
        p = after_star;
        i = next;
    }
    toks[p..].iter().all(|t| *t == Tok::Any)
}

/// Case-sensitive wildcard match of policy text against a value (a convenience for callers
/// that have no variables to substitute).
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    Pattern::wild(pattern).matches(value)
}

/// ARN-aware wildcard match, as `ArnLike` and the `Resource` element use it.
pub fn arn_match(pattern: &str, value: &str) -> bool {
    Pattern::wild(pattern).matches_arn(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a*c", "ac"));
        assert!(!wildcard_match("a*c", "ab"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("*b*b*", "abxbx"));
        assert!(!wildcard_match("*b*b*", "abx"));
        assert!(wildcard_match("é?", "éü"));
        assert!(!wildcard_match("ABC", "abc"));
        assert!(
            Pattern::wild("secretsmanager:get*")
                .matches_ignore_case("SecretsManager:GetSecretValue")
        );
    }

    #[test]
    fn literal_wildcards_from_variables() {
        let mut p = Pattern::wild("a");
        p.push_literal("*");
        assert!(p.matches("a*"));
        assert!(!p.matches("ab"));
    }

    #[test]
    fn arn_components() {
        // The documented example: StringLike would match, ArnLike must not.
        let pattern = "arn:aws:someservice:*:111122223333:finance/*";
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(wildcard_match(pattern, value));
        assert!(!arn_match(pattern, value));
        assert!(arn_match(
            "arn:aws:ssm:*:*:parameter/prod/payments-api/*",
            "arn:aws:ssm:eu-west-1:111122223333:parameter/prod/payments-api/db/password"
        ));
        assert!(arn_match(
            "arn:aws:s3:::bucket/a:b",
            "arn:aws:s3:::bucket/a:b"
        ));
        assert!(arn_match("*", "not-an-arn"));
        assert!(!arn_match("arn:aws:s3:::*", "not-an-arn"));
    }
}
