//! Properties of the evaluation logic over randomly assembled policies and requests.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>
#![allow(clippy::unwrap_used)]

use coffer_policy::{
    Policy, PolicySet, Principal, Request, Verdict, evaluate_with, wildcard_match,
};
use proptest::prelude::*;
use proptest::sample::select;

const A: &str = "111122223333";

const ACTIONS: &[&str] = &[
    "*",
    "secretsmanager:*",
    "secretsmanager:Get*",
    "secretsmanager:GetSecretValue",
    "SecretsManager:DescribeSecret",
    "ssm:GetParameter*",
    "kms:Decrypt",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf",
    "arn:aws:secretsmanager:*:*:secret:prod/*",
    "arn:aws:secretsmanager:*:*:secret:dev/*",
    "arn:aws:ssm:*:*:parameter/prod/*",
    "arn:aws:secretsmanager:*:*:secret:${aws:username}/*",
];
const CONDITIONS: &[&str] = &[
    r#"{"StringEquals":{"aws:username":"alice"}}"#,
    r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
    r#"{"StringNotEquals":{"aws:PrincipalTag/team":"red"}}"#,
    r#"{"ForAnyValue:StringLike":{"aws:TagKeys":["env*"]}}"#,
    r#"{"NumericLessThanIfExists":{"secretsmanager:RecoveryWindowInDays":"7"}}"#,
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/Reader"}"#,
    r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}"#,
];
const REQUEST_ACTIONS: &[&str] = &[
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:PutSecretValue",
    "ssm:GetParameter",
    "kms:Decrypt",
];
const REQUEST_RESOURCES: &[&str] = &[
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/db-AbCdEf",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:alice/token-AbCdEf",
    "arn:aws:ssm:us-east-1:111122223333:parameter/prod/x",
];

/// One statement; `principal` only for resource-based policies.
fn statement(effect: Option<&'static str>, principal: bool) -> impl Strategy<Value = String> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => select(&["Allow", "Deny"][..]).boxed(),
    };
    (
        effect,
        any::<bool>(),
        select(ACTIONS),
        any::<bool>(),
        select(RESOURCES),
        proptest::option::of(select(CONDITIONS)),
        select(PRINCIPALS),
    )
        .prop_map(
            move |(effect, not_action, action, not_resource, resource, condition, who)| {
                let a = if not_action { "NotAction" } else { "Action" };
                let r = if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                };
                let p = if principal {
                    format!(r#","Principal":{who}"#)
                } else {
                    String::new()
                };
                let c = condition
                    .map(|c| format!(r#","Condition":{c}"#))
                    .unwrap_or_default();
                format!(r#"{{"Effect":"{effect}"{p},"{a}":"{action}","{r}":"{resource}"{c}}}"#)
            },
        )
}

fn policy(statements: &[String]) -> Policy {
    Policy::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    ))
    .unwrap()
}

fn request() -> impl Strategy<Value = Request> {
    (
        select(
            &[
                "user/alice",
                "user/bob",
                "role/Reader/s1",
                "root",
                "other/user/carol",
            ][..],
        ),
        select(REQUEST_ACTIONS),
        select(REQUEST_RESOURCES),
        any::<bool>(),
        select(&["10.1.2.3", "192.0.2.1"][..]),
        proptest::option::of(select(&["red", "blue"][..])),
        proptest::collection::vec(select(&["env", "team"][..]), 0..3),
    )
        .prop_map(|(who, action, resource, secure, ip, team, tag_keys)| {
            let p = match who {
                "root" => Principal::root(A),
                "role/Reader/s1" => {
                    Principal::assumed_role("arn:aws:iam::111122223333:role/Reader", "s1").unwrap()
                }
                "other/user/carol" => {
                    Principal::user("arn:aws:iam::444455556666:user/carol").unwrap()
                }
                u => Principal::user(&format!("arn:aws:iam::111122223333:{u}")).unwrap(),
            };
            let p = p.with_tags(team.map(|t| ("team", t)));
            Request::new(p, action, resource)
                .secure_transport(secure)
                .from_ip(ip.parse().unwrap())
                .with_values("aws:TagKeys", tag_keys)
        })
}

/// Identity statements (in up to three policies), resource statements, a request.
fn scenario() -> impl Strategy<Value = (Vec<Vec<String>>, Vec<String>, Request)> {
    (
        proptest::collection::vec(
            proptest::collection::vec(statement(None, false), 1..4),
            0..3,
        ),
        proptest::collection::vec(statement(None, true), 0..4),
        request(),
    )
}

