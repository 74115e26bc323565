//! GetRandomPassword, from the system CSPRNG.
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html>

use super::{SecretsManager, SecretsManagerError as E};
use crate::RequestContext;
use crate::wire::SecretText;
use coffer_types::SecretBytes;
use serde::{Deserialize, Serialize};

const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// AWS's punctuation set.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordInput {
    password_length: Option<i64>,
    exclude_characters: Option<String>,
    exclude_numbers: Option<bool>,
    exclude_punctuation: Option<bool>,
    exclude_uppercase: Option<bool>,
    exclude_lowercase: Option<bool>,
    include_space: Option<bool>,
    require_each_included_type: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordOutput {
    random_password: SecretText,
}

/// A uniform index below `n` (rejection sampling, no modulo bias).
fn index(n: usize) -> Result<usize, E> {
    let n32 = u32::try_from(n).map_err(|_| E::Internal("alphabet too large".to_owned()))?;
    let zone = u32::MAX - (u32::MAX % n32);
    loop {
        let mut b = [0u8; 4];
        coffer_crypto::random::fill(&mut b).map_err(crate::error::crypto::<E>)?;
        let v = u32::from_le_bytes(b);
        if v < zone {
            return usize::try_from(v % n32).map_err(|_| E::Internal("index".to_owned()));
        }
    }
}

/// A password of `length` characters drawn from `classes`; with `require_each`, at least one
/// from every class.
pub(crate) fn generate(
    length: usize,
    classes: &[Vec<char>],
    require_each: bool,
) -> Result<SecretBytes, E> {
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(E::InvalidParameter(
            "The password can't be generated: every character type is excluded.".to_owned(),
        ));
    }
    if require_each && length < classes.len() {
        return Err(E::InvalidParameter(format!(
            "The password length {length} is too short to include a character of each of the {} required types.",
            classes.len()
        )));
    }
    let mut chars: Vec<char> = Vec::with_capacity(length);
    if require_each {
        for class in classes {
            chars.push(class[index(class.len())?]);
        }
    }
    while chars.len() < length {
        chars.push(all[index(all.len())?]);
    }
    // Fisher–Yates, so the required characters are not at the front.
    for i in (1..chars.len()).rev() {
        chars.swap(i, index(i + 1)?);
    }
    let text: String = chars.iter().collect();
    chars.iter_mut().for_each(|c| *c = '\0');
    Ok(SecretBytes::new(text.into_bytes()))
}

/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html>
pub async fn get_random_password(
    sm: &SecretsManager,
    ctx: &RequestContext,
    input: GetRandomPasswordInput,
) -> Result<GetRandomPasswordOutput, E> {
    sm.authorize_any(ctx, "secretsmanager:GetRandomPassword")
        .await?;
    let length = usize::try_from(input.password_length.unwrap_or(32))
        .map_err(|_| E::InvalidParameter("PasswordLength must be positive.".to_owned()))?;
    let excluded = input.exclude_characters.unwrap_or_default();
    let mut sets: Vec<&str> = Vec::new();
    if !input.exclude_lowercase.unwrap_or(false) {
        sets.push(LOWER);
    }
    if !input.exclude_uppercase.unwrap_or(false) {
        sets.push(UPPER);
    }
    if !input.exclude_numbers.unwrap_or(false) {
        sets.push(DIGITS);
    }
    if !input.exclude_punctuation.unwrap_or(false) {
        sets.push(PUNCTUATION);
    }
    if input.include_space.unwrap_or(false) {
        sets.push(" ");
    }
    let classes: Vec<Vec<char>> = sets
        .into_iter()
        .map(|s| {
            s.chars()
                .filter(|c| !excluded.contains(*c))
                .collect::<Vec<_>>()
        })
        .filter(|c| !c.is_empty())
        .collect();
    let password = generate(
        length,
        &classes,
        input.require_each_included_type.unwrap_or(true),
    )?;
    Ok(GetRandomPasswordOutput {
        random_password: SecretText(password),
    })
}

/// Characters the built-in rotators leave out of generated passwords, as AWS's rotation
/// templates do by default (they break connection strings and shell quoting).
const ROTATION_EXCLUDED: &str = "/@\"'\\";

/// A password for a rotated credential: 32 characters, at least one lowercase, uppercase, digit
/// and punctuation character, none of [`ROTATION_EXCLUDED`].
pub(crate) fn rotation_password() -> Result<SecretBytes, E> {
    let classes: Vec<Vec<char>> = [LOWER, UPPER, DIGITS, PUNCTUATION]
        .iter()
        .map(|c| {
            c.chars()
                .filter(|c| !ROTATION_EXCLUDED.contains(*c))
                .collect()
        })
        .collect();
    generate(32, &classes, true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn class(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn every_required_type_appears() {
        let classes = [
            class(LOWER),
            class(UPPER),
            class(DIGITS),
            class(PUNCTUATION),
        ];
        for _ in 0..200 {
            let p = generate(4, &classes, true).unwrap();
            let text = std::str::from_utf8(p.expose()).unwrap();
            assert_eq!(text.chars().count(), 4);
            for c in &classes {
                assert!(text.chars().any(|ch| c.contains(&ch)), "{c:?} missing");
            }
        }
    }

    #[test]
    fn impossible_requests_are_refused() {
        assert!(generate(8, &[], true).is_err());
        assert!(generate(1, &[class(LOWER), class(DIGITS)], true).is_err());
        assert!(generate(1, &[class(LOWER), class(DIGITS)], false).is_ok());
    }

    #[test]
    fn draws_cover_the_alphabet() {
        let p = generate(4096, &[class(DIGITS)], false).unwrap();
        for d in DIGITS.chars() {
            assert!(p.expose().contains(&(d as u8)));
        }
    }
}
