//! Fuzzing only (the `fuzzing` feature, never enabled by the server): the crate's pure decoders
//! for the cargo-fuzz targets in `fuzz/`. Each function forwards to the code the handlers run;
//! errors are flattened to their `Debug` text.

use coffer_store::SecretSort;

/// Secrets Manager's NextToken text (ListSecretVersionIds and the listing cursor).
pub fn secretsmanager_decode_token(token: &str) -> Result<String, String> {
    crate::secretsmanager::list::decode_token(token).map_err(|e| format!("{e:?}"))
}

pub fn secretsmanager_encode_token(text: &str) -> String {
    crate::secretsmanager::list::encode_token(text)
}

/// The ListSecrets / BatchGetSecretValue position a NextToken names; `order` is the request's
/// `SortBy` (0..=3: created, last accessed, last changed, name) and descending flag.
pub fn secretsmanager_list_position(
    token: Option<&str>,
    order: Option<(u8, bool)>,
) -> Result<String, String> {
    let order = order.map(|(sort, descending)| {
        let sort = match sort % 4 {
            0 => SecretSort::CreatedDate,
            1 => SecretSort::LastAccessedDate,
            2 => SecretSort::LastChangedDate,
            _ => SecretSort::Name,
        };
        (sort, descending)
    });
    crate::secretsmanager::list::ListPosition::decode(token, order)
        .map(|p| format!("{p:?}"))
        .map_err(|e| format!("{e:?}"))
}

/// Parameter Store's NextToken, tagged with the operation that made it.
pub fn ssm_encode_token(op: &str, cursor: &str) -> String {
    crate::ssm::token::encode(op, cursor)
}

pub fn ssm_decode_token(op: &str, token: Option<&str>) -> Result<Option<String>, String> {
    crate::ssm::token::decode(op, token).map_err(|e| format!("{e:?}"))
}

/// KMS's `Marker`.
pub fn kms_encode_marker(cursor: Option<String>) -> Option<String> {
    crate::kms::marker::encode(cursor)
}

pub fn kms_decode_marker(marker: Option<&str>) -> Result<Option<String>, String> {
    crate::kms::marker::decode(marker).map_err(|e| format!("{e:?}"))
}

/// KMS grant tokens: the key ARN and grant id a token names.
pub fn kms_grant_token(key_arn: &str, grant_id: &str) -> Result<String, String> {
    crate::kms::grants::grant_token(key_arn, grant_id).map_err(|e| format!("{e:?}"))
}

pub fn kms_parse_grant_token(token: &str) -> Result<(String, String), String> {
    crate::kms::grants::parse_token(token).map_err(|e| format!("{e:?}"))
}