fn verdict(
    identity: &[Vec<String>],
    resource: &[String],
    boundary: Option<&[String]>,
    req: &Request,
) -> Verdict {
    let ids: Vec<Policy> = identity.iter().map(|s| policy(s)).collect();
    let id_refs: Vec<&Policy> = ids.iter().collect();
    let res = (!resource.is_empty()).then(|| policy(resource));
    let bound = boundary.map(policy);
    let set = PolicySet {
        identity: &id_refs,
        resource: res.as_ref(),
        boundary: bound.as_ref(),
        ..PolicySet::default()
    };
    evaluate_with(req, &set, A).verdict()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An explicit deny overrides any allow: adding a Deny never turns a refusal into Allow.
    #[test]
    fn adding_a_deny_never_allows((identity, resource, req) in scenario(), extra in statement(Some("Deny"), false), extra_res in statement(Some("Deny"), true)) {
        let before = verdict(&identity, &resource, None, &req);
        let mut more = identity.clone();
        more.push(vec![extra]);
        let after_identity = verdict(&more, &resource, None, &req);
        let mut res_more = resource.clone();
        res_more.push(extra_res);
        let after_resource = verdict(&identity, &res_more, None, &req);
        if before != Verdict::Allow {
            prop_assert_ne!(after_identity, Verdict::Allow);
            prop_assert_ne!(after_resource, Verdict::Allow);
        }
        if before == Verdict::ExplicitDeny {
            prop_assert_eq!(after_identity, Verdict::ExplicitDeny);
            prop_assert_eq!(after_resource, Verdict::ExplicitDeny);
        }
    }

    /// Allows accumulate: adding an Allow never turns Allow into a refusal.
    #[test]
    fn adding_an_allow_never_denies((identity, resource, req) in scenario(), extra in statement(Some("Allow"), false), extra_res in statement(Some("Allow"), true)) {
        let before = verdict(&identity, &resource, None, &req);
        let mut more = identity.clone();
        more.push(vec![extra]);
        let mut res_more = resource.clone();
        res_more.push(extra_res);
        if before == Verdict::Allow {
            prop_assert_eq!(verdict(&more, &resource, None, &req), Verdict::Allow);
            prop_assert_eq!(verdict(&identity, &res_more, None, &req), Verdict::Allow);
        }
    }

    /// A permissions boundary only narrows.
    #[test]
    fn a_boundary_never_widens((identity, resource, req) in scenario(), boundary in proptest::collection::vec(statement(None, false), 1..3)) {
        if verdict(&identity, &resource, Some(&boundary), &req) == Verdict::Allow {
            prop_assert_eq!(verdict(&identity, &resource, None, &req), Verdict::Allow);
        }
    }

    /// Evaluation does not depend on the order of statements or of policies.
    #[test]
    fn order_does_not_matter((identity, resource, req) in scenario()) {
        let before = verdict(&identity, &resource, None, &req);
        let mut rev: Vec<Vec<String>> = identity.iter().rev().map(|p| p.iter().rev().cloned().collect()).collect();
        let shift = usize::from(!rev.is_empty());
        rev.rotate_left(shift);
        let res_rev: Vec<String> = resource.iter().rev().cloned().collect();
        prop_assert_eq!(verdict(&rev, &res_rev, None, &req), before);
    }

    /// `"Action": "*"` covers every action; `service:*` every action of that service, in any case.
    #[test]
    fn star_actions_match_every_action(service in "[a-z][a-z0-9-]{0,10}", name in "[A-Za-z][A-Za-z0-9]{0,20}", upper in any::<bool>()) {
        let action = format!("{service}:{name}");
        let action = if upper { action.to_uppercase() } else { action };
        let req = Request::new(Principal::user("arn:aws:iam::111122223333:user/alice").unwrap(), action, "*");
        for pattern in ["*".to_owned(), format!("{service}:*"), format!("{service}:{}*", &name[..1])] {
            let p = policy(&[format!(r#"{{"Effect":"Allow","Action":"{pattern}","Resource":"*"}}"#)]);
            prop_assert_eq!(evaluate_with(&req, &PolicySet { identity: &[&p], ..PolicySet::default() }, A).verdict(), Verdict::Allow);
        }
    }

    /// A `Deny` of everything decides every request, whatever else applies.
    #[test]
    fn deny_everything_always_wins((identity, resource, req) in scenario()) {
        let mut more = identity.clone();
        more.push(vec![r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#.to_owned()]);
        prop_assert_eq!(verdict(&more, &resource, None, &req), Verdict::ExplicitDeny);
    }

    /// A pattern made from a value by turning characters into `?` and runs into `*` matches it.
    #[test]
    fn wildcards_generalise_their_value(value in "[a-z0-9/:._-]{0,30}", marks in proptest::collection::vec(0u8..4, 30)) {
        let mut pattern = String::new();
        for (c, m) in value.chars().zip(marks.iter().chain(std::iter::repeat(&0))) {
            match m {
                1 => pattern.push('?'),
                2 => pattern.push('*'),
                3 => { pattern.push('*'); pattern.push(c); }
                _ => pattern.push(c),
            }
        }
        prop_assert!(wildcard_match(&pattern, &value), "{} !~ {}", pattern, value);
        let (longer, tail) = (format!("{pattern}*"), format!("{value}tail"));
        prop_assert!(wildcard_match(&longer, &tail));
    }
}
