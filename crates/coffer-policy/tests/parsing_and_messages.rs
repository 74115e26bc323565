//! Malformed documents (a table of documents IAM refuses, each citing its rule), the details a
//! decision carries, and AWS's AccessDenied wording.
#![allow(clippy::unwrap_used)]

mod common;
use coffer_policy::{
    Decision, ParseError, Policy, PolicySet, PolicyType, Principal, Request, Verdict,
    access_denied_message, check, evaluate, evaluate_with,
};
use common::*;

/// `(rule, condition block)`: IAM refuses each ("Invalid Condition type", unreadable values).
/// Choice: a policy coffer cannot evaluate exactly is refused when it is parsed (and `check`
/// reports the same problem), rather than evaluated with the bad part as "no match", which
/// would silently turn a broken `Deny` into no deny at all.
const BAD_CONDITIONS: &[(&str, &str)] = &[
    (
        "condition_operators: an unknown operator",
        r#"{"StringEqualz":{"aws:username":"a"}}"#,
    ),
    (
        "condition_operators: operator names are case-sensitive (documented choice)",
        r#"{"stringequals":{"aws:username":"a"}}"#,
    ),
    (
        "condition_operators#Conditions_IfExists: Null takes no IfExists",
        r#"{"NullIfExists":{"aws:username":"true"}}"#,
    ),
    (
        "condition_operators#Conditions_IfExists: IfExists is a suffix, not a prefix",
        r#"{"IfExistsStringEquals":{"aws:username":"a"}}"#,
    ),
    (
        "condition_operators: an unknown set qualifier",
        r#"{"ForSomeValues:StringEquals":{"aws:TagKeys":"a"}}"#,
    ),
    (
        "condition_operators#Conditions_Numeric: a number that is not a number",
        r#"{"NumericLessThan":{"k":"ten"}}"#,
    ),
    (
        "condition_operators#Conditions_Numeric: no variables in numeric operators",
        r#"{"NumericLessThan":{"k":"${aws:username}"}}"#,
    ),
    (
        "condition_operators#Conditions_Date: a date that is not ISO 8601 or epoch",
        r#"{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}"#,
    ),
    (
        "condition_operators#Conditions_Date: wildcards are not permitted in dates",
        r#"{"DateLessThan":{"aws:CurrentTime":"2020-*"}}"#,
    ),
    (
        "condition_operators#Conditions_IPAddress: an address that is not an address",
        r#"{"IpAddress":{"aws:SourceIp":"300.1.1.1"}}"#,
    ),
    (
        "condition_operators#Conditions_IPAddress: a prefix too long",
        r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/40"}}"#,
    ),
    (
        "condition_operators#Conditions_BinaryEquals: a value that is not base64",
        r#"{"BinaryEquals":{"k":"not base64!"}}"#,
    ),
    (
        "condition_operators#Conditions_Null: Null takes true or false",
        r#"{"Null":{"aws:username":"maybe"}}"#,
    ),
    (
        "reference_policies_elements_condition: values are strings, numbers or booleans",
        r#"{"StringEquals":{"aws:username":null}}"#,
    ),
    (
        "reference_policies_elements_condition: a key maps to values, not an object",
        r#"{"StringEquals":{"aws:username":{"a":"b"}}}"#,
    ),
];

/// `(rule, document)`: grammar problems.
const BAD_DOCUMENTS: &[(&str, &str)] = &[
    (
        "grammar: Effect is Allow or Deny",
        r#"{"Statement":{"Effect":"Permit","Action":"*","Resource":"*"}}"#,
    ),
    (
        "grammar: a statement needs Action or NotAction",
        r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
    ),
    (
        "grammar: Resource and NotResource are exclusive",
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#,
    ),
    (
        "grammar: an action is service:action",
        r#"{"Statement":{"Effect":"Allow","Action":"GetSecretValue","Resource":"*"}}"#,
    ),
    (
        "grammar: Version is 2012-10-17 or 2008-10-17",
        r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    ),
    (
        "grammar: a Statement is required",
        r#"{"Version":"2012-10-17"}"#,
    ),
    (
        "grammar: unknown statement elements are refused",
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"*"}}"#,
    ),
    (
        "grammar: Principal is * or an object",
        r#"{"Statement":{"Effect":"Allow","Principal":"alice","Action":"*"}}"#,
    ),
];

