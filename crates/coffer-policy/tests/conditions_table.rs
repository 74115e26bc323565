//! Table: the `Condition` element. Each row is a full evaluation: an identity policy allowing
//! everything under one condition block, so the verdict is `Allow` exactly when the block
//! holds. Every row cites the AWS documentation rule it checks.
#![allow(clippy::unwrap_used)]

mod common;
use coffer_policy::Verdict;
use common::*;

/// A row whose identity policy allows `*` on `*` under `condition`; `holds` = expected truth.
fn cond(page: &str, rule: &str, condition: &str, holds: bool) -> Case {
    let expect = if holds {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    };
    case(page, rule, expect).id(doc(&[&format!(
        r#"{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}"#
    )]))
}

/// The same under an old policy language version (no variables).
fn cond_2008(page: &str, rule: &str, condition: &str, holds: bool) -> Case {
    let expect = if holds {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    };
    case(page, rule, expect).id(format!(
        r#"{{"Version":"2008-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}]}}"#
    ))
}

fn strings() -> Vec<Case> {
    let s = &format!("{OPS}#Conditions_String");
    let team = r#"{"StringEquals":{"aws:PrincipalTag/team":"Red"}}"#;
    vec![
        cond(s, "StringEquals: exact match", team, true).tag("team", "Red"),
        cond(s, "StringEquals is case-sensitive", team, false).tag("team", "red"),
        cond(s, "StringEquals: key absent from the request → false", team, false),
        cond(s, "StringEquals: several values are ORed", r#"{"StringEquals":{"aws:PrincipalTag/team":["Blue","Red"]}}"#, true).tag("team", "Red"),
        cond(s, "StringEquals: no value matches → false", r#"{"StringEquals":{"aws:PrincipalTag/team":["Blue","Green"]}}"#, false).tag("team", "Red"),
        cond(s, "StringEquals: `*` is not a wildcard", r#"{"StringEquals":{"aws:PrincipalTag/team":"*"}}"#, false).tag("team", "Red"),
        cond(s, "StringEquals: JSON number value compared as text", r#"{"StringEquals":{"aws:PrincipalTag/level":10}}"#, true).tag("level", "10"),
        cond(s, "StringNotEquals: different value → true", r#"{"StringNotEquals":{"aws:PrincipalTag/team":"Blue"}}"#, true).tag("team", "Red"),
        cond(s, "StringNotEquals: equal value → false", r#"{"StringNotEquals":{"aws:PrincipalTag/team":"Red"}}"#, false).tag("team", "Red"),
        cond(s, "StringNotEquals: key absent → true (negated operator)", r#"{"StringNotEquals":{"aws:PrincipalTag/team":"Red"}}"#, true),
        cond(MULTI, "negated operator with several values is a NOR: equal to one → false", r#"{"StringNotEquals":{"aws:PrincipalTag/team":["Blue","Red"]}}"#, false).tag("team", "Red"),
        cond(MULTI, "negated operator with several values is a NOR: equal to none → true", r#"{"StringNotEquals":{"aws:PrincipalTag/team":["Blue","Green"]}}"#, true).tag("team", "Red"),
        cond(s, "StringEqualsIgnoreCase: case differs → true", r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"RED"}}"#, true).tag("team", "red"),
        cond(s, "StringEqualsIgnoreCase: other value → false", r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"blue"}}"#, false).tag("team", "red"),
        cond(s, "StringNotEqualsIgnoreCase: same value in other case → false", r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"RED"}}"#, false).tag("team", "red"),
        cond(s, "StringNotEqualsIgnoreCase: other value → true", r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"blue"}}"#, true).tag("team", "red"),
        cond(s, "StringLike: `*` matches any run", r#"{"StringLike":{"secretsmanager:Name":"prod/*"}}"#, true).ctx("secretsmanager:Name", &["prod/db/password"]),
        cond(s, "StringLike: `*` matches the empty run", r#"{"StringLike":{"secretsmanager:Name":"prod/*"}}"#, true).ctx("secretsmanager:Name", &["prod/"]),
        cond(s, "StringLike: `?` matches exactly one character", r#"{"StringLike":{"secretsmanager:Name":"db-?"}}"#, true).ctx("secretsmanager:Name", &["db-1"]),
        cond(s, "StringLike: `?` does not match zero characters", r#"{"StringLike":{"secretsmanager:Name":"db-?"}}"#, false).ctx("secretsmanager:Name", &["db-"]),
        cond(s, "StringLike: `?` does not match two characters", r#"{"StringLike":{"secretsmanager:Name":"db-?"}}"#, false).ctx("secretsmanager:Name", &["db-12"]),
        cond(s, "StringLike is case-sensitive", r#"{"StringLike":{"secretsmanager:Name":"prod/*"}}"#, false).ctx("secretsmanager:Name", &["PROD/db"]),
        cond(s, "StringLike: without wildcards a partial string does not match", r#"{"StringLike":{"secretsmanager:Name":"prod"}}"#, false).ctx("secretsmanager:Name", &["prod/db"]),
        cond(s, "StringLike: wildcards anywhere in the string", r#"{"StringLike":{"secretsmanager:Name":"*/db/*"}}"#, true).ctx("secretsmanager:Name", &["team/db/password"]),
        cond(s, "StringNotLike: matching value → false", r#"{"StringNotLike":{"secretsmanager:Name":"prod/*"}}"#, false).ctx("secretsmanager:Name", &["prod/db"]),
        cond(s, "StringNotLike: non-matching value → true", r#"{"StringNotLike":{"secretsmanager:Name":"prod/*"}}"#, true).ctx("secretsmanager:Name", &["dev/db"]),
        cond(OPS, "StringNotLike: key absent → true (negated operator)", r#"{"StringNotLike":{"secretsmanager:Name":"prod/*"}}"#, true),
        cond(CONDITION, "condition key names are case-insensitive", r#"{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"Red"}}"#, true).tag("team", "Red"),
        cond(CONDITION, "service key names are case-insensitive too", r#"{"StringEquals":{"SecretsManager:name":"x"}}"#, true).ctx("secretsmanager:Name", &["x"]),
        cond(MULTI, "several keys under one operator are ANDed: both hold", r#"{"StringEquals":{"aws:PrincipalTag/team":"Red","aws:username":"alice"}}"#, true).tag("team", "Red"),
        cond(MULTI, "several keys under one operator are ANDed: one fails", r#"{"StringEquals":{"aws:PrincipalTag/team":"Red","aws:username":"bob"}}"#, false).tag("team", "Red"),
        cond(MULTI, "several operators are ANDed: both hold", r#"{"StringEquals":{"aws:username":"alice"},"StringLike":{"secretsmanager:Name":"prod/*"}}"#, true).ctx("secretsmanager:Name", &["prod/x"]),
        cond(MULTI, "several operators are ANDed: one fails", r#"{"StringEquals":{"aws:username":"alice"},"StringLike":{"secretsmanager:Name":"prod/*"}}"#, false).ctx("secretsmanager:Name", &["dev/x"]),
        cond(KEYS, "aws:username is the IAM user's friendly name", r#"{"StringEquals":{"aws:username":"alice"}}"#, true),
        cond(KEYS, "aws:username is absent for a role session", r#"{"StringEquals":{"aws:username":"alice"}}"#, false).who("role/alice/alice"),
        cond(KEYS, "aws:PrincipalAccount is the caller's account", &format!(r#"{{"StringEquals":{{"aws:PrincipalAccount":"{A}"}}}}"#), true),
        cond(KEYS, "aws:PrincipalType of a role session is AssumedRole", r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#, true).who("role/R/s"),
        cond(KEYS, "aws:PrincipalType of the root user is Account", r#"{"StringEquals":{"aws:PrincipalType":"Account"}}"#, true).who("root"),
        cond(KEYS, "principal keys cannot be supplied through the request context", r#"{"StringEquals":{"aws:PrincipalTag/team":"Red"}}"#, false).ctx("aws:PrincipalTag/team", &["Red"]),
        cond(KEYS, "aws:RequestedRegion comes from the request", r#"{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#, true).ctx("aws:RequestedRegion", &["eu-west-1"]),
        cond(KEYS, "secretsmanager:ResourceTag/<key> from the secret's tags", r#"{"StringEquals":{"secretsmanager:ResourceTag/env":"prod"}}"#, true).ctx("secretsmanager:ResourceTag/env", &["prod"]),
        cond(KEYS, "kms:EncryptionContext:<key> from the request", r#"{"StringEquals":{"kms:EncryptionContext:SecretARN":"arn:x"}}"#, true).ctx("kms:EncryptionContext:SecretARN", &["arn:x"]),
        cond(KEYS, "secretsmanager:VersionStage from the request", r#"{"StringEquals":{"secretsmanager:VersionStage":"AWSCURRENT"}}"#, false).ctx("secretsmanager:VersionStage", &["AWSPREVIOUS"]),
    ]
}

fn numbers_dates_bools() -> Vec<Case> {
    let n = &format!("{OPS}#Conditions_Numeric");
    let d = &format!("{OPS}#Conditions_Date");
    let b = &format!("{OPS}#Conditions_Boolean");
    let bin = &format!("{OPS}#Conditions_BinaryEquals");
    let k = "secretsmanager:RecoveryWindowInDays";
    let num = |op: &str, policy: &str| format!(r#"{{"{op}":{{"{k}":"{policy}"}}}}"#);
    vec![
        cond(n, "NumericEquals: same number", &num("NumericEquals", "10"), true).ctx(k, &["10"]),
        cond(n, "NumericEquals compares numbers, not text (10 = 10.0)", &num("NumericEquals", "10"), true).ctx(k, &["10.0"]),
        cond(n, "NumericEquals: other number", &num("NumericEquals", "10"), false).ctx(k, &["11"]),
        cond(n, "NumericNotEquals: other number → true", &num("NumericNotEquals", "10"), true).ctx(k, &["11"]),
        cond(n, "NumericNotEquals: same number → false", &num("NumericNotEquals", "10"), false).ctx(k, &["10"]),
        cond(OPS, "NumericNotEquals: key absent → true (negated operator)", &num("NumericNotEquals", "10"), true),
        cond(n, "NumericLessThan: smaller", &num("NumericLessThan", "10"), true).ctx(k, &["9"]),
        cond(n, "NumericLessThan: equal is not less", &num("NumericLessThan", "10"), false).ctx(k, &["10"]),
        cond(n, "NumericLessThanEquals: equal", &num("NumericLessThanEquals", "10"), true).ctx(k, &["10"]),
        cond(n, "NumericLessThanEquals: greater", &num("NumericLessThanEquals", "10"), false).ctx(k, &["11"]),
        cond(n, "NumericGreaterThan: greater", &num("NumericGreaterThan", "10"), true).ctx(k, &["11"]),
        cond(n, "NumericGreaterThan: equal is not greater", &num("NumericGreaterThan", "10"), false).ctx(k, &["10"]),
        cond(n, "NumericGreaterThanEquals: equal", &num("NumericGreaterThanEquals", "10"), true).ctx(k, &["10"]),
        cond(n, "NumericGreaterThanEquals: smaller", &num("NumericGreaterThanEquals", "10"), false).ctx(k, &["9"]),
        cond(n, "decimal values compare as numbers", &num("NumericLessThan", "1.5"), true).ctx(k, &["1.25"]),
        cond(n, "a request value that is not a number does not match", &num("NumericLessThan", "10"), false).ctx(k, &["seven"]),
        cond(n, "key absent → false", &num("NumericLessThan", "10"), false),
        cond(n, "JSON number in the policy", &format!(r#"{{"NumericLessThanEquals":{{"{k}":30}}}}"#), true).ctx(k, &["7"]),
        cond(d, "DateLessThan: before a future date", r#"{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#, true),
        cond(d, "DateLessThan: not before a past date", r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#, false),
        cond(d, "DateGreaterThan: after a past date", r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#, true),
        cond(d, "DateGreaterThan: equal is not after", r#"{"DateGreaterThan":{"aws:CurrentTime":"2025-06-01T12:00:00Z"}}"#, false),
        cond(d, "DateGreaterThanEquals: equal", r#"{"DateGreaterThanEquals":{"aws:CurrentTime":"2025-06-01T12:00:00Z"}}"#, true),
        cond(d, "DateLessThanEquals: equal", r#"{"DateLessThanEquals":{"aws:CurrentTime":"2025-06-01T12:00:00Z"}}"#, true),
        cond(d, "DateEquals: same instant", r#"{"DateEquals":{"aws:CurrentTime":"2025-06-01T12:00:00Z"}}"#, true),
        cond(d, "DateEquals: same instant in another zone (W3C TZD)", r#"{"DateEquals":{"aws:CurrentTime":"2025-06-01T14:00:00+02:00"}}"#, true),
        cond(d, "DateEquals: other instant", r#"{"DateEquals":{"aws:CurrentTime":"2025-06-01T12:00:01Z"}}"#, false),
        cond(d, "DateNotEquals: other instant → true", r#"{"DateNotEquals":{"aws:CurrentTime":"2025-06-01T12:00:01Z"}}"#, true),
        cond(d, "policy date in epoch seconds", r#"{"DateGreaterThan":{"aws:CurrentTime":"1577836800"}}"#, true),
        cond(d, "policy date as YYYY-MM-DD", r#"{"DateGreaterThan":{"aws:CurrentTime":"2025-06-01"}}"#, true),
        cond(d, "aws:EpochTime with an ISO 8601 policy date", r#"{"DateLessThan":{"aws:EpochTime":"2030-01-01T00:00:00Z"}}"#, true),
        cond(d, "aws:CurrentTime set by the request", r#"{"DateLessThan":{"aws:CurrentTime":"2025-01-01T00:00:00Z"}}"#, true).ctx("aws:CurrentTime", &["2024-12-31T23:59:59Z"]),
        cond(d, "aws:TokenIssueTime absent for long-term credentials → false", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#, false),
        cond(d, "aws:TokenIssueTime present for temporary credentials", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#, true).ctx("aws:TokenIssueTime", &["2025-06-01T11:00:00Z"]),
        cond(d, "a request date that does not read does not match", r#"{"DateGreaterThan":{"aws:TokenIssueTime":"2020-01-01T00:00:01Z"}}"#, false).ctx("aws:TokenIssueTime", &["yesterday"]),
        cond(b, "Bool true over TLS", r#"{"Bool":{"aws:SecureTransport":"true"}}"#, true).ctx("aws:SecureTransport", &["true"]),
        cond(b, "Bool true without TLS", r#"{"Bool":{"aws:SecureTransport":"true"}}"#, false).ctx("aws:SecureTransport", &["false"]),
        cond(b, "Bool with a JSON boolean value", r#"{"Bool":{"aws:SecureTransport":false}}"#, true).ctx("aws:SecureTransport", &["false"]),
        cond(b, "Bool values ignore case", r#"{"Bool":{"aws:SecureTransport":"TRUE"}}"#, true).ctx("aws:SecureTransport", &["true"]),
        cond(b, "Bool on an absent key is false (aws:MultiFactorAuthPresent with access keys)", r#"{"Bool":{"aws:MultiFactorAuthPresent":"false"}}"#, false),
        cond(b, "BoolIfExists on an absent key is true", r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#, true),
        cond(bin, "BinaryEquals: same bytes", r#"{"BinaryEquals":{"kms:RecipientAttestation:ImageSha384":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#, true).ctx("kms:RecipientAttestation:ImageSha384", &["QmluYXJ5VmFsdWVJbkJhc2U2NA=="]),
        cond(bin, "BinaryEquals: other bytes", r#"{"BinaryEquals":{"kms:RecipientAttestation:ImageSha384":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#, false).ctx("kms:RecipientAttestation:ImageSha384", &["b3RoZXI="]),
        cond(bin, "BinaryEquals: key absent → false", r#"{"BinaryEquals":{"kms:RecipientAttestation:ImageSha384":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#, false),
    ]
}

fn ips_arns() -> Vec<Case> {
    let ip = &format!("{OPS}#Conditions_IPAddress");
    let arn = &format!("{OPS}#Conditions_ARN");
    let range = r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#;
    let not_range = r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#;
    let both = r#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}}"#;
    let src = "aws:SourceArn";
    vec![
        cond(ip, "IpAddress: address inside the CIDR range", range, true).ctx("aws:SourceIp", &["203.0.113.77"]),
        cond(ip, "IpAddress: address outside the range", range, false).ctx("aws:SourceIp", &["203.0.114.1"]),
        cond(ip, "IpAddress: a bare address means /32", r#"{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}"#, true).ctx("aws:SourceIp", &["203.0.113.5"]),
        cond(ip, "IpAddress: /32 excludes the neighbour", r#"{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}"#, false).ctx("aws:SourceIp", &["203.0.113.6"]),
        cond(ip, "IpAddress: IPv6 range", both, true).ctx("aws:SourceIp", &["2001:db8:1234:5678::42"]),
        cond(ip, "IpAddress: IPv6 address outside the range", both, false).ctx("aws:SourceIp", &["2001:db8:1234:9999::42"]),
        cond(ip, "IpAddress: IPv4 and IPv6 ranges mixed, IPv4 caller", both, true).ctx("aws:SourceIp", &["203.0.113.1"]),
        cond(ip, "IpAddress: an IPv4 caller on an IPv6 socket (::ffff:a.b.c.d)", range, true).ctx("aws:SourceIp", &["::ffff:203.0.113.9"]),
        cond(ip, "IpAddress: 0.0.0.0/0 covers every IPv4 address", r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, true).ctx("aws:SourceIp", &["198.51.100.1"]),
        cond(ip, "IpAddress: key absent (VPC endpoint) → false", range, false),
        cond(ip, "NotIpAddress: address inside → false", not_range, false).ctx("aws:SourceIp", &["203.0.113.77"]),
        cond(ip, "NotIpAddress: address outside → true", not_range, true).ctx("aws:SourceIp", &["198.51.100.1"]),
        cond(OPS, "NotIpAddress: key absent → true (negated operator)", not_range, true),
        cond(arn, "ArnLike: wildcard in the resource part", r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}"#, true),
        cond(arn, "ArnEquals: exact ARN", r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}"#, true),
        cond(arn, "ArnEquals behaves like ArnLike (wildcards allowed)", r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:user/al?ce"}}"#, true),
        cond(arn, "Arn operators are case-sensitive", r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/Alice"}}"#, false),
        cond(arn, "ArnLike: a wildcard does not cross the colons between components", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}"#, false).ctx(src, &["arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"]),
        cond(arn, "the same value with StringLike does match", r#"{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}"#, true).ctx(src, &["arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"]),
        cond(arn, "aws:PrincipalArn of a role session is the role's ARN", r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/Reader"}}"#, true).who("role/Reader/s1"),
        cond(arn, "ArnNotEquals: other ARN → true", r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/bob"}}"#, true),
        cond(arn, "ArnNotLike: matching ARN → false", r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/*"}}"#, false),
        cond(OPS, "ArnNotLike: key absent → true (negated operator)", r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}"#, true),
        cond(arn, "ArnLike: a request value that is not an ARN does not match", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}"#, false).ctx(src, &["topic"]),
        cond(arn, "ArnLike: the resource part may contain colons", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:logs:*:*:log-group:app:*"}}"#, true).ctx(src, &["arn:aws:logs:us-east-1:111122223333:log-group:app:log-stream:x"]),
    ]
}

fn exists_null_sets() -> Vec<Case> {
    let ie = &format!("{OPS}#Conditions_IfExists");
    let null = &format!("{OPS}#Conditions_Null");
    let tags = "aws:TagKeys";
    vec![
        cond(ie, "...IfExists: key absent → true", r#"{"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#, true),
        cond(ie, "...IfExists: key present and matching", r#"{"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#, true).ctx("secretsmanager:ResourceTag/env", &["prod"]),
        cond(ie, "...IfExists: key present and not matching → false", r#"{"StringEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#, false).ctx("secretsmanager:ResourceTag/env", &["dev"]),
        cond(ie, "StringLikeIfExists: key absent → true", r#"{"StringLikeIfExists":{"secretsmanager:Name":["t1.*","t2.*"]}}"#, true),
        cond(ie, "NumericLessThanIfExists: key absent → true", r#"{"NumericLessThanIfExists":{"secretsmanager:RecoveryWindowInDays":"7"}}"#, true),
        cond(ie, "StringNotEqualsIfExists: key absent → true", r#"{"StringNotEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#, true),
        cond(ie, "StringNotEqualsIfExists: key present and equal → false", r#"{"StringNotEqualsIfExists":{"secretsmanager:ResourceTag/env":"prod"}}"#, false).ctx("secretsmanager:ResourceTag/env", &["prod"]),
        cond(ie, "IpAddressIfExists: key absent → true", r#"{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}"#, true),
        cond(ie, "ArnLikeIfExists: key absent → true", r#"{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}"#, true),
        cond(ie, "DateLessThanIfExists: key present and failing → false", r#"{"DateLessThanIfExists":{"aws:TokenIssueTime":"2020-01-01T00:00:00Z"}}"#, false).ctx("aws:TokenIssueTime", &["2025-01-01T00:00:00Z"]),
        cond(null, "Null true: key absent → true", r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, true),
        cond(null, "Null true: key present → false", r#"{"Null":{"aws:TokenIssueTime":"true"}}"#, false).ctx("aws:TokenIssueTime", &["2025-01-01T00:00:00Z"]),
        cond(null, "Null false: key present → true", r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, true).ctx("aws:TokenIssueTime", &["2025-01-01T00:00:00Z"]),
        cond(null, "Null false: key absent → false", r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, false),
        cond(null, "Null true: an empty multivalued key counts as absent", r#"{"Null":{"aws:TagKeys":"true"}}"#, true).ctx(tags, &[]),
        cond(null, "Null with a JSON boolean", r#"{"Null":{"aws:RequestTag/env":false}}"#, true).ctx("aws:RequestTag/env", &["prod"]),
        cond(SETS, "ForAllValues: every request value is in the policy set", r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}"#, true).ctx(tags, &["env", "team"]),
        cond(SETS, "ForAllValues: one request value outside the set → false", r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}"#, false).ctx(tags, &["env", "owner"]),
        cond(SETS, "ForAllValues: key absent → true", r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#, true),
        cond(SETS, "ForAllValues: empty set of request values → true", r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#, true).ctx(tags, &[]),
        cond(SETS, "ForAllValues with StringLike patterns", r#"{"ForAllValues:StringLike":{"aws:TagKeys":["app-*"]}}"#, true).ctx(tags, &["app-name", "app-tier"]),
        cond(SETS, "ForAllValues with StringEqualsIgnoreCase", r#"{"ForAllValues:StringEqualsIgnoreCase":{"aws:TagKeys":["ENV"]}}"#, true).ctx(tags, &["env", "Env"]),
        cond(SETS, "ForAnyValue: one request value in the set", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#, true).ctx(tags, &["owner", "env"]),
        cond(SETS, "ForAnyValue: no request value in the set → false", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#, false).ctx(tags, &["owner"]),
        cond(SETS, "ForAnyValue: key absent → false", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#, false),
        cond(SETS, "ForAnyValue: empty set of request values → false", r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#, false).ctx(tags, &[]),
        cond(SETS, "ForAnyValue on a single-valued key behaves like the plain operator", r#"{"ForAnyValue:StringEquals":{"aws:username":["alice","bob"]}}"#, true),
        cond(SETS, "ForAnyValue:StringNotEquals: some request value outside the set → true", r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#, true).ctx(tags, &["env", "owner"]),
        cond(SETS, "ForAnyValue:StringNotEquals: all request values in the set → false", r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}}"#, false).ctx(tags, &["env", "team"]),
        cond(SETS, "ForAnyValue:StringNotEquals: key absent → false", r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#, false),
        cond(SETS, "ForAllValues:StringNotEquals: no request value in the set → true", r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["env","team"]}}"#, true).ctx(tags, &["owner", "cost"]),
        cond(SETS, "ForAllValues:StringNotEquals: one request value in the set → false", r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["env","team"]}}"#, false).ctx(tags, &["owner", "env"]),
        cond(SETS, "ForAllValues:StringNotEquals: key absent → true", r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["env"]}}"#, true),
        cond(SETS, "ForAllValues:StringEqualsIfExists: key absent → true", r#"{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":["env"]}}"#, true),
        cond(SETS, "multivalued key without a set operator: any value may match (documented choice)", r#"{"StringEquals":{"aws:TagKeys":"env"}}"#, true).ctx(tags, &["owner", "env"]),
        cond(SETS, "multivalued key under a negated operator without a set operator: no value may match (documented choice)", r#"{"StringNotEquals":{"aws:TagKeys":"env"}}"#, false).ctx(tags, &["owner", "env"]),
    ]
}

fn variables() -> Vec<Case> {
    let v = &format!("{VARS}#policy-vars-conditionelement");
    let owner = r#"{"StringEquals":{"secretsmanager:ResourceTag/owner":"${aws:username}"}}"#;
    vec![
        cond(v, "${aws:username} substituted in StringEquals: own resource", owner, true).ctx("secretsmanager:ResourceTag/owner", &["alice"]),
        cond(v, "${aws:username} substituted in StringEquals: someone else's", owner, false).ctx("secretsmanager:ResourceTag/owner", &["bob"]),
        cond(v, "${aws:username} in a StringLike pattern", r#"{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}"#, true).ctx("s3:prefix", &["home/alice/notes"]),
        cond(v, "${aws:username} in a StringLike pattern: other user's prefix", r#"{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}"#, false).ctx("s3:prefix", &["home/bob/notes"]),
        cond(v, "${aws:PrincipalTag/...} compared with a resource tag (ABAC)", r#"{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#, true).tag("team", "red").ctx("secretsmanager:ResourceTag/team", &["red"]),
        cond(v, "ABAC with a mismatched tag", r#"{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#, false).tag("team", "red").ctx("secretsmanager:ResourceTag/team", &["blue"]),
        cond(VARS, "a variable that cannot be resolved invalidates the condition", r#"{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#, false).ctx("secretsmanager:ResourceTag/team", &[""]),
        cond(VARS, "an unresolved variable invalidates a negated condition too", r#"{"StringNotEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team}"}}"#, false).ctx("secretsmanager:ResourceTag/team", &["blue"]),
        cond(&format!("{VARS}#policy-vars-default-values"), "a default value stands in for a missing key", r#"{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team, 'none'}"}}"#, true).ctx("secretsmanager:ResourceTag/team", &["none"]),
        cond(&format!("{VARS}#policy-vars-default-values"), "the default is not used when the key is present", r#"{"StringEquals":{"secretsmanager:ResourceTag/team":"${aws:PrincipalTag/team, 'none'}"}}"#, false).tag("team", "red").ctx("secretsmanager:ResourceTag/team", &["none"]),
        cond(&format!("{VARS}#policy-vars-specialchars"), "${*} is a literal asterisk in StringLike", r#"{"StringLike":{"secretsmanager:Name":"a${*}"}}"#, true).ctx("secretsmanager:Name", &["a*"]),
        cond(&format!("{VARS}#policy-vars-specialchars"), "${*} is not a wildcard", r#"{"StringLike":{"secretsmanager:Name":"a${*}"}}"#, false).ctx("secretsmanager:Name", &["ab"]),
        cond(&format!("{VARS}#policy-vars-specialchars"), "${?} is a literal question mark", r#"{"StringLike":{"secretsmanager:Name":"why${?}"}}"#, false).ctx("secretsmanager:Name", &["whyX"]),
        cond(&format!("{VARS}#policy-vars-specialchars"), "${$} is a literal dollar sign", r#"{"StringEquals":{"secretsmanager:Name":"${$}{x}"}}"#, true).ctx("secretsmanager:Name", &["${x}"]),
        cond(VARS, "variable names are case-insensitive", r#"{"StringEquals":{"secretsmanager:ResourceTag/owner":"${AWS:UserName}"}}"#, true).ctx("secretsmanager:ResourceTag/owner", &["alice"]),
        cond(VARS, "a substituted value is literal: its `*` is not a wildcard", r#"{"StringLike":{"secretsmanager:Name":"${aws:PrincipalTag/prefix}x"}}"#, false).tag("prefix", "*").ctx("secretsmanager:Name", &["abcx"]),
        cond(&format!("{VARS}#policy-vars-conditionelement"), "variables in ArnLike values", r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:${aws:username}-*"}}"#, true).ctx("aws:SourceArn", &["arn:aws:sns:us-east-1:111122223333:alice-topic"]),
        cond_2008(VARS, "Version 2008-10-17: ${...} is literal text", r#"{"StringEquals":{"secretsmanager:Name":"${aws:username}"}}"#, true).ctx("secretsmanager:Name", &["${aws:username}"]),
        cond_2008(VARS, "Version 2008-10-17: no substitution", r#"{"StringEquals":{"secretsmanager:Name":"${aws:username}"}}"#, false).ctx("secretsmanager:Name", &["alice"]),
        cond(VARS, "aws:userid as a variable for the root user is the account id", r#"{"StringEquals":{"secretsmanager:ResourceTag/owner":"${aws:userid}"}}"#, true).who("root").ctx("secretsmanager:ResourceTag/owner", &[A]),
    ]
}

#[test]
fn condition_table() {
    let cases: Vec<Case> = [
        strings(),
        numbers_dates_bools(),
        ips_arns(),
        exists_null_sets(),
        variables(),
    ]
    .concat();
    assert!(cases.len() >= 150, "{} condition rows", cases.len());
    run_table("conditions", &cases);
}
