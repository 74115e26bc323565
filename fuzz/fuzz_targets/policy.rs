//! IAM policy documents: `coffer_policy::check`, `is_public`, `Policy::parse`, and evaluation.
//!
//! Input: a policy document, optionally followed by a line `#request` and lines describing the
//! request: `action A`, `resource R`, `principal ARN`, `account ID` (the resource's), `ip IP`,
//! `time UNIX`, `tls 0|1`, or `key=v1,v2` (a condition key). Properties: nothing panics; `parse`
//! accepts exactly the documents `check` finds no problem in; evaluation is deterministic, a
//! policy listed twice decides as once, and an allow-everything identity policy added next to it
//! turns anything but an explicit deny into an allow (same account).
#![no_main]

use coffer_policy::{
    Policy, PolicySet, Principal, Request, ResourceMode, Verdict, access_denied_message, check,
    evaluate, evaluate_with, is_public,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const ACCOUNT: &str = "111122223333";

fn allow_all() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| {
        Policy::parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
            .expect("allow-all parses")
    })
}

fn request(spec: &str) -> (Request, String) {
    let mut action = "secretsmanager:GetSecretValue".to_owned();
    let mut resource = format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf");
    let mut principal = Principal::user(&format!("arn:aws:iam::{ACCOUNT}:user/alice"))
        .expect("user ARN")
        .with_user_id("AIDAEXAMPLE")
        .with_tags([("team", "blue")]);
    let mut account = ACCOUNT.to_owned();
    let mut extra = Vec::new();
    for line in spec.lines() {
        if let Some(v) = line.strip_prefix("action ") {
            action = v.to_owned();
        } else if let Some(v) = line.strip_prefix("resource ") {
            resource = v.to_owned();
        } else if let Some(v) = line.strip_prefix("principal ") {
            if let Some(p) = Principal::from_arn(v) {
                principal = p;
            }
        } else if let Some(v) = line.strip_prefix("account ") {
            account = v.to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            extra.push((
                k.to_owned(),
                v.split(',').map(str::to_owned).collect::<Vec<_>>(),
            ));
        } else {
            extra.push((line.to_owned(), Vec::new()));
        }
    }
    let mut req = Request::new(principal, action, resource);
    for line in spec.lines() {
        if let Some(v) = line.strip_prefix("ip ") {
            if let Ok(ip) = v.parse() {
                req = req.from_ip(ip);
            }
        } else if let Some(v) = line.strip_prefix("time ") {
            if let Some(t) = v
                .parse::<i64>()
                .ok()
                .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            {
                req = req.at(t);
            }
        } else if let Some(v) = line.strip_prefix("tls ") {
            req = req.secure_transport(v == "1");
        }
    }
    for (k, v) in extra {
        req.insert(&k, v);
    }
    (req, account)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (doc, spec) = text.split_once("\n#request\n").unwrap_or((text, ""));

    let problems = check(doc);
    let _ = is_public(doc);
    let parsed = Policy::parse(doc);
    match (&problems, &parsed) {
        (Ok(p), Ok(_)) => assert!(p.is_empty(), "parsed despite {p:?}"),
        (Err(_), Ok(_)) => panic!("parsed what check could not read"),
        _ => {}
    }
    let Ok(policy) = parsed else {
        return;
    };
    let _ = (policy.id(), policy.statement_count(), policy.sids().count());

    let (req, account) = request(spec);
    let principal_account = req.principal().account().to_owned();
    let p = &policy;

    let once = evaluate(&req, &[p], None, &account);
    assert_eq!(
        once,
        evaluate(&req, &[p], None, &account),
        "not deterministic"
    );
    assert_eq!(
        evaluate(&req, &[p, p], None, &account).verdict(),
        once.verdict(),
        "listed twice"
    );
    let _ = access_denied_message(
        req.principal().arn(),
        req.action(),
        Some(req.resource()),
        &once,
    );

    if account == principal_account {
        let widened = evaluate(&req, &[p, allow_all()], None, &account).verdict();
        match once.verdict() {
            Verdict::ExplicitDeny => assert_eq!(widened, Verdict::ExplicitDeny),
            _ => assert_eq!(widened, Verdict::Allow, "allow-all did not allow"),
        }
    }

    // As a resource policy, a key policy, a boundary and a session policy.
    for mode in [ResourceMode::Additive, ResourceMode::Required] {
        let d = evaluate_with(
            &req,
            &PolicySet {
                identity: &[allow_all()],
                resource: Some(p),
                resource_mode: mode,
                ..PolicySet::default()
            },
            &account,
        );
        let _ = access_denied_message(req.principal().arn(), req.action(), None, &d);
    }
    let session = [p];
    let _ = evaluate_with(
        &req,
        &PolicySet {
            identity: &[allow_all()],
            resource: None,
            resource_mode: ResourceMode::Additive,
            boundary: Some(p),
            session: Some(&session),
        },
        &account,
    );
});