#[test]
fn malformed_documents_are_refused() {
    let mut failures = Vec::new();
    for (rule, block) in BAD_CONDITIONS {
        let text = doc(&[&format!(
            r#"{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{block}}}"#
        )]);
        if !matches!(Policy::parse(&text), Err(ParseError::Invalid(_))) {
            failures.push(format!("{rule}: parsed"));
        }
        if check(&text).unwrap().is_empty() {
            failures.push(format!("{rule}: check found nothing"));
        }
    }
    for (rule, text) in BAD_DOCUMENTS {
        if !matches!(Policy::parse(text), Err(ParseError::Invalid(_))) {
            failures.push(format!("{rule}: parsed"));
        }
    }
    assert!(matches!(
        Policy::parse("not json"),
        Err(ParseError::Json(_))
    ));
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn good_documents_parse_and_check_agrees() {
    let texts = [
        allow("*", "*"),
        doc(&[r#"{"Sid":"A","Effect":"Allow","Action":["s3:Get*"],"Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*"]},"DateLessThan":{"aws:CurrentTime":1700000000}}}"#]),
        r#"{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::x"}}"#.to_owned(),
    ];
    for t in &texts {
        assert_eq!(check(t).unwrap(), vec![], "{t}");
        Policy::parse(t).unwrap();
    }
    let p: Policy = texts[1].parse().unwrap();
    assert_eq!(p.statement_count(), 1);
    assert_eq!(p.sids().collect::<Vec<_>>(), vec![Some("A")]);
}

fn user() -> Principal {
    Principal::user("arn:aws:iam::111122223333:user/alice").unwrap()
}

#[test]
fn decisions_name_the_deciding_statement() {
    let id = Policy::parse(&doc(&[
        r#"{"Sid":"ReadAll","Effect":"Allow","Action":"*","Resource":"*"}"#,
        r#"{"Sid":"NoDelete","Effect":"Deny","Action":"secretsmanager:DeleteSecret","Resource":"*"}"#,
    ]))
    .unwrap()
    .named("arn:aws:iam::111122223333:policy/team");
    let req = Request::new(user(), "secretsmanager:DeleteSecret", SECRET);
    let d = evaluate(&req, &[&id], None, A);
    let s = d.statement().unwrap();
    assert_eq!(
        (s.policy_type, s.statement_index, s.sid.as_deref()),
        (PolicyType::Identity, 1, Some("NoDelete"))
    );
    assert_eq!(
        s.policy_name.as_deref(),
        Some("arn:aws:iam::111122223333:policy/team")
    );

    let req = Request::new(user(), "secretsmanager:GetSecretValue", SECRET);
    let d = evaluate(&req, &[&id], None, A);
    assert_eq!(d.statement().unwrap().sid.as_deref(), Some("ReadAll"));

    let res = Policy::parse(&doc(&[r#"{"Sid":"Share","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"*","Resource":"*"}"#])).unwrap();
    let bob = Principal::user("arn:aws:iam::444455556666:user/bob").unwrap();
    let bob_id = Policy::parse(&allow("*", "*")).unwrap();
    let d = evaluate(
        &Request::new(bob, "secretsmanager:GetSecretValue", SECRET),
        &[&bob_id],
        Some(&res),
        A,
    );
    let s = d.statement().unwrap();
    assert_eq!(
        (s.policy_type, s.sid.as_deref()),
        (PolicyType::Resource, Some("Share"))
    );

    let root = evaluate(
        &Request::new(Principal::root(A), "kms:Decrypt", "*"),
        &[],
        None,
        A,
    );
    assert_eq!(root, Decision::Allow { statement: None });
}

/// The wording of `troubleshoot_access-denied.html`, one variant per policy type.
#[test]
fn access_denied_messages() {
    let head = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";
    let req = Request::new(user(), "secretsmanager:GetSecretValue", SECRET);
    let msg = |d: &Decision| d.denial_message(&req).unwrap();

    let d = evaluate(&req, &[], None, A);
    assert_eq!(
        msg(&d),
        format!(
            "{head} because no identity-based policy allows the secretsmanager:GetSecretValue action"
        )
    );

    let deny = Policy::parse(&deny("*", "*")).unwrap();
    assert_eq!(
        msg(&evaluate(&req, &[&deny], None, A)),
        format!("{head} with an explicit deny in an identity-based policy")
    );
    let named = deny.clone().named("arn:aws:iam::111122223333:policy/guard");
    assert_eq!(
        msg(&evaluate(&req, &[&named], None, A)),
        format!(
            "{head} with an explicit deny in an identity-based policy: arn:aws:iam::111122223333:policy/guard"
        )
    );

    let everything = Policy::parse(&allow("*", "*")).unwrap();
    let refuse_all = Policy::parse(&refuse(r#""*""#, "*")).unwrap();
    assert_eq!(
        msg(&evaluate(&req, &[&everything], Some(&refuse_all), A)),
        format!("{head} with an explicit deny in a resource-based policy")
    );

    let ssm = Policy::parse(&allow("ssm:*", "*")).unwrap();
    let with = |boundary: Option<&Policy>, session: Option<&[&Policy]>| {
        evaluate_with(
            &req,
            &PolicySet {
                identity: &[&everything],
                boundary,
                session,
                ..PolicySet::default()
            },
            A,
        )
    };
    assert_eq!(
        msg(&with(Some(&ssm), None)),
        format!(
            "{head} because no permissions boundary allows the secretsmanager:GetSecretValue action"
        )
    );
    assert_eq!(
        msg(&with(None, Some(&[&ssm]))),
        format!("{head} because no session policy allows the secretsmanager:GetSecretValue action")
    );
    assert_eq!(
        msg(&with(Some(&deny), None)),
        format!("{head} with an explicit deny in a permissions boundary")
    );
    assert_eq!(
        msg(&with(None, Some(&[&deny]))),
        format!("{head} with an explicit deny in a session policy")
    );

    let bob = Principal::user("arn:aws:iam::444455556666:user/bob").unwrap();
    let cross = Request::new(bob, "secretsmanager:GetSecretValue", SECRET);
    let d = evaluate(&cross, &[&everything], None, A);
    assert_eq!(d.verdict(), Verdict::ImplicitDeny);
    assert!(d.denial_message(&cross).unwrap().ends_with(
        "because no resource-based policy allows the secretsmanager:GetSecretValue action"
    ));

    let list = access_denied_message(
        "arn:aws:iam::111122223333:user/alice",
        "secretsmanager:ListSecrets",
        Some("*"),
        &d,
    )
    .unwrap();
    assert_eq!(
        list,
        "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: secretsmanager:ListSecrets because no resource-based policy allows the secretsmanager:ListSecrets action"
    );
    assert_eq!(
        access_denied_message("x", "y", None, &Decision::Allow { statement: None }),
        None
    );
}

/// The request's derived keys: a role session's tags, time and address reach the policies.
#[test]
fn typed_request_fields_feed_global_keys() {
    let session = Principal::assumed_role("arn:aws:iam::111122223333:role/app/Api", "pod-7")
        .unwrap()
        .with_user_id("AROAEXAMPLE:pod-7")
        .with_tags([("Team", "payments")]);
    let p = Policy::parse(&doc(&[r#"{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
        "StringEquals":{"aws:PrincipalTag/team":"payments","aws:userid":"AROAEXAMPLE:pod-7","aws:PrincipalType":"AssumedRole"},
        "ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app/Api"},
        "IpAddress":{"aws:SourceIp":"10.1.0.0/16"},
        "Bool":{"aws:SecureTransport":"true"},
        "DateGreaterThan":{"aws:EpochTime":"2025-01-01T00:00:00Z"}}}"#]))
    .unwrap();
    let now = time::macros::datetime!(2025-06-01 12:00 UTC);
    let req = Request::new(session.clone(), "ssm:GetParameter", "*")
        .at(now)
        .from_ip("10.1.2.3".parse().unwrap())
        .secure_transport(true);
    assert!(evaluate(&req, &[&p], None, A).is_allowed());
    let plain = Request::new(session, "ssm:GetParameter", "*")
        .at(now)
        .from_ip("10.2.0.1".parse().unwrap())
        .secure_transport(true);
    assert!(!evaluate(&plain, &[&p], None, A).is_allowed());
    assert_eq!(
        req.principal().arn(),
        "arn:aws:sts::111122223333:assumed-role/Api/pod-7"
    );
}
